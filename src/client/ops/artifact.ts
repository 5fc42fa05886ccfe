// Artifacts: files stored as the layers of an OCI 1.1 image manifest, the way oras does it (image-spec,
// "Guidelines for Artifact Usage"): `artifactType` set, the empty `{}` config unless one is given, each file a
// layer titled `org.opencontainers.image.title`. Push, pull back to a directory, attach to a subject, and
// list what refers to a manifest.
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isValidTag, MediaType, type Descriptor } from '../../oci/index.js';
import type { ContentSink, ContentSource, ContentStore, PushBlobResult } from '../content.js';
import { ClientError } from '../errors.js';
import type { OnEvent } from './events.js';
import { InvalidTagError } from './tag.js';
import {
  createdNow,
  describeBytes,
  describeManifest,
  emptyDescriptor,
  emptyJsonBytes,
  hashFile,
  InvalidContentError,
  manifestOf,
  parseStored,
  pushBytes,
  pushFile,
} from './build.js';

export const titleAnnotation = 'org.opencontainers.image.title';
export const createdAnnotation = 'org.opencontainers.image.created';
export const defaultFileMediaType = 'application/octet-stream';

/** A file on disk to store as one layer. `title` defaults to its base name, `mediaType` to application/octet-stream. */
export interface ArtifactFile {
  path: string;
  mediaType?: string;
  title?: string;
  /** Extra layer annotations (the title annotation is always set from `title`). */
  annotations?: Record<string, string>;
}

/** Bytes in memory to store as one layer (small content: a signature, an SBOM). `title` is required. */
export interface ArtifactBytes {
  bytes: Uint8Array;
  title: string;
  mediaType?: string;
  annotations?: Record<string, string>;
}

export type ArtifactInput = ArtifactFile | ArtifactBytes;

export interface PushArtifactOptions {
  files: ArtifactInput[];
  /** The artifact's type, a media type (`application/vnd.example.sbom+json`). Required. */
  artifactType: string;
  /** Manifest annotations. `org.opencontainers.image.created` is added (now, UTC) unless given here. */
  annotations?: Record<string, string>;
  /** The manifest this artifact is about (signature, SBOM): makes it a referrer of `subject`. */
  subject?: Descriptor;
  tag?: string;
  /** A config blob instead of the empty descriptor; its media type is `configMediaType` or the input's `mediaType`. */
  config?: ArtifactInput;
  /** Media type of the config. Without `config`, the config is `{}` with this media type (oras before OCI 1.1). */
  configMediaType?: string;
  signal?: AbortSignal;
  /** Progress as copy reports it: blob-start/progress/done (config first, then layers, titled in annotations), manifest-done. */
  onEvent?: OnEvent;
}

export interface PullArtifactOptions {
  /** Replace files that exist in `outDir`. Default false: an existing file is an error and nothing is written. */
  overwrite?: boolean;
  /** Also write layers without a title, named `<algorithm>-<hex>` after their digest. Default false: they are an error. */
  allLayers?: boolean;
  signal?: AbortSignal;
  /** Called after each file is in place. */
  onFile?: (e: { path: string; descriptor: Descriptor }) => void;
}

/** A layer title that cannot be used as a file name (path separators, `..`, absolute, NUL, empty). */
export class UnsafeTitleError extends ClientError {
  readonly title: string;
  constructor(title: string, why: string) {
    super(`unsafe artifact file title ${JSON.stringify(title.length > 200 ? title.slice(0, 200) + '…' : title)}: ${why}`);
    this.title = title;
  }
}

/** pullArtifact would replace a file and `overwrite` was not given. */
export class FileExistsError extends ClientError {
  readonly path: string;
  constructor(path: string) {
    super(`${path} exists; pass overwrite: true to replace it`);
    this.path = path;
  }
}

const mediaTypeGrammar = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function checkMediaType(value: string, what: string): string {
  if (!mediaTypeGrammar.test(value)) throw new ClientError(`${what} ${JSON.stringify(value)} is not a media type (type/subtype)`);
  return value;
}

/** Throws UnsafeTitleError unless `title` is a plain file name that stays inside the output directory. */
export function checkTitle(title: string): string {
  if (title.length === 0) throw new UnsafeTitleError(title, 'empty');
  if (title.includes('\0')) throw new UnsafeTitleError(title, 'contains NUL');
  if (isAbsolute(title) || /^[A-Za-z]:/.test(title)) throw new UnsafeTitleError(title, 'is an absolute path');
  if (title.includes('/') || title.includes('\\')) throw new UnsafeTitleError(title, 'contains a path separator');
  if (title === '.' || title === '..') throw new UnsafeTitleError(title, 'is a directory reference');
  if (Buffer.byteLength(title) > 255) throw new UnsafeTitleError(title, 'longer than 255 bytes');
  return title;
}

function isBytesInput(f: ArtifactInput): f is ArtifactBytes {
  return (f as ArtifactBytes).bytes !== undefined;
}

type BlobPush = (sink: ContentSink, onProgress?: (bytes: number) => void) => Promise<PushBlobResult>;

/** Hashes one input and gives the descriptor and a way to push it. */
async function prepare(input: ArtifactInput, mediaType: string, signal: AbortSignal | undefined): Promise<{ descriptor: Descriptor; push: BlobPush }> {
  if (isBytesInput(input)) {
    const descriptor = describeBytes(input.bytes, mediaType);
    return { descriptor, push: (sink, onProgress) => pushBytes(sink, descriptor, input.bytes, { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) }) };
  }
  const { digest, size } = await hashFile(input.path, signal);
  const descriptor: Descriptor = { mediaType, digest, size };
  return { descriptor, push: (sink, onProgress) => pushFile(sink, descriptor, input.path, { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) }) };
}

/** Pushes one blob, reporting blob-start, blob-progress and blob-done. */
async function pushReported(sink: ContentSink, descriptor: Descriptor, push: BlobPush, onEvent: OnEvent | undefined): Promise<void> {
  onEvent?.({ type: 'blob-start', descriptor });
  const r = await push(sink, onEvent ? (bytes) => onEvent({ type: 'blob-progress', descriptor, bytes }) : undefined);
  onEvent?.({ type: 'blob-done', descriptor, existed: r.existed, mounted: r.mounted });
}

/**
 * Pushes files as an OCI 1.1 artifact and returns the manifest's descriptor. Each file is hashed first by
 * streaming it, then the config, the layers and finally the manifest (a root, tagged `tag`) are pushed.
 */
export async function pushArtifact(sink: ContentSink, opts: PushArtifactOptions): Promise<Descriptor> {
  const { signal } = opts;
  checkMediaType(opts.artifactType, 'artifactType');
  if (opts.tag !== undefined && !isValidTag(opts.tag)) throw new InvalidTagError(opts.tag);
  if (opts.configMediaType !== undefined) checkMediaType(opts.configMediaType, 'configMediaType');
  if (opts.config !== undefined && opts.configMediaType === undefined && opts.config.mediaType === undefined) {
    throw new ClientError('a config needs a media type: give configMediaType');
  }

  const titles = new Set<string>();
  const layerInputs = opts.files.map((f, i) => {
    if (isBytesInput(f) && f.title === undefined) throw new ClientError(`files[${i}]: bytes need a title (the file name they are pulled to)`);
    const title = checkTitle(f.title ?? basename((f as ArtifactFile).path));
    if (titles.has(title)) throw new ClientError(`two files would have the title ${JSON.stringify(title)}`);
    titles.add(title);
    return { input: f, title, mediaType: checkMediaType(f.mediaType ?? defaultFileMediaType, `media type of ${title}`) };
  });

  // The config: given bytes or file, `{}` under a chosen media type, or the empty descriptor.
  const config =
    opts.config !== undefined
      ? await prepare(opts.config, opts.configMediaType ?? opts.config.mediaType!, signal)
      : emptyBlob(opts.configMediaType === undefined ? { ...emptyDescriptor } : describeBytes(emptyJsonBytes, opts.configMediaType), signal);

  const layers: { descriptor: Descriptor; push: BlobPush }[] = [];
  for (const { input, title, mediaType } of layerInputs) {
    signal?.throwIfAborted();
    const prepared = await prepare(input, mediaType, signal);
    prepared.descriptor.annotations = { ...input.annotations, [titleAnnotation]: title };
    layers.push(prepared);
  }
  // The image spec wants at least one layer; an artifact of annotations only carries the empty blob.
  if (layers.length === 0) layers.push(emptyBlob({ ...emptyDescriptor }, signal));

  await pushReported(sink, config.descriptor, config.push, opts.onEvent);
  for (const layer of layers) await pushReported(sink, layer.descriptor, layer.push, opts.onEvent);

  const annotations: Record<string, string> = { ...opts.annotations };
  if (annotations[createdAnnotation] === undefined) annotations[createdAnnotation] = createdNow();
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: opts.artifactType,
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
  };
  if (opts.subject !== undefined) doc.subject = { mediaType: opts.subject.mediaType, digest: opts.subject.digest, size: opts.subject.size };
  doc.annotations = annotations;
  const manifest = manifestOf(doc, MediaType.ociManifest);
  await sink.pushManifest(manifest, { root: true, ...(opts.tag !== undefined ? { tag: opts.tag } : {}), ...(signal ? { signal } : {}) });
  const descriptor: Descriptor = { ...describeManifest(manifest), artifactType: opts.artifactType, annotations };
  opts.onEvent?.({ type: 'manifest-done', descriptor, ...(opts.tag !== undefined ? { tag: opts.tag } : {}) });
  return descriptor;
}

/** `{}` pushed under `descriptor` (the empty descriptor, or `{}` with a chosen config media type). */
function emptyBlob(descriptor: Descriptor, signal: AbortSignal | undefined): { descriptor: Descriptor; push: BlobPush } {
  return { descriptor, push: (sink, onProgress) => pushBytes(sink, descriptor, emptyJsonBytes, { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) }) };
}

/** The file name a layer is written under, or an error saying why it cannot be. */
function layerFileName(layer: Descriptor, allLayers: boolean): string {
  const title = layer.annotations?.[titleAnnotation];
  if (title !== undefined) return checkTitle(title);
  if (!allLayers) throw new InvalidContentError(`layer ${layer.digest} has no ${titleAnnotation} annotation; pass allLayers to write it under its digest`);
  return layer.digest.replace(':', '-');
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Writes the layers of the artifact `reference` to `outDir/<title>` and returns the paths written. Every name is
 * checked before anything is written; each file is downloaded to a temporary name in `outDir`, verified while
 * it streams, and only then moved into place (without replacing an existing file unless `overwrite`).
 */
export async function pullArtifact(source: ContentSource, reference: string, outDir: string, opts: PullArtifactOptions = {}): Promise<{ descriptor: Descriptor; files: string[] }> {
  const { signal } = opts;
  const manifest = await source.resolve(reference, signal ? { signal } : {});
  const parsed = parseStored(manifest, `${source.name}@${manifest.digest}`);
  if (parsed.kind !== 'image') {
    throw new InvalidContentError(`${source.name} ${reference} is an index (${manifest.mediaType}), not an artifact: pull one of its manifests by digest`);
  }
  const names = new Map<string, Descriptor>();
  for (const layer of parsed.layers) {
    const name = layerFileName(layer, opts.allLayers === true);
    const previous = names.get(name);
    if (previous !== undefined && previous.digest !== layer.digest) throw new InvalidContentError(`two layers have the title ${JSON.stringify(name)}`);
    names.set(name, layer);
  }
  await mkdir(outDir, { recursive: true });
  if (!opts.overwrite) {
    for (const name of names.keys()) if (await exists(join(outDir, name))) throw new FileExistsError(join(outDir, name));
  }

  const files: string[] = [];
  for (const [name, layer] of names) {
    signal?.throwIfAborted();
    const target = join(outDir, name);
    const temp = join(outDir, `.wharf-pull-${randomBytes(8).toString('hex')}.partial`);
    try {
      const stream = await source.fetchBlob(layer, signal ? { signal } : {});
      await pipeline(stream, createWriteStream(temp, { flags: 'wx', mode: 0o644 }), signal ? { signal } : {});
      if (opts.overwrite) {
        await rename(temp, target);
      } else {
        // link() refuses an existing name atomically, so a file created meanwhile is never replaced.
        try {
          await link(temp, target);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(target);
          throw e;
        }
        await unlink(temp);
      }
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    files.push(target);
    opts.onFile?.({ path: target, descriptor: layer });
  }
  const descriptor: Descriptor = describeManifest(manifest);
  if (parsed.artifactType !== undefined) descriptor.artifactType = parsed.artifactType;
  if (parsed.annotations !== undefined) descriptor.annotations = parsed.annotations;
  return { descriptor, files };
}

export interface AttachOptions extends Omit<PushArtifactOptions, 'subject'> {}

/** Pushes an artifact whose subject is the manifest `subjectReference` (a tag or digest in `store`). */
export async function attach(store: ContentStore, subjectReference: string, opts: AttachOptions): Promise<Descriptor> {
  const subject = await store.resolve(subjectReference, opts.signal ? { signal: opts.signal } : {});
  return pushArtifact(store, { ...opts, subject: describeManifest(subject) });
}

export interface ListReferrersOptions {
  artifactType?: string;
  signal?: AbortSignal;
}

/** The manifest `reference` names, and the manifests that refer to it (optionally of one artifactType), sorted by digest. */
export async function listReferrers(source: ContentSource, reference: string, opts: ListReferrersOptions = {}): Promise<{ subject: Descriptor; referrers: Descriptor[] }> {
  const signalOpt = opts.signal ? { signal: opts.signal } : {};
  const subject = describeManifest(await source.resolve(reference, signalOpt));
  const found = await source.referrers(subject.digest, { ...signalOpt, ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}) });
  const referrers = found
    .filter((d) => opts.artifactType === undefined || d.artifactType === opts.artifactType)
    .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { subject, referrers };
}
