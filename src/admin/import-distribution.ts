// `wharf import --from-distribution`: indexes a CNCF Distribution storage tree (its `rootdirectory`, holding
// docker/registry/v2/{blobs,repositories}) into Wharf, so that a Distribution user can switch without re-pushing.
//
// Distribution's layout (filesystem driver):
//   blobs/<alg>/<first 2 hex>/<hex>/data                                   the bytes of every blob and manifest
//   repositories/<name>/_layers/<alg>/<hex>/link                            blobs the repository may serve
//   repositories/<name>/_manifests/revisions/<alg>/<hex>/link               manifests of the repository
//   repositories/<name>/_manifests/tags/<tag>/current/link                  where each tag points
// (each link file holds a digest). A repository name is the path of a directory holding `_manifests` or `_layers`.
//
// Everything goes through the registry's own code paths: blobs are re-hashed and committed with the storage
// driver's writer (or hard-linked into the filesystem driver's tree after hashing) and recorded with linkBlob,
// manifests and tags are stored with Manifests.put exactly as a push would. Each step is idempotent and durable
// before the next, so an interrupted import is resumed by running it again; bad content is skipped and reported.
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createDigester, digestOf, isDigest, parseDigest, type ParsedDigest } from '../oci/digest.js';
import { isRegistryError } from '../oci/errors.js';
import { parseManifest } from '../oci/manifest.js';
import { manifestTypes } from '../oci/media-types.js';
import { isValidName, isValidTag } from '../oci/reference.js';
import { BlobBusyError, type MetadataStore, type UploadRecord } from '../metadata/store.js';
import type { Registry } from '../registry/index.js';
import { blobPath } from '../registry/paths.js';
import { isNotFound } from '../storage/index.js';

/** How blob bytes reach Wharf's storage: hard links where possible (`auto`), always (`link`) or never (`copy`). */
export type TransferMode = 'auto' | 'link' | 'copy';

export interface ImportOptions {
  /** Distribution's rootdirectory (or its docker/registry/v2 directory). */
  source: string;
  registry: Registry;
  /** The filesystem driver's root, when Wharf's storage is one (see admin/open.ts). */
  localRoot?: string | undefined;
  mode?: TransferMode;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportProgress {
  repository: string;
  repositoriesDone: number;
  repositoriesTotal: number;
  blobs: number;
  bytes: number;
}

export interface SkippedItem {
  kind: 'repository' | 'blob' | 'manifest' | 'tag';
  repository?: string;
  /** The digest, tag or repository name. */
  name: string;
  reason: string;
}

export interface ImportSummary {
  source: string;
  /** Repositories found in the source (those with manifests or layer links). */
  repositories: number;
  tags: { imported: number; existing: number };
  manifests: { imported: number; existing: number };
  /** Distinct blobs: transferred this run (hard-linked or copied) or already in Wharf. */
  blobs: { imported: number; existing: number; linked: number; copied: number };
  /** Bytes of the blobs transferred this run. */
  bytes: number;
  /** Blob links into repositories recorded this run. */
  layerLinks: number;
  /**
   * Layer links whose blob data the source no longer holds (Distribution's garbage collector deletes blob data
   * but leaves the links; Distribution answers BLOB_UNKNOWN for them too). Not imported, not a failure, unless a
   * manifest needs the blob: then that manifest is skipped.
   */
  danglingLayerLinks: number;
  skipped: SkippedItem[];
}

export class ImportError extends Error {
  override name = 'ImportError';
}

type BlobState = { ok: true; size: number } | { ok: false; reason: string; missing?: true };

/** Errors of the push path that mean the source's bytes are not what their address says. */
const corruptCodes = new Set(['DIGEST_INVALID', 'SIZE_INVALID']);

/** How long to wait for a collector that is deleting the same digest (it finishes in milliseconds). */
const claimWaitMs = 60_000;

/** Claims a digest for an upload (docs/gc.md), waiting while a collector deletes the same digest's bytes. */
async function claimDigest(metadata: MetadataStore, claim: UploadRecord, digest: string): Promise<void> {
  const deadline = Date.now() + claimWaitMs;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      await metadata.claimBlob(claim, digest);
      return;
    } catch (e) {
      if (!(e instanceof BlobBusyError) || Date.now() >= deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

const linkErrors = new Set(['EXDEV', 'EPERM', 'EACCES', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP']);

/** The docker/registry/v2 directory under a Distribution rootdirectory (or the directory itself). */
export async function distributionTree(source: string): Promise<string> {
  for (const candidate of [join(source, 'docker', 'registry', 'v2'), source]) {
    const kinds = await Promise.all(['blobs', 'repositories'].map((d) => stat(join(candidate, d)).then((s) => s.isDirectory(), () => false)));
    if (kinds.every(Boolean)) return candidate;
  }
  throw new ImportError(
    `${source} is not a Distribution storage directory: expected docker/registry/v2/blobs and docker/registry/v2/repositories under it ` +
      '(give the rootdirectory of the filesystem storage driver, e.g. /var/lib/docker-registry)',
  );
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

const maxNameDepth = 64;

/** Repository names: directories holding `_manifests` or `_layers`, at any depth below repositories/. */
async function findRepositories(root: string, prefix: string[] = [], found: string[] = []): Promise<string[]> {
  if (prefix.length > maxNameDepth) return found;
  const entries = await readdir(join(root, ...prefix), { withFileTypes: true }).catch(() => []);
  if (entries.some((e) => e.isDirectory() && (e.name === '_manifests' || e.name === '_layers'))) found.push(prefix.join('/'));
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.isDirectory() && !e.name.startsWith('_')) await findRepositories(root, [...prefix, e.name], found);
  }
  return found;
}

/** Digests named by `<dir>/<alg>/<hex>/link` files, with what was wrong with the ones that are not usable. */
async function readLinks(dir: string): Promise<{ digests: string[]; bad: { name: string; reason: string }[] }> {
  const digests: string[] = [];
  const bad: { name: string; reason: string }[] = [];
  for (const alg of await listDir(dir)) {
    for (const hex of await listDir(join(dir, alg))) {
      const where = `${alg}:${hex}`;
      let text: string;
      try {
        text = (await readFile(join(dir, alg, hex, 'link'), 'utf8')).trim();
      } catch {
        continue; // a directory without a link is a deleted entry in Distribution
      }
      if (!isDigest(text)) bad.push({ name: where, reason: `link file does not hold a supported digest (${JSON.stringify(text.slice(0, 80))})` });
      else if (text !== where) bad.push({ name: where, reason: `link file names ${text}, not the digest of its directory` });
      else digests.push(text);
    }
  }
  return { digests, bad };
}

/** A hard link is possible only into the filesystem driver's tree on the same device. */
async function sameDevice(a: string, b: string): Promise<boolean> {
  await mkdir(b, { recursive: true });
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  return sa.dev === sb.dev;
}

async function hashFile(path: string, d: ParsedDigest): Promise<{ digest: string; size: number }> {
  const hash = createDigester(d.algorithm);
  let size = 0;
  await pipeline(
    createReadStream(path, { highWaterMark: 1024 * 1024 }),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        hash.update(chunk);
        cb();
      },
    }),
  );
  return { digest: `${d.algorithm}:${hash.digest('hex')}`, size };
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class DistributionImport {
  private readonly registry: Registry;
  private readonly blobs = new Map<string, BlobState>();
  private readonly summary: ImportSummary;
  private tree = '';
  private linking = false;
  private progress: ImportProgress = { repository: '', repositoriesDone: 0, repositoriesTotal: 0, blobs: 0, bytes: 0 };

  constructor(private readonly options: ImportOptions) {
    this.registry = options.registry;
    this.summary = {
      source: resolve(options.source),
      repositories: 0,
      tags: { imported: 0, existing: 0 },
      manifests: { imported: 0, existing: 0 },
      blobs: { imported: 0, existing: 0, linked: 0, copied: 0 },
      bytes: 0,
      layerLinks: 0,
      danglingLayerLinks: 0,
      skipped: [],
    };
  }

  async run(): Promise<ImportSummary> {
    this.tree = await distributionTree(this.options.source);
    await this.chooseTransfer();
    const repositoriesDir = join(this.tree, 'repositories');
    const names = await findRepositories(repositoriesDir);
    this.summary.repositories = names.length;
    this.progress.repositoriesTotal = names.length;
    for (const name of names) {
      this.progress.repository = name;
      if (!isValidName(name)) {
        this.recordSkipped({ kind: 'repository', name, reason: 'not a valid OCI repository name' });
      } else {
        await this.importRepository(name, join(repositoriesDir, ...name.split('/')));
      }
      this.progress.repositoriesDone += 1;
      this.report();
    }
    return this.summary;
  }

  private async chooseTransfer(): Promise<void> {
    const mode = this.options.mode ?? 'auto';
    const root = this.options.localRoot;
    if (mode === 'copy') return;
    const possible = root !== undefined && (await sameDevice(join(this.tree, 'blobs'), root));
    if (mode === 'link' && !possible) {
      throw new ImportError(
        root === undefined
          ? '--link needs Wharf storage on the filesystem driver (file:// or a path); this storage is an object store'
          : `--link needs the source and ${root} on the same filesystem; they are not (use --copy, or the default, which copies)`,
      );
    }
    this.linking = possible;
  }

  private recordSkipped(item: SkippedItem): void {
    this.summary.skipped.push(item);
  }

  private report(): void {
    this.options.onProgress?.({ ...this.progress });
  }

  private async importRepository(repo: string, dir: string): Promise<void> {
    const layers = await readLinks(join(dir, '_layers'));
    for (const b of layers.bad) this.recordSkipped({ kind: 'blob', repository: repo, ...b });
    for (const digest of layers.digests) {
      const state = await this.linkBlob(repo, digest, true);
      if (!state.ok && state.missing) this.summary.danglingLayerLinks += 1;
    }

    const revisions = await readLinks(join(dir, '_manifests', 'revisions'));
    for (const b of revisions.bad) this.recordSkipped({ kind: 'manifest', repository: repo, ...b });
    const notImported = await this.importManifests(repo, revisions.digests);

    const tagsDir = join(dir, '_manifests', 'tags');
    for (const tag of await listDir(tagsDir)) {
      let target: string;
      try {
        target = (await readFile(join(tagsDir, tag, 'current', 'link'), 'utf8')).trim();
      } catch {
        continue; // a deleted tag leaves its directory behind in some Distribution versions
      }
      await this.importTag(repo, tag, target, notImported);
    }
  }

  /**
   * Makes the blob's bytes present in Wharf (transferred at most once per run) and links it into the repository.
   * Garbage collection may run meanwhile: bytes are written only under an upload claim on the digest, and a link
   * to bytes a collector is deleting is refused (BlobBusyError), which sends the blob through a transfer again.
   */
  private async linkBlob(repo: string, digest: string, layerLink = false): Promise<BlobState> {
    const known = this.blobs.get(digest);
    if (known && !known.ok) return known;
    const metadata = this.registry.metadata;
    const wasLinked = (await metadata.getRepositoryBlob(repo, digest)) !== undefined;
    if (known?.ok && (wasLinked || (await this.linkPresent(repo, digest, known.size)))) {
      if (!wasLinked) this.summary.layerLinks += 1;
      return known;
    }
    let state: BlobState;
    try {
      state = await this.transferBlob(repo, parseDigest(digest), wasLinked);
    } catch (e) {
      state = { ok: false, reason: (e as Error).message };
    }
    this.blobs.set(digest, state);
    if (state.ok) {
      if (!wasLinked) this.summary.layerLinks += 1;
    } else if (!(layerLink && state.missing)) {
      this.recordSkipped({ kind: 'blob', repository: repo, name: digest, reason: state.reason });
    }
    return state;
  }

  /** Links bytes Wharf already holds into the repository; false when a collector is deleting them right now. */
  private async linkPresent(repo: string, digest: string, size: number): Promise<boolean> {
    try {
      await this.registry.metadata.linkBlob(repo, { digest, size });
      return true;
    } catch (e) {
      if (e instanceof BlobBusyError) return false;
      throw e;
    }
  }

  private sourcePath(d: ParsedDigest): string {
    return join(this.tree, 'blobs', d.algorithm, d.hex.slice(0, 2), d.hex, 'data');
  }

  /** The blob's bytes in Wharf, linked into `repo`: found there already, hard-linked or copied from the source. */
  private async transferBlob(repo: string, d: ParsedDigest, wasLinked: boolean): Promise<BlobState> {
    const { storage, metadata } = this.registry;
    const known = await metadata.getBlob(d.digest);
    if (known) {
      const stored = await storage.stat(blobPath(d)).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (stored?.size === known.size && (wasLinked || (await this.linkPresent(repo, d.digest, known.size)))) {
        this.summary.blobs.existing += 1;
        return { ok: true, size: known.size };
      }
    }
    const src = this.sourcePath(d);
    const info = await stat(src).catch(() => undefined);
    if (!info?.isFile()) return { ok: false, reason: 'blob data is missing from the source', missing: true };
    const linked = this.linking && (await this.linkedUnderClaim(repo, src, d));
    let size: number;
    if (linked) {
      size = linked.size;
      this.summary.blobs.linked += 1;
    } else {
      // The push path: claim the digest, stream through the digest check into the driver's writer (committed only
      // when it matches), link into the repository.
      try {
        const blob = await this.registry.uploads.monolithic(repo, d, { body: createReadStream(src, { highWaterMark: 1024 * 1024 }), length: info.size });
        size = blob.size;
      } catch (e) {
        if (isRegistryError(e)) return { ok: false, reason: corruptCodes.has(e.code) ? `corrupt in the source: ${e.message}` : e.message };
        throw e;
      }
      this.summary.blobs.copied += 1;
    }
    this.summary.blobs.imported += 1;
    this.summary.bytes += size;
    this.progress.blobs += 1;
    this.progress.bytes += size;
    this.report();
    return { ok: true, size };
  }

  /** A hard link made under an upload claim on the digest, as a push's bytes are; false to copy instead. */
  private async linkedUnderClaim(repo: string, src: string, d: ParsedDigest): Promise<{ size: number } | false> {
    const { metadata } = this.registry;
    const claim = { id: randomUUID(), repository: repo, createdAt: Date.now() };
    await claimDigest(metadata, claim, d.digest);
    let linked: { size: number } | false;
    try {
      linked = await this.hardLink(src, d);
    } catch (e) {
      await metadata.deleteUpload(claim.id).catch(() => undefined);
      throw e;
    }
    if (!linked) {
      await metadata.deleteUpload(claim.id);
      return false;
    }
    await metadata.linkBlob(repo, { digest: d.digest, size: linked.size }, claim.id);
    return linked;
  }

  /**
   * Hard-links the source file beside its Wharf address, verifies the digest of what is linked, then renames it
   * into place (atomic, as the filesystem driver's own commits). False when the filesystem refuses the link.
   */
  private async hardLink(src: string, d: ParsedDigest): Promise<{ size: number } | false> {
    const target = join(this.options.localRoot!, ...blobPath(d).split('/'));
    const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    await mkdir(dirname(target), { recursive: true });
    try {
      await link(src, temp);
    } catch (e) {
      if (linkErrors.has((e as NodeJS.ErrnoException).code ?? '')) {
        if (this.options.mode === 'link') throw new ImportError(`cannot hard-link ${src}: ${(e as Error).message}`);
        this.linking = (e as NodeJS.ErrnoException).code !== 'EXDEV'; // a different device will not change
        return false;
      }
      throw e;
    }
    try {
      const actual = await hashFile(temp, d);
      if (actual.digest !== d.digest) throw new ImportError(`corrupt in the source: its content hashes to ${actual.digest}`);
      await fsyncPath(temp);
      await rename(temp, target);
      await fsyncPath(dirname(target));
      return { size: actual.size };
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
  }

  /**
   * Stores the repository's manifests, images before the indexes that point at them (in passes, so indexes of
   * indexes work too). Returns why each manifest that was not imported was not.
   */
  private async importManifests(repo: string, digests: string[]): Promise<Map<string, string>> {
    const { metadata, manifests } = this.registry;
    const notImported = new Map<string, string>();
    let pending: { digest: string; body: Buffer; children: string[] }[] = [];
    for (const digest of digests) {
      if (await metadata.getManifest(repo, digest)) {
        this.summary.manifests.existing += 1;
        continue;
      }
      const loaded = await this.loadManifest(repo, digest);
      if (typeof loaded === 'string') {
        notImported.set(digest, loaded);
        this.recordSkipped({ kind: 'manifest', repository: repo, name: digest, reason: loaded });
        continue;
      }
      pending.push(loaded);
    }
    for (let pass = 0; pending.length > 0 && pass <= digests.length; pass += 1) {
      const waiting: typeof pending = [];
      const inThisPass = new Set(pending.map((p) => p.digest));
      for (const m of pending) {
        const stillMissing = await metadata.missingManifests(repo, m.children);
        if (stillMissing.some((c) => inThisPass.has(c))) {
          waiting.push(m);
          continue;
        }
        try {
          await manifests.put(repo, m.digest, m.body, undefined);
          this.summary.manifests.imported += 1;
        } catch (e) {
          if (!isRegistryError(e)) throw e;
          notImported.set(m.digest, e.message);
          this.recordSkipped({ kind: 'manifest', repository: repo, name: m.digest, reason: e.message });
        }
      }
      if (waiting.length === pending.length) {
        for (const m of waiting) {
          const reason = 'its index entries form a cycle or wait on manifests that were not imported';
          notImported.set(m.digest, reason);
          this.recordSkipped({ kind: 'manifest', repository: repo, name: m.digest, reason });
        }
        break;
      }
      pending = waiting;
    }
    return notImported;
  }

  /** The verified bytes of a manifest and the manifests it points at, or why it cannot be imported. */
  private async loadManifest(repo: string, digest: string): Promise<{ digest: string; body: Buffer; children: string[] } | string> {
    const d = parseDigest(digest);
    const src = this.sourcePath(d);
    const info = await stat(src).catch(() => undefined);
    if (!info?.isFile()) return 'manifest data is missing from the source';
    if (info.size > this.registry.manifests.maxBytes) return `manifest is larger than the ${this.registry.manifests.maxBytes} bytes limit`;
    const body = await readFile(src);
    const actual = digestOf(body, d.algorithm);
    if (actual !== digest) return `corrupt in the source: its content hashes to ${actual}`;
    let parsed;
    try {
      parsed = parseManifest(body, undefined);
    } catch (e) {
      if (isRegistryError(e)) return e.message;
      throw e;
    }
    // Blobs a manifest needs are normally linked already (Distribution checks at push); link any that are not.
    const missing = await this.registry.metadata.missingBlobs(repo, parsed.requiredBlobs.map((b) => b.digest));
    for (const blob of missing) {
      const state = await this.linkBlob(repo, blob);
      if (!state.ok) return `references blob ${blob}, which could not be imported: ${state.reason}`;
    }
    const children = parsed.children.filter((c) => manifestTypes.includes(c.mediaType)).map((c) => c.digest);
    return { digest, body, children };
  }

  private async importTag(repo: string, tag: string, target: string, notImported: Map<string, string>): Promise<void> {
    const { metadata, manifests } = this.registry;
    if (!isValidTag(tag)) {
      this.recordSkipped({ kind: 'tag', repository: repo, name: tag, reason: 'not a valid OCI tag' });
      return;
    }
    if (!isDigest(target)) {
      this.recordSkipped({ kind: 'tag', repository: repo, name: tag, reason: `link file does not hold a supported digest (${JSON.stringify(target.slice(0, 80))})` });
      return;
    }
    const current = await metadata.getManifestByTag(repo, tag);
    if (current?.digest === target) {
      this.summary.tags.existing += 1;
      return;
    }
    const manifest = await metadata.getManifest(repo, target);
    if (!manifest) {
      const why = notImported.get(target) ?? 'it is not a manifest revision of the repository';
      this.recordSkipped({ kind: 'tag', repository: repo, name: tag, reason: `points at ${target}, which was not imported: ${why}` });
      return;
    }
    try {
      await manifests.put(repo, tag, manifest.body, manifest.mediaType);
    } catch (e) {
      // An immutable tag that already points elsewhere, a quota: refused as it would be for a push.
      if (!isRegistryError(e)) throw e;
      this.recordSkipped({ kind: 'tag', repository: repo, name: tag, reason: e.message });
      return;
    }
    this.summary.tags.imported += 1;
  }
}

export function importFromDistribution(options: ImportOptions): Promise<ImportSummary> {
  return new DistributionImport(options).run();
}
