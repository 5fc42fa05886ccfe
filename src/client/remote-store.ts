// A repository of a registry seen as a ContentStore, over RegistryClient: manifests by tag or digest, verified
// resumable blob downloads, blob pushes that skip what is there, mount across repositories of the same
// registry and resume interrupted uploads, and referrers through the OCI 1.1 API or the tag schema (for
// reading and, on registries without the API, for writing).
import type { Readable } from 'node:stream';
import { isDigest, MediaType, parseManifest, type Descriptor } from '../oci/index.js';
import type {
  ContentKind,
  ContentOptions,
  ContentStore,
  ManifestBytes,
  PushBlobOptions,
  PushBlobResult,
  PushManifestOptions,
  ReferrersFilter,
} from './content.js';
import { ClientError, NotFoundError } from './errors.js';
import { referrersTag, type RegistryClient } from './registry-client.js';
import { checkBytes } from './verify.js';

export interface RegistryStoreOptions {
  /** Blobs at least this big are uploaded in PATCH chunks, so a broken upload resumes where the registry stopped. Default 32 MiB. */
  chunkThreshold?: number;
  /** Size of those chunks (each is held in memory while it is sent). Default 16 MiB. */
  chunkSize?: number;
}

/** `host[:port]` of a registry given as `host`, `http://host` or `https://host/`. */
export function registryHost(registry: string): string {
  return registry.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '').toLowerCase();
}

export class RegistryStore implements ContentStore {
  readonly kind: ContentKind = 'registry';
  readonly name: string;
  readonly registry: string;
  readonly repository: string;
  private readonly chunkThreshold: number;
  private readonly chunkSize: number;

  constructor(
    readonly client: RegistryClient,
    repository: string,
    options: RegistryStoreOptions = {},
  ) {
    this.registry = registryHost(client.registry);
    this.repository = repository;
    this.name = `${this.registry}/${repository}`;
    this.chunkThreshold = options.chunkThreshold ?? 32 * 1024 * 1024;
    this.chunkSize = options.chunkSize ?? 16 * 1024 * 1024;
    if (!Number.isSafeInteger(this.chunkSize) || this.chunkSize <= 0) throw new ClientError(`invalid chunkSize ${this.chunkSize}`);
  }

  /** A clearer NotFoundError for a missing manifest, naming the store and reference. */
  private notFound(e: unknown, what: string): unknown {
    if (!(e instanceof NotFoundError)) return e;
    return new NotFoundError({
      status: e.status,
      method: e.method,
      url: e.url,
      errors: e.errors,
      headers: e.headers,
      message: `${this.name}: ${what} not found (${e.code ?? `HTTP ${e.status}`})`,
    });
  }

  async resolve(reference: string, opts: ContentOptions = {}): Promise<ManifestBytes> {
    try {
      const m = await this.client.getManifest(this.repository, reference, { signal: opts.signal });
      return { digest: m.digest, mediaType: m.mediaType, bytes: m.bytes };
    } catch (e) {
      throw this.notFound(e, isDigest(reference) ? `manifest ${reference}` : `tag ${reference}`);
    }
  }

  async fetchManifest(descriptor: Descriptor, opts: ContentOptions = {}): Promise<ManifestBytes> {
    const m = await this.resolve(descriptor.digest, opts);
    checkBytes(m.bytes, descriptor);
    return m;
  }

  async fetchBlob(descriptor: Descriptor, opts: ContentOptions = {}): Promise<Readable> {
    try {
      return await this.client.getBlob(this.repository, descriptor.digest, { signal: opts.signal });
    } catch (e) {
      throw this.notFound(e, `blob ${descriptor.digest}`);
    }
  }

  /**
   * The blob's bytes from `offset` on, for resuming an upload elsewhere. Not digest-checked here (a range
   * cannot be): the sink checks the whole blob's digest when the upload completes.
   */
  async fetchBlobFrom(descriptor: Descriptor, offset: number, opts: ContentOptions = {}): Promise<Readable> {
    if (offset === 0) return this.fetchBlob(descriptor, opts);
    return this.client.getBlob(this.repository, descriptor.digest, { signal: opts.signal, range: { start: offset } });
  }

  async referrers(digest: string, opts: ReferrersFilter = {}): Promise<Descriptor[]> {
    const r = await this.client.referrers(this.repository, digest, {
      signal: opts.signal,
      ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
    });
    return r.manifests;
  }

  async tags(opts: ContentOptions = {}): Promise<string[]> {
    const tags = await this.client.listTags(this.repository, { signal: opts.signal }).collect();
    return tags.sort();
  }

  async hasBlob(descriptor: Descriptor, opts: ContentOptions = {}): Promise<boolean> {
    return (await this.client.headBlob(this.repository, descriptor.digest, { signal: opts.signal })) !== undefined;
  }

  async pushBlob(descriptor: Descriptor, open: (offset: number) => Promise<Readable>, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
    const mountFrom = (opts.mountFrom ?? []).filter((r) => r !== this.repository);
    const chunked = descriptor.size >= this.chunkThreshold;
    const r = await this.client.uploadBlob(
      this.repository,
      { size: descriptor.size, open },
      {
        digest: descriptor.digest,
        size: descriptor.size,
        checkExists: true,
        ...(mountFrom.length ? { mountFrom } : {}),
        ...(chunked ? { chunkSize: this.chunkSize } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
    );
    return { existed: r.existed, mounted: r.mounted };
  }

  async hasManifest(descriptor: Descriptor, opts: ContentOptions = {}): Promise<boolean> {
    return (await this.client.headManifest(this.repository, descriptor.digest, { signal: opts.signal })) !== undefined;
  }

  async pushManifest(manifest: ManifestBytes, opts: PushManifestOptions): Promise<void> {
    checkBytes(manifest.bytes, { digest: manifest.digest, size: manifest.bytes.length });
    const result = await this.client.putManifest(this.repository, opts.tag ?? manifest.digest, manifest.bytes, {
      mediaType: manifest.mediaType,
      signal: opts.signal,
    });
    if (result.digest !== manifest.digest) {
      throw new ClientError(`${this.name}: the registry stored the manifest as ${result.digest}, expected ${manifest.digest}`);
    }
    // A registry without the referrers API (no OCI-Subject answer) learns about the subject through the
    // referrers tag schema, which the pushing client keeps up to date.
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    if (parsed.subject && result.subject === undefined) await this.addToReferrersTag(parsed.subject.digest, manifest, parsed, opts.signal);
  }

  /** Adds `manifest` to the index tagged `sha256-<hex of subject>` (created when absent). */
  private async addToReferrersTag(
    subject: string,
    manifest: ManifestBytes,
    parsed: ReturnType<typeof parseManifest>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const tag = referrersTag(subject);
    let doc: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] } = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    try {
      const current = await this.client.getManifest(this.repository, tag, { signal, accept: [MediaType.ociIndex] });
      const existing = JSON.parse(current.bytes.toString('utf8')) as { manifests?: unknown };
      if (Array.isArray(existing.manifests)) doc = { ...doc, ...(existing as object), manifests: existing.manifests as Descriptor[] };
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    if (doc.manifests.some((d) => d.digest === manifest.digest)) return;
    const entry: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    if (parsed.artifactType !== undefined) entry.artifactType = parsed.artifactType;
    if (parsed.annotations !== undefined) entry.annotations = parsed.annotations;
    doc.manifests = [...doc.manifests, entry];
    await this.client.putManifest(this.repository, tag, JSON.stringify(doc), { mediaType: MediaType.ociIndex, signal });
  }

  /** Nothing to flush; the client belongs to the caller (close it there). */
  async close(): Promise<void> {}
}
