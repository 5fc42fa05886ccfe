// A ContentStore held in memory: for tests, for building artifacts and indexes before pushing, and as
// the reference behaviour of the ContentSource/ContentSink contract. Blobs are buffered whole, so it is
// for small content only.
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { isDigest, isValidTag, parseManifest, type Descriptor } from '../oci/index.js';
import type { ContentKind, ContentOptions, ContentStore, ManifestBytes, PushBlobOptions, PushBlobResult, PushManifestOptions, ReferrersFilter } from './content.js';
import { ClientError, ContentNotFoundError } from './errors.js';
import { checkBytes } from './verify.js';

export class MemoryStore implements ContentStore {
  readonly kind: ContentKind = 'memory';
  readonly name: string;
  private readonly blobs = new Map<string, Buffer>();
  private readonly manifests = new Map<string, ManifestBytes>();
  private readonly tagMap = new Map<string, string>();

  constructor(name = 'memory') {
    this.name = name;
  }

  async resolve(reference: string, opts: ContentOptions = {}): Promise<ManifestBytes> {
    opts.signal?.throwIfAborted();
    const digest = isDigest(reference) ? reference : this.tagMap.get(reference);
    const found = digest === undefined ? undefined : this.manifests.get(digest);
    if (!found) throw new ContentNotFoundError('MANIFEST_UNKNOWN', `${this.name}: no manifest ${reference}`);
    return { ...found, bytes: Buffer.from(found.bytes) };
  }

  async fetchManifest(descriptor: Descriptor, opts: ContentOptions = {}): Promise<ManifestBytes> {
    const found = await this.resolve(descriptor.digest, opts);
    checkBytes(found.bytes, descriptor);
    return found;
  }

  async fetchBlob(descriptor: Descriptor, opts: ContentOptions = {}): Promise<Readable> {
    opts.signal?.throwIfAborted();
    const bytes = this.blobs.get(descriptor.digest) ?? this.manifests.get(descriptor.digest)?.bytes;
    if (!bytes) throw new ContentNotFoundError('BLOB_UNKNOWN', `${this.name}: no blob ${descriptor.digest}`);
    checkBytes(bytes, descriptor, 'blob');
    return Readable.from([Buffer.from(bytes)]);
  }

  async referrers(digest: string, opts: ReferrersFilter = {}): Promise<Descriptor[]> {
    opts.signal?.throwIfAborted();
    const out: Descriptor[] = [];
    for (const m of this.manifests.values()) {
      const parsed = parseManifest(m.bytes, m.mediaType);
      if (parsed.subject?.digest !== digest) continue;
      if (opts.artifactType !== undefined && parsed.artifactType !== opts.artifactType) continue;
      const d: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
      if (parsed.artifactType !== undefined) d.artifactType = parsed.artifactType;
      if (parsed.annotations !== undefined) d.annotations = parsed.annotations;
      out.push(d);
    }
    return out.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }

  async tags(opts: ContentOptions = {}): Promise<string[]> {
    opts.signal?.throwIfAborted();
    return [...this.tagMap.keys()].sort();
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.blobs.has(descriptor.digest);
  }

  async pushBlob(descriptor: Descriptor, open: (offset: number) => Promise<Readable>, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
    opts.signal?.throwIfAborted();
    if (this.blobs.has(descriptor.digest)) return { existed: true, mounted: false };
    const bytes = await buffer(await open(0));
    checkBytes(bytes, descriptor, 'blob');
    this.blobs.set(descriptor.digest, bytes);
    opts.onProgress?.(bytes.length);
    return { existed: false, mounted: false };
  }

  async hasManifest(descriptor: Descriptor): Promise<boolean> {
    return this.manifests.has(descriptor.digest);
  }

  async pushManifest(manifest: ManifestBytes, opts: PushManifestOptions): Promise<void> {
    opts.signal?.throwIfAborted();
    checkBytes(manifest.bytes, { digest: manifest.digest, size: manifest.bytes.length });
    if (opts.tag !== undefined && !isValidTag(opts.tag)) throw new ClientError(`${this.name}: invalid tag ${JSON.stringify(opts.tag)}`);
    this.manifests.set(manifest.digest, { ...manifest, bytes: Buffer.from(manifest.bytes) });
    if (opts.tag !== undefined) this.tagMap.set(opts.tag, manifest.digest);
  }

  async close(): Promise<void> {}

  /** Removes a tag (the manifest stays). */
  untag(tag: string): boolean {
    return this.tagMap.delete(tag);
  }
}
