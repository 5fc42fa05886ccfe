// `wharf fsck`: checks that the metadata store and the storage agree, read-only.
//   - every blob row has bytes of the recorded size (error: row without bytes, size drift);
//   - the bytes hash to their address (all blobs, or a random sample; error: digest drift);
//   - every manifest's bytes hash to its digest, and the blobs it needs have rows and bytes (error);
//   - an index's child manifests are in the repository (warning: Distribution lets a client delete them);
//   - bytes without a row are orphans (info: normal until garbage collection reclaims them).
// Works while the registry runs: what looks missing is checked again before it is reported, so a push or a
// collection happening during the check does not produce a false alarm.
import type { DigestAlgorithm } from '../oci/digest.js';
import { createDigester, digestOf, parseDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { manifestTypes } from '../oci/media-types.js';
import type { BlobRecord, MetadataStore } from '../metadata/store.js';
import type { Registry } from '../registry/index.js';
import { blobPath } from '../registry/paths.js';
import { isNotFound, type FileInfo, type StorageDriver } from '../storage/index.js';

export type Severity = 'error' | 'warning' | 'info';

export type FindingKind =
  | 'blob-missing'
  | 'blob-size-drift'
  | 'blob-digest-drift'
  | 'blob-orphan'
  | 'manifest-digest-drift'
  | 'manifest-invalid'
  | 'manifest-blob-missing'
  | 'manifest-child-missing';

export interface Finding {
  severity: Severity;
  kind: FindingKind;
  digest: string;
  repository?: string;
  message: string;
}

export interface FsckOptions {
  registry: Registry;
  /** Fraction of the stored blobs to re-hash, 0 (none) to 1 (all, the default). */
  sample?: number;
  /** Random source for sampling, [0, 1) (tests make it deterministic). */
  random?: () => number;
  onProgress?: (p: { phase: 'storage' | 'blobs' | 'manifests'; done: number; bytes: number }) => void;
}

export interface FsckReport {
  ok: boolean;
  sample: number;
  blobs: { rows: number; stored: number; rehashed: number; bytesRehashed: number };
  manifests: { repositories: number; checked: number };
  counts: Record<Severity, number>;
  findings: Finding[];
}

export class FsckError extends Error {
  override name = 'FsckError';
}

const pageSize = 500;

/** Errors first, then warnings, then information. */
const severityOrder: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** The top-level prefixes blobs live under (registry/paths.ts); upload sessions live elsewhere. */
const blobAlgorithms: readonly DigestAlgorithm[] = ['sha256', 'sha512'];

/** `sha256/ab/abcdef…` → `sha256:abcdef…`; undefined for anything that is not a blob's content address. */
function digestOfPath(path: string): string | undefined {
  const m = /^(sha256|sha512)\/([0-9a-f]{2})\/([0-9a-f]+)$/.exec(path);
  if (!m || !m[3]!.startsWith(m[2]!)) return undefined;
  const digest = `${m[1]}:${m[3]}`;
  try {
    parseDigest(digest);
    return digest;
  } catch {
    return undefined;
  }
}

async function storedSize(storage: StorageDriver, digest: string): Promise<number | undefined> {
  try {
    return (await storage.stat(blobPath(parseDigest(digest)))).size;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function listOrNothing(storage: StorageDriver, prefix: string): Promise<string[]> {
  try {
    return await storage.list(prefix);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

/** How often one directory is walked before giving up: a file deleted while it is listed fails the walk. */
const walkAttempts = 3;

/** The files under one `<alg>/<2 hex>` directory; walked again if a file vanished during the walk. */
async function walkDirectory(storage: StorageDriver, dir: string): Promise<FileInfo[]> {
  for (let attempt = 1; ; attempt += 1) {
    const files: FileInfo[] = [];
    try {
      for await (const f of storage.walk(dir)) files.push(f);
      return files;
    } catch (e) {
      if (!isNotFound(e) || attempt >= walkAttempts) throw e;
    }
  }
}

async function hashStored(storage: StorageDriver, digest: string, size: number): Promise<string> {
  const d = parseDigest(digest);
  const hash = createDigester(d.algorithm as DigestAlgorithm);
  for await (const chunk of await storage.reader(blobPath(d), { offset: 0, length: size })) hash.update(chunk as Buffer);
  return `${d.algorithm}:${hash.digest('hex')}`;
}

/** Re-checks made of a suspect, and the pause before each: a collector's sweep takes milliseconds. */
const recheckPausesMs = [0, 250, 1000];

async function stillSoAfterPauses(stillSo: () => Promise<boolean>): Promise<boolean> {
  for (const pause of recheckPausesMs) {
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    if (!(await stillSo())) return false;
  }
  return true;
}

async function* pages<T extends { digest: string }>(fetch: (last: string | undefined) => Promise<T[]>): AsyncGenerator<T> {
  let last: string | undefined;
  for (;;) {
    const page = await fetch(last);
    yield* page;
    if (page.length < pageSize) return;
    last = page[page.length - 1]!.digest;
  }
}

export async function fsck(options: FsckOptions): Promise<FsckReport> {
  const { storage, metadata } = options.registry;
  const listBlobs = metadata.listBlobs?.bind(metadata);
  const listManifests = metadata.listManifests?.bind(metadata);
  if (!listBlobs || !listManifests) {
    throw new FsckError('this metadata store cannot list its blobs and manifests yet (listBlobs/listManifests), so fsck cannot check it');
  }
  const sample = options.sample ?? 1;
  if (!(sample >= 0 && sample <= 1)) throw new FsckError(`sample must be a fraction between 0 and 1, not ${sample}`);
  const random = options.random ?? Math.random;
  const findings: Finding[] = [];
  const report: FsckReport = {
    ok: true,
    sample,
    blobs: { rows: 0, stored: 0, rehashed: 0, bytesRehashed: 0 },
    manifests: { repositories: 0, checked: 0 },
    counts: { error: 0, warning: 0, info: 0 },
    findings,
  };
  const add = (f: Finding) => {
    findings.push(f);
    report.counts[f.severity] += 1;
  };
  // Something missing may be a change in flight (a collector between deleting a blob's bytes and its row, a
  // manifest deleted after its page was read): checked again at the end, and again after short pauses, and
  // reported only if still so.
  const suspects: { finding: Finding; stillSo: () => Promise<boolean> }[] = [];
  const suspect = (finding: Finding, stillSo: () => Promise<boolean>) => suspects.push({ finding, stillSo });

  // 1. What the storage holds at content addresses (temporary files beside them are not blobs).
  const stored = new Map<string, number>();
  for (const algorithm of blobAlgorithms) {
    for (const dir of await listOrNothing(storage, algorithm)) {
      for (const file of await walkDirectory(storage, dir)) {
        const digest = file.isDir ? undefined : digestOfPath(file.path);
        if (!digest) continue;
        stored.set(digest, file.size);
        if (stored.size % 1000 === 0) options.onProgress?.({ phase: 'storage', done: stored.size, bytes: 0 });
      }
    }
  }
  report.blobs.stored = stored.size;

  // 2. Every blob row against its bytes; a sample re-hashed.
  const withBytes = new Set<string>();
  const suspectMissing = (row: BlobRecord) =>
    suspect({ severity: 'error', kind: 'blob-missing', digest: row.digest, message: `blob row (${row.size} bytes) has no bytes in storage` }, async () =>
      (await metadata.getBlob(row.digest)) !== undefined && (await storedSize(storage, row.digest)) === undefined,
    );
  for await (const row of pages((last) => listBlobs({ limit: pageSize, ...(last !== undefined && { last }) }))) {
    report.blobs.rows += 1;
    let size = stored.get(row.digest);
    stored.delete(row.digest);
    // Pushed after the walk passed its address? Look again before calling it missing.
    if (size === undefined) size = await storedSize(storage, row.digest);
    if (size === undefined) {
      suspectMissing(row);
      continue;
    }
    withBytes.add(row.digest);
    if (size !== row.size) {
      add({ severity: 'error', kind: 'blob-size-drift', digest: row.digest, message: `row says ${row.size} bytes, storage holds ${size}` });
      continue;
    }
    if (sample > 0 && (sample >= 1 || random() < sample)) {
      let actual: string;
      try {
        actual = await hashStored(storage, row.digest, size);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        suspectMissing(row);
        continue;
      }
      report.blobs.rehashed += 1;
      report.blobs.bytesRehashed += size;
      if (actual !== row.digest) {
        add({ severity: 'error', kind: 'blob-digest-drift', digest: row.digest, message: `stored bytes hash to ${actual}` });
      }
      options.onProgress?.({ phase: 'blobs', done: report.blobs.rehashed, bytes: report.blobs.bytesRehashed });
    }
  }

  // 3. Bytes that no row names: garbage until GC collects it (or a push that has not recorded its row yet).
  for (const [digest, size] of stored) {
    if (await metadata.getBlob(digest)) continue;
    add({ severity: 'info', kind: 'blob-orphan', digest, message: `${size} bytes in storage without a blob row (garbage collection reclaims them)` });
  }

  // 4. Manifests: their own bytes, and the bytes of the blobs they need.
  await checkManifests(metadata, listManifests, storage, withBytes, report, add, suspect);

  for (const s of suspects) if (await stillSoAfterPauses(s.stillSo)) add(s.finding);
  findings.sort((a, b) => severityOrder[a.severity] - severityOrder[b.severity]);
  report.ok = report.counts.error === 0;
  return report;
}

async function checkManifests(
  metadata: MetadataStore,
  listManifests: NonNullable<MetadataStore['listManifests']>,
  storage: StorageDriver,
  withBytes: Set<string>,
  report: FsckReport,
  add: (f: Finding) => void,
  suspect: (f: Finding, stillSo: () => Promise<boolean>) => void,
): Promise<void> {
  const blobHasBytes = async (digest: string): Promise<BlobRecord | undefined> => {
    const row = await metadata.getBlob(digest);
    if (!row) return undefined;
    if (withBytes.has(digest)) return row;
    return (await storedSize(storage, digest)) === undefined ? undefined : row;
  };
  let lastRepo: string | undefined;
  for (;;) {
    const repos = await metadata.listRepositories({ limit: pageSize, ...(lastRepo !== undefined && { last: lastRepo }) });
    for (const repo of repos) {
      report.manifests.repositories += 1;
      for await (const m of pages((last) => listManifests(repo, { limit: pageSize, ...(last !== undefined && { last }) }))) {
        report.manifests.checked += 1;
        const algorithm = parseDigest(m.digest).algorithm;
        const actual = digestOf(m.body, algorithm);
        if (actual !== m.digest || m.body.length !== m.size) {
          add({ severity: 'error', kind: 'manifest-digest-drift', digest: m.digest, repository: repo, message: `stored manifest bytes hash to ${actual} (${m.body.length} bytes, row says ${m.size})` });
          continue;
        }
        let parsed;
        try {
          parsed = parseManifest(m.body, m.mediaType);
        } catch (e) {
          add({ severity: 'error', kind: 'manifest-invalid', digest: m.digest, repository: repo, message: (e as Error).message });
          continue;
        }
        for (const blob of parsed.requiredBlobs) {
          if (!(await blobHasBytes(blob.digest))) {
            const digest = m.digest;
            suspect({ severity: 'error', kind: 'manifest-blob-missing', digest, repository: repo, message: `needs blob ${blob.digest}, which has no row or no bytes` }, async () =>
              (await metadata.getManifest(repo, digest)) !== undefined && !(await blobHasBytes(blob.digest)),
            );
          }
        }
        const children = parsed.children.filter((c) => manifestTypes.includes(c.mediaType)).map((c) => c.digest);
        for (const child of await metadata.missingManifests(repo, children)) {
          add({ severity: 'warning', kind: 'manifest-child-missing', digest: m.digest, repository: repo, message: `index entry ${child} is not a manifest of the repository` });
        }
      }
    }
    if (repos.length < pageSize) return;
    lastRepo = repos[repos.length - 1];
  }
}
