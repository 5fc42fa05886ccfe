// copy: moves an image, an index with all its children, or one platform of an index from any ContentSource
// to any ContentSink, keeping every manifest byte-identical (so digests never change). Blobs go before the
// manifests that name them and children before their index; blobs the sink has are skipped, blobs of
// another repository of the same registry are mounted, and at most `concurrency` blobs move at once.
// Optionally the referrers (signatures, SBOMs, attestations) of every copied manifest follow, recursively.
//
// The sink is not closed here: layouts and archives need `sink.close()` from the caller once everything it
// wants in them has been copied (several copies may share one sink).
import { Transform, type Readable } from 'node:stream';
import { isDigest, parseManifest, type Descriptor, type ParsedManifest } from '../../oci/index.js';
import type { ContentSink, ContentSource, ManifestBytes } from '../content.js';
import { ClientError } from '../errors.js';
import { RegistryStore } from '../remote-store.js';
import { Semaphore } from '../transport.js';
import type { OnEvent } from './events.js';
import { formatPlatform, matchesPlatform, selectPlatform, type PlatformSpec } from './platform.js';

export interface CopyOptions {
  signal?: AbortSignal;
  /** Copy only this platform's manifest of an index (its own digest). On a single image: checked against its config. */
  platform?: PlatformSpec;
  /** Copy an index with every child. This is the default; accepted for clarity (and refused with `platform`). */
  allPlatforms?: boolean;
  /** Also copy the manifests whose subject is any copied manifest, recursively, with their blobs. */
  referrers?: boolean;
  /** Blobs transferred at once. Default 4. */
  concurrency?: number;
  onEvent?: OnEvent;
}

export interface CopyResult {
  /** What was copied (after platform selection): the manifest the target tag points at. */
  digest: string;
  mediaType: string;
  size: number;
  /** Blobs whose bytes moved. */
  blobsCopied: number;
  /** Blobs the sink had already. */
  blobsSkipped: number;
  /** Blobs linked by a cross-repository mount (no bytes moved). */
  blobsMounted: number;
  /** Sum of the sizes of the blobs copied. */
  bytesCopied: number;
  /** Manifests (images, indexes, referrers) written to the sink. */
  manifests: number;
  /** Referrers copied (each counted once, with whatever tree hangs below it). */
  referrers: number;
}

/** Upper bound on manifests visited while following referrers (a guard against cycles and runaway graphs). */
const maxReferrerManifests = 10_000;

/** `stream` without its first `count` bytes. */
function skipBytes(stream: Readable, count: number): Readable {
  let left = count;
  const skip = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left >= chunk.length) {
        left -= chunk.length;
        cb();
        return;
      }
      const rest = chunk.subarray(left);
      left = 0;
      cb(null, rest);
    },
  });
  stream.once('error', (e) => skip.destroy(e));
  skip.once('close', () => {
    if (!stream.destroyed) stream.destroy();
  });
  return stream.pipe(skip);
}

function parseForCopy(m: ManifestBytes, where: string): ParsedManifest {
  try {
    return parseManifest(m.bytes, m.mediaType);
  } catch (e) {
    throw new ClientError(`${where}: cannot copy manifest ${m.digest}: ${(e as Error).message}`, { cause: e });
  }
}

function descriptorOf(m: ManifestBytes): Descriptor {
  return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
}

/** The sink may mount from the source when both are repositories of the same registry. */
function mountSources(source: ContentSource, sink: ContentSink): string[] | undefined {
  if (source.kind !== 'registry' || sink.kind !== 'registry') return undefined;
  if (!source.registry || source.registry !== sink.registry || !source.repository || source.repository === sink.repository) return undefined;
  return [source.repository];
}

/**
 * Transfers in flight take a transport slot for the download and one for the upload; when both ends share
 * one transport, more transfers than half its slots could wait on each other forever.
 */
function boundedConcurrency(source: ContentSource, sink: ContentSink, wanted: number): number {
  if (source instanceof RegistryStore && sink instanceof RegistryStore && source.client.transport === sink.client.transport) {
    const slots = source.client.transport.options.maxConcurrency ?? 8;
    return Math.max(1, Math.min(wanted, Math.floor(slots / 2)));
  }
  return wanted;
}

/** One copy's state: what is done or under way (shared blobs and children move once) and the counters. */
class Copier {
  readonly result: Omit<CopyResult, 'digest' | 'mediaType' | 'size'> = {
    blobsCopied: 0,
    blobsSkipped: 0,
    blobsMounted: 0,
    bytesCopied: 0,
    manifests: 0,
    referrers: 0,
  };
  /** Every manifest of the copied graph, in the order it was finished (for the referrers walk). */
  readonly visited: string[] = [];
  private readonly blobs = new Map<string, Promise<void>>();
  private readonly children = new Map<string, Promise<void>>();
  private readonly slots: Semaphore;
  private readonly mountFrom: string[] | undefined;

  constructor(
    private readonly source: ContentSource,
    private readonly sink: ContentSink,
    private readonly opts: CopyOptions,
  ) {
    const concurrency = opts.concurrency ?? 4;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new ClientError(`invalid concurrency ${concurrency}: a positive integer`);
    this.slots = new Semaphore(boundedConcurrency(source, sink, concurrency));
    this.mountFrom = mountSources(source, sink);
  }

  private get signal(): AbortSignal | undefined {
    return this.opts.signal;
  }

  /** The source's bytes of `descriptor` from `offset` (a registry serves a range; others are read and skipped). */
  private async open(descriptor: Descriptor, offset: number): Promise<Readable> {
    const opts = this.signal ? { signal: this.signal } : {};
    let stream: Readable;
    if (offset === 0) stream = await this.source.fetchBlob(descriptor, opts);
    else if (this.source instanceof RegistryStore) stream = await this.source.fetchBlobFrom(descriptor, offset, opts);
    else stream = skipBytes(await this.source.fetchBlob(descriptor, opts), offset);
    return this.counted(stream, descriptor, offset);
  }

  /** `stream` reporting blob-progress as the sink reads it (sinks that send in one request report nothing until the end). */
  private counted(stream: Readable, descriptor: Descriptor, offset: number): Readable {
    const emit = this.opts.onEvent;
    if (!emit) return stream;
    let bytes = offset;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        emit({ type: 'blob-progress', descriptor, bytes });
        cb(null, chunk);
      },
    });
    stream.once('error', (e) => count.destroy(e));
    count.once('close', () => {
      if (!stream.destroyed) stream.destroy();
    });
    return stream.pipe(count);
  }

  blob(descriptor: Descriptor): Promise<void> {
    let p = this.blobs.get(descriptor.digest);
    if (!p) {
      p = this.transferBlob(descriptor);
      this.blobs.set(descriptor.digest, p);
    }
    return p;
  }

  private async transferBlob(descriptor: Descriptor): Promise<void> {
    const release = await this.slots.acquire(this.signal);
    try {
      const emit = this.opts.onEvent;
      emit?.({ type: 'blob-start', descriptor });
      const r = await this.sink.pushBlob(descriptor, (offset) => this.open(descriptor, offset), {
        ...(this.signal ? { signal: this.signal } : {}),
        ...(this.mountFrom ? { mountFrom: this.mountFrom } : {}),
      });
      if (r.existed) this.result.blobsSkipped++;
      else if (r.mounted) this.result.blobsMounted++;
      else {
        this.result.blobsCopied++;
        this.result.bytesCopied += descriptor.size;
      }
      emit?.({ type: 'blob-done', descriptor, existed: r.existed, mounted: r.mounted });
    } finally {
      release();
    }
  }

  private child(descriptor: Descriptor): Promise<void> {
    let p = this.children.get(descriptor.digest);
    if (!p) {
      p = (async () => {
        const m = await this.source.fetchManifest(descriptor, this.signal ? { signal: this.signal } : {});
        await this.manifest(m, { root: false });
      })();
      this.children.set(descriptor.digest, p);
    }
    return p;
  }

  /** Copies `m` after everything it names; `root` manifests are always written (tag), children only when missing. */
  async manifest(m: ManifestBytes, push: { root: boolean; tag?: string }): Promise<void> {
    const parsed = parseForCopy(m, this.source.name);
    // Everything below is started at once; the slots bound the blob transfers.
    const below = parsed.kind === 'index' ? parsed.children.map((c) => this.child(c)) : parsed.requiredBlobs.map((b) => this.blob(b));
    const settled = await Promise.allSettled(below);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const descriptor = descriptorOf(m);
    const opts = this.signal ? { signal: this.signal } : {};
    if (push.root || !(await this.sink.hasManifest(descriptor, opts))) {
      await this.sink.pushManifest(m, { root: push.root, ...opts, ...(push.tag !== undefined ? { tag: push.tag } : {}) });
      this.result.manifests++;
      this.opts.onEvent?.({ type: 'manifest-done', descriptor, ...(push.tag !== undefined ? { tag: push.tag } : {}) });
    }
    this.visited.push(m.digest);
  }

  /** Follows referrers of every visited manifest (including referrers of referrers) until none is new. */
  async referrers(): Promise<void> {
    const seen = new Set(this.visited);
    const opts = this.signal ? { signal: this.signal } : {};
    for (let i = 0; i < this.visited.length; i++) {
      if (seen.size > maxReferrerManifests) throw new ClientError(`more than ${maxReferrerManifests} manifests while following referrers of ${this.source.name}`);
      const list = await this.source.referrers(this.visited[i]!, opts);
      for (const d of list) {
        if (seen.has(d.digest)) continue;
        seen.add(d.digest);
        const m = await this.source.fetchManifest(d, opts);
        await this.manifest(m, { root: true });
        this.result.referrers++;
      }
    }
  }
}

/** Reads the image config's platform (os, architecture, variant) of an image manifest. */
async function configPlatform(source: ContentSource, parsed: ParsedManifest, signal: AbortSignal | undefined): Promise<PlatformSpec | undefined> {
  const config = parsed.config;
  if (!config || config.size > 4 * 1024 * 1024) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of await source.fetchBlob(config, signal ? { signal } : {})) chunks.push(c as Buffer);
  try {
    const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    if (typeof doc.os !== 'string' || typeof doc.architecture !== 'string') return undefined;
    const p: PlatformSpec = { os: doc.os, architecture: doc.architecture };
    if (typeof doc.variant === 'string') p.variant = doc.variant;
    return p;
  } catch {
    return undefined;
  }
}

/**
 * The manifest for `platform`: an index's matching child, or a single image whose config says it is that
 * platform (anything else is an error: copying an image of another platform under a platform request would
 * surprise whoever runs it).
 */
export async function pickPlatform(source: ContentSource, root: ManifestBytes, platform: PlatformSpec, signal?: AbortSignal): Promise<ManifestBytes> {
  const parsed = parseForCopy(root, source.name);
  if (parsed.kind === 'index') {
    const child = selectPlatform(parsed.children, platform, `${source.name}@${root.digest}`);
    return source.fetchManifest(child, signal ? { signal } : {});
  }
  const own = await configPlatform(source, parsed, signal);
  if (own && matchesPlatform(own, platform)) return root;
  const what = own ? `is for ${formatPlatform(own)}` : 'has no platform in its config';
  throw new ClientError(`${source.name}@${root.digest} is a single image that ${what}, not ${formatPlatform(platform)}`);
}

/**
 * Copies an already-resolved manifest (and everything below it) to `sink`, tagged `opts.tag` if given. The
 * building block of `copy` and `mirror`; `sink.close()` stays with the caller.
 */
export async function copyManifest(source: ContentSource, root: ManifestBytes, sink: ContentSink, opts: CopyOptions & { tag?: string } = {}): Promise<CopyResult> {
  const copier = new Copier(source, sink, opts);
  await copier.manifest(root, { root: true, ...(opts.tag !== undefined ? { tag: opts.tag } : {}) });
  if (opts.referrers) await copier.referrers();
  return { digest: root.digest, mediaType: root.mediaType, size: root.bytes.length, ...copier.result };
}

/**
 * Copies what `reference` (a tag or digest) names in `source` to `sink`. The target tag is `opts.tag`, else
 * the source tag; a digest reference without `opts.tag` is pushed by digest only (for a layout sink the tag
 * becomes the ref name). Call `sink.close()` afterwards: this function does not.
 */
export async function copy(source: ContentSource, reference: string, sink: ContentSink, opts: CopyOptions & { tag?: string } = {}): Promise<CopyResult> {
  if (opts.platform && opts.allPlatforms) throw new ClientError('platform and allPlatforms exclude each other: choose one platform or all of them');
  const signal = opts.signal;
  const event = { source: source.name, target: sink.name, reference };
  opts.onEvent?.({ type: 'image-start', ...event });
  let root = await source.resolve(reference, signal ? { signal } : {});
  if (opts.platform) root = await pickPlatform(source, root, opts.platform, signal);
  const tag = opts.tag ?? (isDigest(reference) ? undefined : reference);
  const result = await copyManifest(source, root, sink, { ...opts, ...(tag !== undefined ? { tag } : {}) });
  opts.onEvent?.({ type: 'image-done', ...event });
  return result;
}
