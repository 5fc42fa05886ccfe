// An OCI image layout directory (image-spec image-layout.md) as a ContentStore: `oci-layout`, `index.json`
// and content-addressed `blobs/<alg>/<hex>`. Readable and writable by skopeo (`oci:DIR:TAG`) and umoci.
//
// - Blobs (manifests included, as their exact bytes) are written to a temp file in the layout's root, verified
//   while they stream, fsynced and renamed into place: a failed or aborted push leaves nothing under blobs/.
// - index.json lists the roots (manifests pushed with `root: true`); a tag is the annotation
//   `org.opencontainers.image.ref.name` of its entry (skopeo writes the bare tag, so do we). Children of an
//   index are blobs only. Unknown fields of an existing index.json and of its entries are kept.
// - Tagging replaces the entry that held the tag: the old manifest stays a blob (resolvable by digest) and stays
//   listed only through its other entries (skopeo and oras would keep it as an untagged entry, so index.json
//   grows with every retag; here it does not). An untagged entry for the new digest is dropped (the tagged
//   entry lists it). Untagged roots (artifacts with a subject) are listed once, without ref.name.
// - referrers() reads every manifest reachable from index.json: the roots and, through indexes, their children.
// - index.json is written atomically (temp, fsync, rename) after every root push or untag and on close().
// - Manifests are stored with the media type they were pushed with. Docker schema2 manifests and manifest
//   lists are kept byte-exact too, but skopeo (1.9) only sees index.json entries of OCI media types (umoci lists
//   them all): converting is the caller's choice, since it changes digests.
// - One process writes a layout at a time: like skopeo and umoci, there is no lock against other writers.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import {
  MediaType,
  isDigest,
  isValidTag,
  manifestTypes,
  maxManifestBytes,
  parseDescriptor,
  parseDigest,
  parseManifest,
  RegistryError,
  type Descriptor,
  type ParsedManifest,
  type Platform,
} from '../oci/index.js';
import type { ContentKind, ContentOptions, ContentStore, ManifestBytes, PushBlobOptions, PushBlobResult, PushManifestOptions, ReferrersFilter } from './content.js';
import { ClientError, ContentNotFoundError } from './errors.js';
import { checkBytes, verifying } from './verify.js';

/** The annotation that names an index.json entry (the tag). */
export const refNameAnnotation = 'org.opencontainers.image.ref.name';
export const layoutVersion = '1.0.0';
const layoutFileName = 'oci-layout';
const indexFileName = 'index.json';
/** Prefix of the temp files a push writes in the layout's root before renaming them into blobs/. */
const tempPrefix = '.wharf-tmp-';
/** Configs larger than this are not read to find an image's platform. */
const maxConfigBytes = 1024 * 1024;
/**
 * The image-spec grammar of ref.name values (`component ("/" component)*`); wider than a registry tag, so
 * names written by other tools (umoci allows `a/b`, `v1:x`) can be copied between layouts.
 */
const refNameGrammar = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Writes all of `chunk` at the handle's position (write() may write less than asked). */
export async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** fsyncs a directory so a rename in it survives a crash (ignored where directories cannot be fsynced). */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    if (!['EINVAL', 'EISDIR', 'EPERM', 'EBADF'].includes(errorCode(e) ?? '')) throw e;
  } finally {
    await fh?.close();
  }
}

/** A name for a temp file that no other writer picks. */
export function tempName(prefix: string): string {
  return `${prefix}${process.pid}-${randomBytes(8).toString('hex')}`;
}

/** Replaces `path` with `data` atomically: temp file in the same directory, fsync, rename, fsync the directory. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await writeAtomic(path, dirname(path), (fh) => writeAll(fh, data));
}

/**
 * Makes `path` appear with what `fill` writes, or not at all: a temp file in `tmpDir` (same filesystem), fsync,
 * rename, fsync of the directory. When `fill` throws, the temp file is removed and `path` is untouched.
 */
async function writeAtomic(path: string, tmpDir: string, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = join(tmpDir, tempName(tempPrefix));
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fill(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
    await syncDir(dirname(path));
  } finally {
    if (!renamed) await rm(tmp, { force: true });
  }
}

/** The parsed index.json: the document as read (unknown fields kept) and its entries, each validated. */
interface LayoutIndex {
  doc: Json;
  entries: Json[];
}

function corrupt(file: string, why: string, cause?: unknown): ClientError {
  return new ClientError(`${file} is not a valid OCI image index: ${why}`, cause === undefined ? undefined : { cause });
}

function parseIndex(file: string, text: string): LayoutIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `not JSON (${(e as Error).message})`, e);
  }
  if (!isObject(doc)) throw corrupt(file, 'not a JSON object');
  if (doc.schemaVersion !== 2) throw corrupt(file, `schemaVersion must be 2, found ${JSON.stringify(doc.schemaVersion)}`);
  const manifests = doc.manifests ?? [];
  if (!Array.isArray(manifests)) throw corrupt(file, 'manifests must be an array');
  manifests.forEach((entry, i) => {
    try {
      parseDescriptor(entry, `manifests[${i}]`);
    } catch (e) {
      throw corrupt(file, (e as Error).message, e);
    }
  });
  return { doc, entries: manifests as Json[] };
}

function refOf(entry: Json): string | undefined {
  const annotations = entry.annotations;
  if (!isObject(annotations)) return undefined;
  const ref = annotations[refNameAnnotation];
  return typeof ref === 'string' ? ref : undefined;
}

function withoutRef(entry: Json): Json {
  if (!isObject(entry.annotations)) return entry;
  const { [refNameAnnotation]: _dropped, ...rest } = entry.annotations;
  const copy: Json = { ...entry, annotations: rest };
  if (Object.keys(rest).length === 0) delete copy.annotations;
  return copy;
}

/**
 * A manifest's media type when nothing else says it: its own `mediaType` field, or its shape
 * (`manifests` → OCI index, `config` → OCI image manifest). Undefined when the bytes are no manifest.
 */
function sniffMediaType(bytes: Buffer): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(doc) || doc.schemaVersion !== 2) return undefined;
  if (typeof doc.mediaType === 'string') return manifestTypes.includes(doc.mediaType) ? doc.mediaType : undefined;
  if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
  if (isObject(doc.config)) return MediaType.ociManifest;
  return undefined;
}

/** The platform an image config declares, if it declares one. */
function platformOfConfig(bytes: Buffer): Platform | undefined {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    if (!isObject(doc) || typeof doc.architecture !== 'string' || typeof doc.os !== 'string' || !doc.architecture || !doc.os) return undefined;
    const p: Platform = { architecture: doc.architecture, os: doc.os };
    if (typeof doc.variant === 'string' && doc.variant) p.variant = doc.variant;
    if (typeof doc['os.version'] === 'string' && doc['os.version']) p['os.version'] = doc['os.version'];
    const features = doc['os.features'];
    if (Array.isArray(features) && features.length > 0 && features.every((f) => typeof f === 'string')) p['os.features'] = features as string[];
    return p;
  } catch {
    return undefined;
  }
}

/** What referrers() needs of a manifest, remembered per digest (content never changes). */
interface ManifestFacts {
  mediaType: string;
  size: number;
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  children: Descriptor[];
}

export interface OpenLayoutOptions {
  /** Create the layout when the directory is missing or empty. */
  create?: boolean;
  /** The store's name in messages (default `oci:<dir>`). */
  name?: string;
}

export class OciLayoutStore implements ContentStore {
  readonly kind: ContentKind = 'layout';
  readonly name: string;
  /** The layout directory, as given to openLayout. */
  readonly dir: string;
  private readonly indexFile: string;
  private index: LayoutIndex;
  private dirty = false;
  private indexWrites: Promise<void> = Promise.resolve();
  /** Media types learned from pushes and from descriptors, for manifests that do not say their own. */
  private readonly knownTypes = new Map<string, string>();
  private readonly facts = new Map<string, ManifestFacts | null>();

  /** Use openLayout(). */
  constructor(dir: string, index: LayoutIndex, name?: string) {
    this.dir = dir;
    this.name = name ?? `oci:${dir}`;
    this.indexFile = join(dir, indexFileName);
    this.index = index;
  }

  /** Where the blob `digest` lives; a ClientError for anything that is not a valid digest (no path tricks). */
  blobPath(digest: string): string {
    let parsed;
    try {
      parsed = parseDigest(digest);
    } catch (e) {
      throw new ClientError(`${this.name}: ${(e as Error).message}`, { cause: e });
    }
    return join(this.dir, 'blobs', parsed.algorithm, parsed.hex);
  }

  /** The index.json entries, as descriptors (a copy). */
  roots(): Descriptor[] {
    return this.index.entries.map((e, i) => parseDescriptor(e, `manifests[${i}]`));
  }

  private notFound(code: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN', what: string): ContentNotFoundError {
    return new ContentNotFoundError(code, `${this.name}: ${what}`);
  }

  /** A manifest blob's bytes; MANIFEST_UNKNOWN when it is missing or too large to be a manifest. */
  private async readManifestBlob(digest: string, why: string): Promise<Buffer> {
    const path = this.blobPath(digest);
    try {
      const st = await stat(path);
      if (!st.isFile() || st.size > maxManifestBytes) throw this.notFound('MANIFEST_UNKNOWN', `${digest} is not a manifest (${why})`);
      return await readFile(path);
    } catch (e) {
      if (errorCode(e) === 'ENOENT') throw this.notFound('MANIFEST_UNKNOWN', `no manifest ${digest} (${why})`);
      throw e;
    }
  }

  private entryForRef(ref: string): Json | undefined {
    return this.index.entries.find((e) => refOf(e) === ref);
  }

  async resolve(reference: string, opts: ContentOptions = {}): Promise<ManifestBytes> {
    opts.signal?.throwIfAborted();
    if (isDigest(reference)) {
      const bytes = await this.readManifestBlob(reference, 'no such blob');
      checkBytes(bytes, { digest: reference, size: bytes.length });
      const listed = this.index.entries.find((e) => e.digest === reference);
      const mediaType = (listed?.mediaType as string | undefined) ?? this.knownTypes.get(reference) ?? sniffMediaType(bytes);
      if (mediaType === undefined) throw this.notFound('MANIFEST_UNKNOWN', `blob ${reference} is not a manifest`);
      return { digest: reference, mediaType, bytes };
    }
    const entry = this.entryForRef(reference);
    if (!entry) {
      const known = this.tagList();
      const hint = known.length === 0 ? 'it has no tags' : `tags: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}`;
      throw this.notFound('MANIFEST_UNKNOWN', `no manifest tagged ${JSON.stringify(reference)} in ${indexFileName} (${hint})`);
    }
    const d = parseDescriptor(entry, refNameAnnotation);
    const bytes = await this.readManifestBlob(d.digest, `${indexFileName} lists it as ${JSON.stringify(reference)} but blobs/ lacks it`);
    checkBytes(bytes, d);
    return { digest: d.digest, mediaType: d.mediaType, bytes };
  }

  async fetchManifest(descriptor: Descriptor, opts: ContentOptions = {}): Promise<ManifestBytes> {
    opts.signal?.throwIfAborted();
    const bytes = await this.readManifestBlob(descriptor.digest, 'no such blob');
    checkBytes(bytes, descriptor);
    this.knownTypes.set(descriptor.digest, descriptor.mediaType);
    return { digest: descriptor.digest, mediaType: descriptor.mediaType, bytes };
  }

  async fetchBlob(descriptor: Descriptor, opts: ContentOptions = {}): Promise<Readable> {
    opts.signal?.throwIfAborted();
    let fh: FileHandle;
    try {
      fh = await open(this.blobPath(descriptor.digest), 'r');
    } catch (e) {
      if (errorCode(e) === 'ENOENT') throw this.notFound('BLOB_UNKNOWN', `no blob ${descriptor.digest}`);
      throw e;
    }
    const checked = verifying(fh.createReadStream(), descriptor, 'blob');
    return opts.signal ? addAbortSignal(opts.signal, checked) : checked;
  }

  /** Facts about manifest `d` (cached); null when its blob is missing or is not a manifest. */
  private async manifestFacts(d: Descriptor): Promise<ManifestFacts | null> {
    const cached = this.facts.get(d.digest);
    if (cached !== undefined) return cached;
    let found: ManifestFacts | null = null;
    try {
      const bytes = await this.readManifestBlob(d.digest, 'referrers scan');
      checkBytes(bytes, d);
      const parsed: ParsedManifest = parseManifest(bytes, d.mediaType);
      found = { mediaType: d.mediaType, size: bytes.length, children: parsed.children };
      if (parsed.subject) found.subject = parsed.subject.digest;
      if (parsed.artifactType !== undefined) found.artifactType = parsed.artifactType;
      if (parsed.annotations !== undefined) found.annotations = parsed.annotations;
    } catch (e) {
      if (!(e instanceof ClientError) && !(e instanceof RegistryError)) throw e;
      found = null;
    }
    this.facts.set(d.digest, found);
    return found;
  }

  /**
   * Manifests whose `subject` is `digest`. Scans every root of index.json and, through indexes, every manifest
   * they reach (children of children too); manifest blobs that nothing reaches are not scanned.
   */
  async referrers(digest: string, opts: ReferrersFilter = {}): Promise<Descriptor[]> {
    opts.signal?.throwIfAborted();
    const queue = this.roots();
    const seen = new Set<string>();
    const out: Descriptor[] = [];
    while (queue.length > 0) {
      opts.signal?.throwIfAborted();
      const d = queue.shift()!;
      if (seen.has(d.digest) || !manifestTypes.includes(d.mediaType)) continue;
      seen.add(d.digest);
      const facts = await this.manifestFacts(d);
      if (!facts) continue;
      queue.push(...facts.children);
      if (facts.subject !== digest) continue;
      if (opts.artifactType !== undefined && facts.artifactType !== opts.artifactType) continue;
      const r: Descriptor = { mediaType: facts.mediaType, digest: d.digest, size: facts.size };
      if (facts.artifactType !== undefined) r.artifactType = facts.artifactType;
      if (facts.annotations !== undefined) r.annotations = facts.annotations;
      out.push(r);
    }
    return out.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }

  private tagList(): string[] {
    const refs = new Set<string>();
    for (const e of this.index.entries) {
      const ref = refOf(e);
      if (ref !== undefined) refs.add(ref);
    }
    return [...refs].sort();
  }

  async tags(opts: ContentOptions = {}): Promise<string[]> {
    opts.signal?.throwIfAborted();
    return this.tagList();
  }

  /** Whether the blob file is there with the descriptor's size (a file of another size is overwritten by a push). */
  private async present(descriptor: Descriptor): Promise<boolean> {
    try {
      const st = await stat(this.blobPath(descriptor.digest));
      return st.isFile() && st.size === descriptor.size;
    } catch (e) {
      if (errorCode(e) === 'ENOENT') return false;
      throw e;
    }
  }

  async hasBlob(descriptor: Descriptor, opts: ContentOptions = {}): Promise<boolean> {
    opts.signal?.throwIfAborted();
    return this.present(descriptor);
  }

  async hasManifest(descriptor: Descriptor, opts: ContentOptions = {}): Promise<boolean> {
    opts.signal?.throwIfAborted();
    return this.present(descriptor);
  }

  async pushBlob(descriptor: Descriptor, openSource: (offset: number) => Promise<Readable>, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
    opts.signal?.throwIfAborted();
    const path = this.blobPath(descriptor.digest);
    if (await this.present(descriptor)) return { existed: true, mounted: false };
    await mkdir(dirname(path), { recursive: true });
    await writeAtomic(path, this.dir, async (fh) => {
      const source = await openSource(0);
      const checked = verifying(source, descriptor, 'blob');
      if (opts.signal) addAbortSignal(opts.signal, checked);
      let written = 0;
      for await (const chunk of checked as AsyncIterable<Buffer>) {
        await writeAll(fh, chunk);
        written += chunk.length;
        opts.onProgress?.(written);
      }
      opts.signal?.throwIfAborted();
    });
    return { existed: false, mounted: false };
  }

  async pushManifest(manifest: ManifestBytes, opts: PushManifestOptions): Promise<void> {
    opts.signal?.throwIfAborted();
    checkBytes(manifest.bytes, { digest: manifest.digest, size: manifest.bytes.length });
    const tag = opts.tag;
    if (tag !== undefined && !isValidTag(tag) && !refNameGrammar.test(tag)) {
      throw new ClientError(`${this.name}: invalid tag ${JSON.stringify(tag)}`);
    }
    const root = opts.root || tag !== undefined;
    let parsed: ParsedManifest | undefined;
    if (root) {
      try {
        parsed = parseManifest(manifest.bytes, manifest.mediaType);
      } catch (e) {
        throw new ClientError(`${this.name}: manifest ${manifest.digest} is invalid: ${(e as Error).message}`, { cause: e });
      }
    }
    const path = this.blobPath(manifest.digest);
    if (!(await this.present({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length }))) {
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, manifest.bytes);
    }
    this.knownTypes.set(manifest.digest, manifest.mediaType);
    if (!parsed) return;
    const entry = await this.rootEntry(manifest, parsed);
    opts.signal?.throwIfAborted();
    this.listRoot(entry, tag);
    await this.writeIndex();
  }

  /** The index.json entry of a root: its descriptor plus what the manifest says of itself. */
  private async rootEntry(manifest: ManifestBytes, parsed: ParsedManifest): Promise<Json> {
    const entry: Json = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    const config = parsed.config;
    const imageConfig = config !== undefined && (config.mediaType === MediaType.ociConfig || config.mediaType === MediaType.dockerConfig);
    const ownArtifactType = (JSON.parse(manifest.bytes.toString('utf8')) as Json).artifactType;
    if (typeof ownArtifactType === 'string') entry.artifactType = ownArtifactType;
    else if (config !== undefined && !imageConfig && config.mediaType !== MediaType.ociEmpty) entry.artifactType = config.mediaType;
    if (config !== undefined && imageConfig && config.size <= maxConfigBytes) {
      try {
        const bytes = await readFile(this.blobPath(config.digest));
        checkBytes(bytes, config, 'config');
        const platform = platformOfConfig(bytes);
        if (platform) entry.platform = platform;
      } catch {
        // No config here (or not a readable one): the entry simply has no platform.
      }
    }
    if (parsed.annotations) {
      const { [refNameAnnotation]: _ignored, ...rest } = parsed.annotations;
      if (Object.keys(rest).length > 0) entry.annotations = rest;
    }
    return entry;
  }

  /** Lists `entry` in index.json, under `tag` when given (see the header for the rules). */
  private listRoot(entry: Json, tag: string | undefined): void {
    const entries = this.index.entries;
    const digest = entry.digest;
    if (tag === undefined) {
      if (!entries.some((e) => e.digest === digest)) {
        entries.push(entry);
        this.dirty = true;
      }
      return;
    }
    const tagged: Json = { ...entry, annotations: { ...((entry.annotations as Json | undefined) ?? {}), [refNameAnnotation]: tag } };
    const at = entries.findIndex((e) => refOf(e) === tag);
    const next: Json[] = [];
    entries.forEach((e, i) => {
      if (i === at) {
        // Same digest: keep the fields other tools put on the entry, refresh ours.
        next.push(e.digest === digest ? { ...e, ...tagged, annotations: { ...((e.annotations as Json | undefined) ?? {}), ...(tagged.annotations as Json) } } : tagged);
      } else if (refOf(e) === tag) {
        next.push(withoutRef(e)); // a duplicate ref.name in a hand-made index: the name is ours now
      } else if (e.digest === digest && refOf(e) === undefined) {
        // an untagged entry for the same digest is redundant once the tagged one lists it
      } else {
        next.push(e);
      }
    });
    if (at < 0) next.push(tagged);
    this.index = { doc: this.index.doc, entries: next };
    this.dirty = true;
  }

  /**
   * Removes a tag: its entry leaves index.json (the manifest stays as a blob, still resolvable by digest).
   * False when no entry holds the tag.
   */
  async untag(tag: string, opts: ContentOptions = {}): Promise<boolean> {
    opts.signal?.throwIfAborted();
    const kept = this.index.entries.filter((e) => refOf(e) !== tag);
    if (kept.length === this.index.entries.length) return false;
    this.index = { doc: this.index.doc, entries: kept };
    this.dirty = true;
    await this.writeIndex();
    return true;
  }

  /** Writes index.json atomically when it changed (writes are serialised; each writes the latest state). */
  private writeIndex(): Promise<void> {
    const write = this.indexWrites.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const doc = { ...this.index.doc, manifests: this.index.entries };
      try {
        await writeFileAtomic(this.indexFile, Buffer.from(JSON.stringify(doc)));
      } catch (e) {
        this.dirty = true;
        throw e;
      }
    });
    this.indexWrites = write.catch(() => undefined);
    return write;
  }

  async close(opts: ContentOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    await this.writeIndex();
  }
}

function freshIndex(): Json {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

/** Writes an empty layout into the (empty) directory `dir`; oci-layout last, so a half-made layout is never taken for one. */
async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFileAtomic(join(dir, indexFileName), Buffer.from(JSON.stringify(freshIndex())));
  await writeFileAtomic(join(dir, layoutFileName), Buffer.from(JSON.stringify({ imageLayoutVersion: layoutVersion })));
}

async function checkLayoutFile(dir: string): Promise<void> {
  const file = join(dir, layoutFileName);
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new ClientError(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const version = isObject(doc) ? doc.imageLayoutVersion : undefined;
  if (version !== layoutVersion) {
    throw new ClientError(`${file}: unsupported imageLayoutVersion ${JSON.stringify(version)} (Wharf reads layouts of version ${layoutVersion})`);
  }
}

async function readIndex(dir: string): Promise<LayoutIndex> {
  const file = join(dir, indexFileName);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (errorCode(e) === 'ENOENT') throw new ClientError(`${file} is missing: ${dir} has an oci-layout file but no index, so it is not a usable OCI image layout`);
    throw e;
  }
  return parseIndex(file, text);
}

/**
 * Opens the OCI image layout in `dir`. With `create`, a missing or empty directory becomes a new layout; a
 * directory with other content is never turned into one.
 */
export async function openLayout(dir: string, opts: OpenLayoutOptions = {}): Promise<OciLayoutStore> {
  let isDir: boolean | undefined;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') throw e;
  }
  if (isDir === false) throw new ClientError(`${dir} is not a directory, so not an OCI image layout`);
  if (isDir === undefined) {
    if (!opts.create) throw new ClientError(`${dir} does not exist (expected an OCI image layout directory)`);
    await mkdir(dir, { recursive: true });
    await initLayout(dir);
  } else {
    const present = await readdir(dir);
    if (!present.includes(layoutFileName)) {
      if (present.length > 0) {
        throw new ClientError(`${dir} is not an OCI image layout: it has no ${layoutFileName} file (and is not empty, so Wharf will not create one there)`);
      }
      if (!opts.create) throw new ClientError(`${dir} is an empty directory, not an OCI image layout`);
      await initLayout(dir);
    }
  }
  await checkLayoutFile(dir);
  return new OciLayoutStore(dir, await readIndex(dir), opts.name);
}
