// Image indexes built from manifests already in a store: create one (each child's platform read from its
// config), add manifests to one (replacing the child of the same platform), remove children by digest or
// platform (matched as platform.ts does: `linux/arm64` is `linux/arm64/v8`). Every change pushes a new index and moves the tag; the children are never touched.
import { isDigest, isValidTag, MediaType, type Descriptor, type Platform } from '../../oci/index.js';
import type { ContentStore, ManifestBytes } from '../content.js';
import { ClientError } from '../errors.js';
import { InvalidTagError } from './tag.js';
import { formatPlatform, matchesPlatform, normalizePlatform, parsePlatform, type PlatformSpec } from './platform.js';
import { describeManifest, InvalidContentError, manifestDocument, manifestOf, parseStored, platformOfConfig, readImageConfig } from './build.js';

/** A platform as `os/arch[/variant]` (`linux/arm64/v8`) or as fields; a spec without a variant matches any variant. */
export type PlatformLike = string | PlatformSpec;

export class NothingMatchedError extends ClientError {}

/** Two children of one index would be the same manifest, or claim the same platform. */
export class DuplicateManifestError extends ClientError {}

export interface CreateIndexOptions {
  /** The tag the new index is pushed under. */
  tag: string;
  /** References (tags or digests) of manifests in the same store. */
  manifests: string[];
  annotations?: Record<string, string>;
  signal?: AbortSignal;
}

export interface AddToIndexOptions {
  /** Push the new index under this tag. Default: `indexReference` when it is a tag. */
  tag?: string;
  /** Keep a child with the same platform as an added one (default: it is replaced). */
  keepExisting?: boolean;
  signal?: AbortSignal;
}

export interface RemoveFromIndexOptions {
  digests?: string[];
  platforms?: PlatformLike[];
  /** Push the new index under this tag. Default: `indexReference` when it is a tag. */
  tag?: string;
  /** Allow removing every child (the result is an empty index). Default false. */
  allowEmpty?: boolean;
  signal?: AbortSignal;
}

/** A platform spec from what the user gave (`linux/arm64` or fields). */
export function toPlatformSpec(p: PlatformLike): PlatformSpec {
  if (typeof p === 'string') return parsePlatform(p);
  if (typeof p.os !== 'string' || typeof p.architecture !== 'string' || p.os === '' || p.architecture === '') {
    throw new ClientError(`invalid platform ${JSON.stringify(p)}: os and architecture are required`);
  }
  return p;
}

/** Whether a child's platform is what `wanted` asks for (containerd's normalisation, see platform.ts). */
export function platformMatches(platform: Platform | undefined, wanted: PlatformLike): boolean {
  return platform !== undefined && matchesPlatform(platform, toPlatformSpec(wanted));
}

/** Two children are for the same platform when os, architecture and variant (normalised) and os.version are equal. */
function samePlatform(a: Platform | undefined, b: Platform | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && x.variant === y.variant && (a['os.version'] ?? '') === (b['os.version'] ?? '');
}

/** `os/arch[/variant]` with os.version, or `no platform`. */
export function describePlatform(p: Platform | undefined): string {
  if (p === undefined) return 'no platform';
  return formatPlatform(p) + (p['os.version'] ? ` (${p['os.version']})` : '');
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/**
 * The descriptor an index holds for a manifest: media type, digest, size, and the platform its config
 * declares (an image), or its artifactType (an artifact). Indexes are allowed as children, without a platform.
 */
async function childDescriptor(store: ContentStore, manifest: ManifestBytes, signal: AbortSignal | undefined): Promise<Descriptor> {
  const parsed = parseStored(manifest, `${store.name}@${manifest.digest}`);
  const d = describeManifest(manifest);
  if (parsed.kind === 'image') {
    const config = await readImageConfig(store, parsed, signal);
    const platform = config === undefined ? undefined : platformOfConfig(config);
    if (platform !== undefined) d.platform = platform;
    else if (parsed.artifactType !== undefined && parsed.artifactType !== MediaType.ociConfig && parsed.artifactType !== MediaType.dockerConfig) d.artifactType = parsed.artifactType;
  }
  return d;
}

/** OCI index, unless every child is a Docker schema2 manifest and there are no annotations: then a Docker manifest list. */
function indexMediaType(children: Descriptor[], annotations: Record<string, string> | undefined): string {
  const allDocker = children.length > 0 && children.every((c) => c.mediaType === MediaType.dockerManifest);
  return allDocker && annotations === undefined ? MediaType.dockerManifestList : MediaType.ociIndex;
}

/** Refuses two children with the same digest, or (both having one) the same platform. */
function checkDistinct(children: Descriptor[]): void {
  for (let i = 0; i < children.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = children[j]!;
      const b = children[i]!;
      if (a.digest === b.digest) throw new DuplicateManifestError(`${b.digest} is in the index twice`);
      if (samePlatform(a.platform, b.platform)) {
        throw new DuplicateManifestError(`${a.digest} and ${b.digest} are both for ${describePlatform(a.platform)}`);
      }
    }
  }
}

function checkTagName(tag: string): void {
  if (!isValidTag(tag)) throw new InvalidTagError(tag);
}

/** Creates an index of manifests already in `store` and pushes it under `opts.tag`. */
export async function createIndex(store: ContentStore, opts: CreateIndexOptions): Promise<Descriptor> {
  checkTagName(opts.tag);
  if (opts.manifests.length === 0) throw new ClientError('an index needs at least one manifest');
  const children: Descriptor[] = [];
  for (const ref of opts.manifests) {
    const manifest = await store.resolve(ref, signalOf(opts.signal));
    children.push(await childDescriptor(store, manifest, opts.signal));
  }
  checkDistinct(children);
  const mediaType = indexMediaType(children, opts.annotations);
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType, manifests: children };
  if (opts.annotations !== undefined) doc.annotations = opts.annotations;
  return pushIndex(store, doc, mediaType, opts.tag, opts.signal);
}

async function pushIndex(store: ContentStore, doc: Record<string, unknown>, mediaType: string, tag: string | undefined, signal: AbortSignal | undefined): Promise<Descriptor> {
  const manifest = manifestOf(doc, mediaType);
  await store.pushManifest(manifest, { root: true, ...(tag !== undefined ? { tag } : {}), ...signalOf(signal) });
  return describeManifest(manifest);
}

/** The index `reference` names, its document and children; an image manifest is an error. */
async function loadIndex(store: ContentStore, reference: string, signal: AbortSignal | undefined) {
  const manifest = await store.resolve(reference, signalOf(signal));
  const parsed = parseStored(manifest, `${store.name}@${manifest.digest}`);
  if (parsed.kind !== 'index') throw new InvalidContentError(`${store.name} ${reference} is an image manifest (${manifest.mediaType}), not an index`);
  const doc = manifestDocument(manifest, `${store.name}@${manifest.digest}`);
  // The entries exactly as written (fields this library does not know survive), parallel to the parsed ones.
  const raw = doc.manifests as unknown[];
  return { manifest, doc, children: parsed.children.map((parsedChild, i) => ({ parsed: parsedChild, raw: raw[i] })) };
}

function targetTag(indexReference: string, tag: string | undefined): string | undefined {
  if (tag !== undefined) {
    checkTagName(tag);
    return tag;
  }
  return isDigest(indexReference) ? undefined : indexReference;
}

/**
 * Adds manifests (tags or digests in `store`) to the index `indexReference` and pushes the result under the tag.
 * A child with the same platform as an added manifest is replaced unless `keepExisting`; a manifest already
 * in the index stays where it is. A Docker manifest list that gains a non-Docker child becomes an OCI index.
 */
export async function addToIndex(store: ContentStore, indexReference: string, manifestReferences: string[], opts: AddToIndexOptions = {}): Promise<Descriptor> {
  const tag = targetTag(indexReference, opts.tag);
  if (manifestReferences.length === 0) throw new ClientError('nothing to add: give at least one manifest');
  const { doc, children } = await loadIndex(store, indexReference, opts.signal);
  const added: Descriptor[] = [];
  for (const ref of manifestReferences) {
    const manifest = await store.resolve(ref, signalOf(opts.signal));
    added.push(await childDescriptor(store, manifest, opts.signal));
  }
  checkDistinct(added);
  let result = [...children];
  for (const d of added) {
    if (result.some((c) => c.parsed.digest === d.digest)) continue;
    if (!opts.keepExisting) result = result.filter((c) => !samePlatform(c.parsed.platform, d.platform));
    result.push({ parsed: d, raw: d });
  }
  let mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : MediaType.ociIndex;
  if (mediaType === MediaType.dockerManifestList && result.some((c) => c.parsed.mediaType !== MediaType.dockerManifest)) mediaType = MediaType.ociIndex;
  const next = { ...doc, mediaType, manifests: result.map((c) => c.raw) };
  return pushIndex(store, next, mediaType, tag, opts.signal);
}

/**
 * Removes the children of `indexReference` that have one of `digests` or match one of `platforms`, and pushes
 * the result under the tag. Every digest and platform given must match a child (NothingMatchedError otherwise).
 */
export async function removeFromIndex(store: ContentStore, indexReference: string, opts: RemoveFromIndexOptions): Promise<Descriptor> {
  const tag = targetTag(indexReference, opts.tag);
  const digests = opts.digests ?? [];
  const platforms = opts.platforms ?? [];
  if (digests.length === 0 && platforms.length === 0) throw new ClientError('nothing to remove: give digests or platforms');
  for (const d of digests) if (!isDigest(d)) throw new ClientError(`invalid digest ${JSON.stringify(d)}`);
  platforms.forEach(toPlatformSpec);
  const { doc, children } = await loadIndex(store, indexReference, opts.signal);
  const held = children.map((c) => c.parsed);
  const unmatched = [
    ...digests.filter((d) => !held.some((c) => c.digest === d)),
    ...platforms.filter((p) => !held.some((c) => platformMatches(c.platform, p))).map((p) => (typeof p === 'string' ? p : formatPlatform(p))),
  ];
  if (unmatched.length > 0) {
    throw new NothingMatchedError(`${store.name} ${indexReference} has no child matching ${unmatched.join(', ')} (it holds ${held.map((c) => `${c.digest} ${describePlatform(c.platform)}`).join('; ') || 'nothing'})`);
  }
  const kept = children.filter((c) => !digests.includes(c.parsed.digest) && !platforms.some((p) => platformMatches(c.parsed.platform, p)));
  if (kept.length === 0 && !opts.allowEmpty) {
    throw new ClientError(`removing these would leave ${indexReference} empty; pass allowEmpty, or delete the index instead`);
  }
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : MediaType.ociIndex;
  return pushIndex(store, { ...doc, manifests: kept.map((c) => c.raw) }, mediaType, tag, opts.signal);
}
