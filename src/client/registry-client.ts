// RegistryClient: one method per endpoint of the OCI Distribution API (plus Docker's catalog), over the
// Transport (auth, retries, TLS, redirects). Blobs stream in both directions and are digest-checked;
// only manifests (at most 4 MiB) and single upload chunks are ever held in memory.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { isDigest, isValidName, isValidTag, MediaType, type Descriptor } from '../oci/index.js';
import { catalogScope, repositoryScope } from './auth.js';
import { downloadStream, parseContentRange, type BlobStream, type OpenedBlob } from './download.js';
import { ClientError, DigestMismatchError, NotFoundError, ProtocolError, RegistryClientError, SizeMismatchError, redactUrl } from './errors.js';
import { isRetryableError, isRetryableStatus, responseError, sleep, Transport, type TransportOptions, type TransportResponse } from './transport.js';

/** Every manifest type a registry may answer with, for `Accept`. */
export const manifestAcceptTypes: readonly string[] = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
  'application/vnd.oci.artifact.manifest.v1+json',
  MediaType.dockerSchema1Signed,
  MediaType.dockerSchema1,
];

/** Distribution's and the spec's usual limit on a manifest. */
export const defaultMaxManifestBytes = 4 * 1024 * 1024;

export interface CallOptions {
  signal?: AbortSignal;
}

export interface RegistryClientOptions extends TransportOptions {
  /** Share one transport (connections, tokens, concurrency bound) between clients. Its own options then apply. */
  transport?: Transport;
  /** Upper bound on manifests read. Default 4 MiB. */
  maxManifestBytes?: number;
}

export interface BlobInfo {
  digest: string;
  /** Content-Length of the HEAD answer (undefined if the registry sent none). */
  size: number | undefined;
}

export interface GetBlobOptions extends CallOptions {
  /** Bytes `start` to `end` (inclusive); `end` omitted means to the end. A range is not digest-checked. */
  range?: { start: number; end?: number };
  /** Check the digest at the end of the stream. Default: true for whole blobs; impossible for ranges. */
  verify?: boolean;
  /** Times a broken download is resumed with Range. Default 5. */
  maxResumes?: number;
}

/** Something to upload: bytes, a file, a re-openable source (which allows resuming anywhere), or a one-shot stream. */
export type BlobSource =
  | Uint8Array
  | { path: string }
  | { size?: number; open(offset: number): Readable | Promise<Readable> }
  | Readable;

export interface UploadOptions extends CallOptions {
  /** The blob's digest. Computed when absent (a first pass over re-openable sources; while sending for streams). */
  digest?: string;
  /** The blob's size, when the source cannot tell. */
  size?: number;
  /** Try a cross-repository mount from these repositories first. */
  mountFrom?: string | string[];
  /** Upload in PATCH chunks of this many bytes (each chunk is held in memory). Default: one request. */
  chunkSize?: number;
  /** HEAD the blob first and skip the upload when it is there. Default true. */
  checkExists?: boolean;
  /** Resumptions after failures (chunk resends, session restarts). Default 5. */
  maxResumes?: number;
  /** Called with the number of bytes the registry has acknowledged. */
  onProgress?: (bytes: number) => void;
}

export interface UploadResult {
  digest: string;
  size: number | undefined;
  /** Where the blob is now (absolute URL). */
  location: string | undefined;
  /** The blob was already in the repository (HEAD said so). */
  existed: boolean;
  /** Linked by a cross-repository mount; no bytes sent. */
  mounted: boolean;
  /** Failures recovered from during the upload. */
  resumes: number;
}

export interface UploadSession {
  repository: string;
  /** Absolute URL of the session; changes with every answer on some registries (Distribution's `_state`). */
  location: string;
  uuid: string | undefined;
  /** Bytes the registry holds, as far as the client knows. */
  offset: number;
}

export interface ManifestResult {
  bytes: Buffer;
  mediaType: string;
  digest: string;
  size: number;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string | undefined;
  size: number | undefined;
}

export interface GetManifestOptions extends CallOptions {
  /** Media types to accept. Default: every manifest type (manifestAcceptTypes). */
  accept?: readonly string[];
}

export interface PutManifestOptions extends CallOptions {
  /** Default: the document's `mediaType`, else inferred (`manifests` → OCI index, else OCI manifest). */
  mediaType?: string;
  /** More tags for the same manifest: `?tag=` when the registry supports it, else one PUT per tag. */
  tags?: string[];
}

export interface PutManifestResult {
  digest: string;
  location: string | undefined;
  /** Every tag now pointing at the manifest (the reference if it was a tag, then `tags`). */
  tags: string[];
  /** The `OCI-Subject` header: the registry recorded the manifest's subject for the referrers API. */
  subject: string | undefined;
}

export interface ListOptions extends CallOptions {
  /** `n`: entries per page to ask for. */
  pageSize?: number;
  /** Start after this entry. */
  last?: string;
}

export interface ReferrersOptions extends CallOptions {
  artifactType?: string;
}

export interface ReferrersResult {
  manifests: Descriptor[];
  /** `api` (GET /referrers) or `tag-schema` (the `sha256-<hex>` tag, for registries without the API). */
  source: 'api' | 'tag-schema';
  /** Whether the registry applied the artifactType filter itself (otherwise the client did). */
  filteredByRegistry: boolean;
}

/** Pages of a listing that follows `Link: <…>; rel="next"`. Iterate entries with `for await`, or `collect()`. */
export class Paged<T> implements AsyncIterable<T> {
  constructor(private readonly fetchPage: (url: string) => Promise<{ items: T[]; next: string | undefined }>, private readonly firstUrl: () => Promise<string>) {}

  async *pages(): AsyncGenerator<T[]> {
    let url: string | undefined = await this.firstUrl();
    const seen = new Set<string>();
    while (url !== undefined) {
      if (seen.has(url)) throw new ProtocolError(`pagination loops back to ${redactUrl(url)}`);
      seen.add(url);
      const page: { items: T[]; next: string | undefined } = await this.fetchPage(url);
      yield page.items;
      url = page.next;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) yield* page;
  }

  /** Every entry of every page (or the first `limit`). */
  async collect(limit = Infinity): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.pages()) {
      for (const item of page) {
        if (out.length >= limit) return out;
        out.push(item);
      }
      if (out.length >= limit) return out;
    }
    return out;
  }
}

/** The `rel="next"` target of a Link header, resolved against the URL that answered. */
export function nextLink(link: string | string[] | undefined, base: string): string | undefined {
  for (const value of typeof link === 'string' ? [link] : (link ?? [])) {
    const re = /<([^>]*)>\s*((?:;\s*[^;,]+)*)/g;
    for (let m = re.exec(value); m; m = re.exec(value)) {
      if (/;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(m[2] ?? '')) return new URL(m[1]!, base).href;
    }
  }
  return undefined;
}

/** The tag under which the referrers tag schema keeps the referrers of a digest: `<alg>-<hex, at most 64 chars>`. */
export function referrersTag(digest: string): string {
  const i = digest.indexOf(':');
  return `${digest.slice(0, i)}-${digest.slice(i + 1, i + 1 + 64)}`;
}

function checkRepository(repository: string): void {
  if (!isValidName(repository)) throw new ClientError(`invalid repository name ${JSON.stringify(repository)}`);
}

function checkDigest(digest: string): void {
  if (!isDigest(digest)) throw new ClientError(`invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex> or sha512:<128 hex>`);
}

function checkReference(reference: string): void {
  if (reference.includes(':') ? !isDigest(reference) : !isValidTag(reference)) {
    throw new ClientError(`invalid manifest reference ${JSON.stringify(reference)}: a tag or a digest`);
  }
}

function digestWith(algorithm: string, data: Uint8Array): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

function algorithmOf(digest: string): string {
  return digest.slice(0, digest.indexOf(':'));
}

/** `Range: 0-<last>` of an upload session → bytes held. `0-0` is ambiguous (0 or 1 byte): `previous` decides. */
export function parseUploadRange(value: string | undefined, previous: number): number | undefined {
  const m = value ? /^\s*(?:bytes[ =])?(\d+)-(\d+)\s*$/i.exec(value) : null;
  if (!m) return undefined;
  const end = Number(m[2]);
  if (end === 0 && Number(m[1]) === 0) return previous >= 1 ? 1 : 0;
  return end + 1;
}

function mediaTypeOf(bytes: Uint8Array): string {
  try {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    if (typeof doc.mediaType === 'string') return doc.mediaType;
    if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
  } catch {
    /* not JSON: the registry will say so */
  }
  return MediaType.ociManifest;
}

/** A source normalized for uploading. */
interface Source {
  size: number | undefined;
  /** Undefined for one-shot streams. */
  open: ((offset: number) => Promise<Readable>) | undefined;
  bytes: Buffer | undefined;
  stream: Readable | undefined;
}

function normalizeSource(source: BlobSource, size: number | undefined): Source {
  if (source instanceof Uint8Array) {
    const bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return { size: bytes.length, bytes, stream: undefined, open: async (offset) => Readable.from([bytes.subarray(offset)]) };
  }
  if (source instanceof Readable) return { size, open: undefined, bytes: undefined, stream: source };
  if ('path' in source) {
    const path = source.path;
    return { size: size ?? statSync(path).size, bytes: undefined, stream: undefined, open: async (offset) => createReadStream(path, { start: offset }) };
  }
  const s = source;
  return { size: size ?? s.size, bytes: undefined, stream: undefined, open: async (offset) => s.open(offset) };
}

/** Reads a stream in pieces of exactly `size` bytes (the last may be shorter); undefined at the end. */
class ChunkReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(readonly stream: Readable) {
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async next(size: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = this.pending.length ? [this.pending] : [];
    let have = this.pending.length;
    while (have < size && !this.done) {
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      parts.push(b);
      have += b.length;
    }
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (all.length === 0) return undefined;
    this.pending = all.subarray(Math.min(size, all.length));
    return all.subarray(0, Math.min(size, all.length));
  }

  close(): void {
    this.stream.destroy();
  }
}

export class RegistryClient {
  /** The registry as given (`localhost:5000`, `docker.io`, `https://r.example.com`). */
  readonly registry: string;
  readonly transport: Transport;
  private readonly ownsTransport: boolean;
  private readonly maxManifestBytes: number;
  /** Whether POST ?digest= (single-request upload) works here; learned on the first try. */
  private monolithicPost: boolean | undefined;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry.replace(/\/+$/, '');
    this.ownsTransport = !options.transport;
    this.transport = options.transport ?? new Transport(options);
    this.maxManifestBytes = options.maxManifestBytes ?? defaultMaxManifestBytes;
  }

  /** `scheme://host[:port]` of the registry's API. */
  baseUrl(signal?: AbortSignal): Promise<string> {
    return this.transport.registryUrl(this.registry, signal);
  }

  private async url(path: string, signal: AbortSignal | undefined, query?: Record<string, string | string[] | undefined>): Promise<string> {
    const u = new URL((await this.baseUrl(signal)) + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      for (const one of typeof v === 'string' ? [v] : v) u.searchParams.append(k, one);
    }
    return u.href;
  }

  private backoff(attempt: number): number {
    const base = this.transport.options.retryBaseDelayMs ?? 200;
    const d = Math.min(this.transport.options.retryMaxDelayMs ?? 10_000, base * 2 ** attempt);
    return d / 2 + Math.random() * (d / 2);
  }

  /** GET /v2/: checks that the registry speaks the API and that the credentials (if any) are accepted. */
  async ping(opts: CallOptions = {}): Promise<{ apiVersion: string | undefined }> {
    const url = await this.url('/v2/', opts.signal);
    const res = await this.transport.request('GET', url, { signal: opts.signal });
    if (res.status !== 200) throw await responseError(res, 'GET');
    await res.dump();
    return { apiVersion: res.header('docker-distribution-api-version') };
  }

  // ---------------------------------------------------------------- blobs

  /** HEAD a blob: its size, or undefined when the repository does not hold it. */
  async headBlob(repository: string, digest: string, opts: CallOptions = {}): Promise<BlobInfo | undefined> {
    checkRepository(repository);
    checkDigest(digest);
    const url = await this.url(`/v2/${repository}/blobs/${digest}`, opts.signal);
    const res = await this.transport.request('HEAD', url, { signal: opts.signal, scope: repositoryScope(repository, 'pull') });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await responseError(res, 'HEAD');
    const length = res.header('content-length');
    return { digest, size: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined };
  }

  private async openBlob(url: string, repository: string, digest: string, start: number, end: number | undefined, signal: AbortSignal): Promise<OpenedBlob> {
    const headers: Record<string, string> = {};
    if (start > 0 || end !== undefined) headers.range = `bytes=${start}-${end ?? ''}`;
    const res = await this.transport.request('GET', url, { signal, headers, scope: repositoryScope(repository, 'pull') });
    if (res.status === 200) {
      const length = res.header('content-length');
      return { res, skip: start, size: length !== undefined ? Number(length) : undefined };
    }
    if (res.status === 206) {
      const cr = parseContentRange(res.header('content-range'));
      if (!cr || cr.start !== start) {
        res.body.destroy();
        throw new ProtocolError(`GET ${redactUrl(url)} with Range bytes=${start}-: unusable Content-Range ${JSON.stringify(res.header('content-range'))}`);
      }
      return { res, skip: 0, size: cr.total };
    }
    throw await responseError(res, 'GET', undefined);
  }

  /**
   * GET a blob as a stream. A whole-blob download is digest-checked while it streams (DigestMismatchError at
   * the end of the stream) and resumed with Range when the connection breaks. Follows storage redirects.
   */
  async getBlob(repository: string, digest: string, opts: GetBlobOptions = {}): Promise<BlobStream> {
    checkRepository(repository);
    checkDigest(digest);
    const start = opts.range?.start ?? 0;
    const end = opts.range?.end;
    if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
      throw new ClientError(`invalid range ${start}-${end ?? ''}`);
    }
    const whole = start === 0 && end === undefined;
    if (opts.verify && !whole) throw new ClientError('a byte range cannot be digest-checked');
    const controller = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
    const url = await this.url(`/v2/${repository}/blobs/${digest}`, signal);
    const first = await this.openBlob(url, repository, digest, start, end, signal);
    return downloadStream({
      digest,
      start,
      end,
      verify: opts.verify ?? whole,
      first,
      reopen: (offset) => this.openBlob(url, repository, digest, offset, end, signal),
      maxResumes: opts.maxResumes ?? 5,
      controller,
      userSignal: opts.signal,
      backoff: (n) => this.backoff(n),
    });
  }

  /** DELETE a blob from a repository. */
  async deleteBlob(repository: string, digest: string, opts: CallOptions = {}): Promise<void> {
    checkRepository(repository);
    checkDigest(digest);
    const url = await this.url(`/v2/${repository}/blobs/${digest}`, opts.signal);
    const res = await this.transport.request('DELETE', url, { signal: opts.signal, scope: repositoryScope(repository, 'delete') });
    if (res.status !== 202 && res.status !== 200 && res.status !== 204) throw await responseError(res, 'DELETE');
    await res.dump();
  }

  // ---------------------------------------------------------------- uploads: one method per endpoint

  private session(repository: string, res: TransportResponse, previous?: UploadSession): UploadSession {
    const location = res.header('location');
    if (!location && !previous) throw new ProtocolError(`${res.status} from ${redactUrl(res.url)} without a Location for the upload session`);
    const offset = parseUploadRange(res.header('range'), previous?.offset ?? 0);
    return {
      repository,
      location: location ? new URL(location, res.url).href : previous!.location,
      uuid: res.header('docker-upload-uuid') ?? previous?.uuid,
      offset: offset ?? previous?.offset ?? 0,
    };
  }

  private pushScope(repository: string, from: string[] = []): string[] {
    return [repositoryScope(repository, 'pull', 'push'), ...from.map((f) => repositoryScope(f, 'pull'))];
  }

  /** POST /blobs/uploads/: opens an upload session. */
  async startUpload(repository: string, opts: CallOptions = {}): Promise<UploadSession> {
    checkRepository(repository);
    const url = await this.url(`/v2/${repository}/blobs/uploads/`, opts.signal);
    const res = await this.transport.request('POST', url, { signal: opts.signal, scope: this.pushScope(repository), headers: { 'content-length': '0' } });
    if (res.status !== 202) throw await responseError(res, 'POST');
    await res.dump();
    return this.session(repository, res);
  }

  /**
   * POST /blobs/uploads/?mount=&from=: asks the registry to link a blob of another repository. Returns
   * `{mounted: true}`, or the session the registry opened instead (upload the bytes there, or cancel it).
   */
  async mountBlob(repository: string, digest: string, from: string, opts: CallOptions = {}): Promise<{ mounted: true; location: string | undefined } | { mounted: false; session: UploadSession }> {
    checkRepository(repository);
    checkRepository(from);
    checkDigest(digest);
    const url = await this.url(`/v2/${repository}/blobs/uploads/`, opts.signal, { mount: digest, from });
    const res = await this.transport.request('POST', url, { signal: opts.signal, scope: this.pushScope(repository, [from]), headers: { 'content-length': '0' } });
    if (res.status === 201) {
      await res.dump();
      const location = res.header('location');
      return { mounted: true, location: location ? new URL(location, res.url).href : undefined };
    }
    if (res.status !== 202) throw await responseError(res, 'POST');
    await res.dump();
    return { mounted: false, session: this.session(repository, res) };
  }

  /** GET on the session: how many bytes the registry holds (updates and returns the session). */
  async uploadStatus(session: UploadSession, opts: CallOptions = {}): Promise<UploadSession> {
    const res = await this.transport.request('GET', session.location, { signal: opts.signal, scope: this.pushScope(session.repository) });
    if (res.status !== 204 && res.status !== 200) throw await responseError(res, 'GET');
    await res.dump();
    const next = this.session(session.repository, res, session);
    const offset = parseUploadRange(res.header('range'), session.offset);
    if (offset === undefined) throw new ProtocolError(`upload status from ${redactUrl(res.url)} has no usable Range header`);
    next.offset = offset;
    return next;
  }

  /**
   * PATCH one chunk at the session's offset (with Content-Range), or a whole stream without Content-Range.
   * Returns the updated session. Not retried here: a broken chunk is resumed by the caller from uploadStatus.
   */
  async uploadChunk(session: UploadSession, chunk: Uint8Array | Readable, opts: CallOptions = {}): Promise<UploadSession> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (chunk instanceof Uint8Array) {
      headers['content-range'] = `${session.offset}-${session.offset + chunk.length - 1}`;
      headers['content-length'] = String(chunk.length);
    }
    const res = await this.transport.request('PATCH', session.location, {
      signal: opts.signal,
      scope: this.pushScope(session.repository),
      headers,
      body: chunk,
      retry: false,
    });
    if (res.status !== 202) throw await responseError(res, 'PATCH');
    await res.dump();
    const next = this.session(session.repository, res, session);
    const offset = parseUploadRange(res.header('range'), session.offset + (chunk instanceof Uint8Array ? chunk.length : 0));
    next.offset = offset ?? (chunk instanceof Uint8Array ? session.offset + chunk.length : session.offset);
    return next;
  }

  /** PUT ?digest=: closes the session, optionally with a last chunk (or the whole blob). Returns the blob's Location. */
  async completeUpload(session: UploadSession, digest: string, body?: Uint8Array | Readable | (() => Readable), opts: CallOptions & { size?: number } = {}): Promise<string | undefined> {
    checkDigest(digest);
    const u = new URL(session.location);
    u.searchParams.set('digest', digest);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (body === undefined) headers['content-length'] = '0';
    else if (body instanceof Uint8Array) headers['content-length'] = String(body.length);
    else if (opts.size !== undefined) headers['content-length'] = String(opts.size);
    const res = await this.transport.request('PUT', u.href, {
      signal: opts.signal,
      scope: this.pushScope(session.repository),
      headers,
      ...(body !== undefined ? { body } : {}),
      retry: body === undefined || typeof body === 'function',
    });
    if (res.status !== 201 && res.status !== 204 && res.status !== 200) throw await responseError(res, 'PUT');
    await res.dump();
    const returned = res.header('docker-content-digest');
    if (returned && isDigest(returned) && algorithmOf(returned) === algorithmOf(digest) && returned !== digest) {
      throw new DigestMismatchError(digest, returned, 'uploaded blob (registry answer)');
    }
    const location = res.header('location');
    return location ? new URL(location, res.url).href : undefined;
  }

  /** DELETE on the session: abandons the upload. */
  async cancelUpload(session: UploadSession, opts: CallOptions = {}): Promise<void> {
    const res = await this.transport.request('DELETE', session.location, { signal: opts.signal, scope: this.pushScope(session.repository) });
    if (res.status !== 204 && res.status !== 202 && res.status !== 200 && res.status !== 404) throw await responseError(res, 'DELETE');
    await res.dump();
  }

  // ---------------------------------------------------------------- uploads: the whole flow

  private async digestOfSource(src: Source, signal: AbortSignal | undefined): Promise<{ digest: string; size: number }> {
    if (src.bytes) return { digest: digestWith('sha256', src.bytes), size: src.bytes.length };
    const hash = createHash('sha256');
    let size = 0;
    const stream = await src.open!(0);
    try {
      for await (const chunk of stream) {
        if (signal?.aborted) throw signal.reason;
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } finally {
      stream.destroy();
    }
    return { digest: `sha256:${hash.digest('hex')}`, size };
  }

  /**
   * Uploads a blob: HEAD (skip if present), then a cross-repository mount when `mountFrom` is given, then
   * one request (POST ?digest= where the registry supports it, else POST + PUT) or PATCH chunks with
   * resumption from the registry's Range after a failure.
   */
  async uploadBlob(repository: string, source: BlobSource, opts: UploadOptions = {}): Promise<UploadResult> {
    checkRepository(repository);
    const src = normalizeSource(source, opts.size);
    let digest = opts.digest;
    if (digest !== undefined) checkDigest(digest);
    const signal = opts.signal;
    if (digest === undefined && src.open) {
      const d = await this.digestOfSource(src, signal);
      digest = d.digest;
      src.size ??= d.size;
    }
    const result = (r: Partial<UploadResult>): UploadResult => ({
      digest: digest!,
      size: src.size,
      location: undefined,
      existed: false,
      mounted: false,
      resumes: 0,
      ...r,
    });
    if (digest !== undefined && opts.checkExists !== false) {
      const info = await this.headBlob(repository, digest, { signal });
      if (info) {
        src.stream?.destroy();
        return result({ existed: true, size: info.size ?? src.size });
      }
    }
    let session: UploadSession | undefined;
    if (digest !== undefined && opts.mountFrom !== undefined) {
      for (const from of typeof opts.mountFrom === 'string' ? [opts.mountFrom] : opts.mountFrom) {
        if (from === repository) continue;
        const m = await this.mountBlob(repository, digest, from, { signal });
        if (m.mounted) {
          if (session) await this.cancelUpload(session, { signal }).catch(() => {});
          src.stream?.destroy();
          return result({ mounted: true, location: m.location });
        }
        if (session) await this.cancelUpload(session, { signal }).catch(() => {});
        session = m.session;
      }
    }
    if (opts.chunkSize !== undefined) return this.uploadChunked(repository, src, digest, session, opts, result);
    return this.uploadWhole(repository, src, digest, session, opts, result);
  }

  private async uploadWhole(
    repository: string,
    src: Source,
    digest: string | undefined,
    session: UploadSession | undefined,
    opts: UploadOptions,
    result: (r: Partial<UploadResult>) => UploadResult,
  ): Promise<UploadResult> {
    const signal = opts.signal;
    const maxResumes = opts.maxResumes ?? 5;
    if (!src.open) {
      // A one-shot stream: POST, then PUT the stream (digest known) or PATCH it while hashing and PUT the digest.
      const stream = src.stream!;
      session ??= await this.startUpload(repository, { signal });
      if (digest !== undefined) {
        const location = await this.completeUpload(session, digest, stream, { signal, ...(src.size !== undefined ? { size: src.size } : {}) });
        opts.onProgress?.(src.size ?? 0);
        return result({ location });
      }
      const hash = createHash('sha256');
      let size = 0;
      const hashing = new Transform({
        transform(c: Buffer, _enc, cb) {
          hash.update(c);
          size += c.length;
          cb(null, c);
        },
      });
      stream.once('error', (e) => hashing.destroy(e));
      stream.pipe(hashing);
      const after = await this.uploadChunk(session, hashing, { signal });
      digest = `sha256:${hash.digest('hex')}`;
      if (after.offset !== size && after.offset !== 0) throw new SizeMismatchError(size, after.offset, 'streamed upload (registry Range)');
      const location = await this.completeUpload(after, digest, undefined, { signal });
      opts.onProgress?.(size);
      return result({ location, size, digest });
    }
    const d = digest!;
    const size = src.size;
    // Bytes go as they are; files and sources are opened afresh for every attempt.
    const open = src.open;
    const fresh = (): Readable =>
      Readable.from(
        (async function* () {
          const s = await open(0);
          try {
            for await (const c of s) yield c as Buffer;
          } finally {
            s.destroy();
          }
        })(),
        { objectMode: false },
      );
    const body = (): Uint8Array | (() => Readable) => src.bytes ?? fresh;
    const sized = (headers: Record<string, string>) => {
      if (size !== undefined) headers['content-length'] = String(size);
      return headers;
    };
    let resumes = 0;
    for (;;) {
      let probing = false;
      try {
        if (!session && this.monolithicPost !== false) {
          probing = this.monolithicPost === undefined;
          const url = await this.url(`/v2/${repository}/blobs/uploads/`, signal, { digest: d });
          const res = await this.transport.request('POST', url, {
            signal,
            scope: this.pushScope(repository),
            headers: sized({ 'content-type': 'application/octet-stream' }),
            body: body(),
          });
          if (res.status === 201) {
            await res.dump();
            this.monolithicPost = true;
            opts.onProgress?.(size ?? 0);
            const location = res.header('location');
            return result({ location: location ? new URL(location, res.url).href : undefined, resumes });
          }
          if (res.status !== 202) throw await responseError(res, 'POST');
          // The registry ignored the body and opened a session (Distribution does): PUT the bytes there.
          await res.dump();
          this.monolithicPost = false;
          probing = false;
          session = this.session(repository, res);
        }
        session ??= await this.startUpload(repository, { signal });
        const location = await this.completeUpload(session, d, body(), {
          signal,
          ...(size !== undefined ? { size } : {}),
        });
        opts.onProgress?.(size ?? 0);
        return result({ location, resumes });
      } catch (e) {
        // A registry that breaks the connection on a body it did not expect is not asked that way again.
        if (probing && isRetryableError(e)) this.monolithicPost = false;
        if (signal?.aborted || resumes >= maxResumes) throw e;
        const transient = isRetryableError(e) || (e instanceof RegistryClientError && (isRetryableStatus(e.status) || e.code === 'BLOB_UPLOAD_UNKNOWN'));
        if (!transient) throw e;
        resumes++;
        await sleep(this.backoff(resumes - 1), signal);
        // The bytes may have landed before the connection broke.
        if (await this.headBlob(repository, d, { signal })) return result({ resumes });
        if (session) await this.cancelUpload(session, { signal }).catch(() => {});
        session = undefined;
      }
    }
  }

  private async uploadChunked(
    repository: string,
    src: Source,
    digest: string | undefined,
    initial: UploadSession | undefined,
    opts: UploadOptions,
    result: (r: Partial<UploadResult>) => UploadResult,
  ): Promise<UploadResult> {
    const signal = opts.signal;
    const chunkSize = opts.chunkSize!;
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new ClientError(`invalid chunkSize ${chunkSize}`);
    const maxResumes = opts.maxResumes ?? 5;
    // Only one-shot streams without a digest are hashed here (re-openable sources were hashed up front).
    const hash = digest === undefined ? createHash('sha256') : undefined;
    let session = initial ?? (await this.startUpload(repository, { signal }));
    let reader = new ChunkReader(src.stream ?? (await src.open!(0)));
    let chunk: Buffer | undefined;
    let chunkStart = 0;
    let resumes = 0;
    let eof = false;
    try {
      for (;;) {
        if (!chunk || session.offset >= chunkStart + chunk.length) {
          chunkStart = chunk ? chunkStart + chunk.length : 0;
          if (session.offset !== chunkStart) throw new ProtocolError(`registry holds ${session.offset} bytes, expected ${chunkStart}`);
          chunk = await reader.next(chunkSize);
          if (!chunk) {
            eof = true;
            break;
          }
          hash?.update(chunk);
        }
        const piece = chunk.subarray(session.offset - chunkStart);
        try {
          session = await this.uploadChunk(session, piece, { signal });
          opts.onProgress?.(session.offset);
          if (session.offset > chunkStart + chunk.length) {
            throw new ProtocolError(`registry claims ${session.offset} bytes after a chunk ending at ${chunkStart + chunk.length}`);
          }
        } catch (e) {
          if (signal?.aborted || e instanceof ProtocolError) throw e;
          const status = e instanceof RegistryClientError ? e.status : undefined;
          // 416: the registry holds another amount than we thought; 409: an earlier, broken write is still
          // being wound up on the registry (Wharf). Both are resolved by asking the session where it is.
          const transient = isRetryableError(e) || status === 416 || status === 409 || (status !== undefined && isRetryableStatus(status)) || e instanceof SizeMismatchError;
          if (!transient || resumes >= maxResumes) throw e;
          resumes++;
          await sleep(this.backoff(resumes - 1), signal);
          let recovered: UploadSession | undefined;
          try {
            recovered = await this.uploadStatus(session, { signal });
          } catch (statusError) {
            if (!(statusError instanceof RegistryClientError) || !src.open) throw statusError;
            // The registry cannot resume this session (Distribution refuses a session whose size no longer
            // matches its state token): start a new one from byte 0.
            await this.cancelUpload(session, { signal }).catch(() => {});
            session = await this.startUpload(repository, { signal });
            reader.close();
            reader = new ChunkReader(await src.open(0));
            chunk = undefined;
            chunkStart = 0;
            continue;
          }
          session = recovered;
          if (session.offset < chunkStart || session.offset > chunkStart + chunk.length) {
            if (!src.open) throw new ClientError(`cannot resume a one-shot stream: the registry holds ${session.offset} bytes, the current chunk starts at ${chunkStart}`, { cause: e });
            // Re-read the source from where the registry is.
            reader.close();
            reader = new ChunkReader(await src.open(session.offset));
            chunk = undefined;
            chunkStart = session.offset;
            const next = await reader.next(chunkSize);
            if (!next) throw new ProtocolError(`registry holds ${session.offset} bytes, more than the source has`);
            chunk = next;
          }
        }
      }
    } finally {
      if (!eof) reader.close();
    }
    const finalDigest = digest ?? `sha256:${hash!.digest('hex')}`;
    for (;;) {
      try {
        const location = await this.completeUpload(session, finalDigest, undefined, { signal });
        return result({ digest: finalDigest, size: session.offset, location, resumes });
      } catch (e) {
        // The PUT may have completed before its answer was lost.
        if (signal?.aborted || resumes >= maxResumes) throw e;
        if (!(isRetryableError(e) || (e instanceof NotFoundError && e.code === 'BLOB_UPLOAD_UNKNOWN'))) throw e;
        resumes++;
        if (await this.headBlob(repository, finalDigest, { signal })) return result({ digest: finalDigest, size: session.offset, resumes });
        if (e instanceof NotFoundError) throw e;
        await sleep(this.backoff(resumes - 1), signal);
      }
    }
  }

  // ---------------------------------------------------------------- manifests

  private manifestUrl(repository: string, reference: string, signal: AbortSignal | undefined, query?: Record<string, string[]>): Promise<string> {
    checkRepository(repository);
    checkReference(reference);
    return this.url(`/v2/${repository}/manifests/${reference}`, signal, query);
  }

  /**
   * GET a manifest (Accept: every manifest type unless told otherwise). The digest is checked against the
   * reference when it is one, and against Docker-Content-Digest when the registry sends it.
   */
  async getManifest(repository: string, reference: string, opts: GetManifestOptions = {}): Promise<ManifestResult> {
    const url = await this.manifestUrl(repository, reference, opts.signal);
    const res = await this.transport.request('GET', url, {
      signal: opts.signal,
      scope: repositoryScope(repository, 'pull'),
      headers: { accept: (opts.accept ?? manifestAcceptTypes).join(', ') },
    });
    if (res.status !== 200) throw await responseError(res, 'GET');
    const length = Number(res.header('content-length'));
    if (Number.isFinite(length) && length > this.maxManifestBytes) {
      res.body.destroy();
      throw new ProtocolError(`manifest ${repository}:${reference} is ${length} bytes, more than the ${this.maxManifestBytes} allowed`);
    }
    const bytes = await res.bytes(this.maxManifestBytes);
    const header = res.header('docker-content-digest');
    let digest: string;
    if (reference.includes(':')) {
      digest = digestWith(algorithmOf(reference), bytes);
      if (digest !== reference) throw new DigestMismatchError(reference, digest, `manifest ${repository}@${reference}`);
    } else if (header && isDigest(header)) {
      const computed = digestWith(algorithmOf(header), bytes);
      if (computed !== header) throw new DigestMismatchError(header, computed, `manifest ${repository}:${reference} (Docker-Content-Digest)`);
      digest = header;
    } else {
      digest = digestWith('sha256', bytes);
    }
    const ct = res.header('content-type')?.split(';', 1)[0]!.trim();
    const mediaType = ct && ct !== 'application/json' && ct !== 'application/octet-stream' ? ct : mediaTypeOf(bytes);
    return { bytes, mediaType, digest, size: bytes.length };
  }

  /** HEAD a manifest: digest, media type and size, or undefined when there is no such tag or digest. */
  async headManifest(repository: string, reference: string, opts: GetManifestOptions = {}): Promise<ManifestInfo | undefined> {
    const url = await this.manifestUrl(repository, reference, opts.signal);
    const res = await this.transport.request('HEAD', url, {
      signal: opts.signal,
      scope: repositoryScope(repository, 'pull'),
      headers: { accept: (opts.accept ?? manifestAcceptTypes).join(', ') },
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await responseError(res, 'HEAD');
    const header = res.header('docker-content-digest');
    const length = res.header('content-length');
    const ct = res.header('content-type')?.split(';', 1)[0]!.trim();
    let digest = header && isDigest(header) ? header : reference.includes(':') ? reference : undefined;
    let mediaType = ct || undefined;
    let size = length !== undefined ? Number(length) : undefined;
    if (digest === undefined) {
      // No Docker-Content-Digest: only the bytes can tell.
      const m = await this.getManifest(repository, reference, opts);
      digest = m.digest;
      mediaType = m.mediaType;
      size = m.size;
    }
    return { digest, mediaType, size };
  }

  /** PUT a manifest under a tag or digest, with optional extra tags. */
  async putManifest(repository: string, reference: string, manifest: Uint8Array | string, opts: PutManifestOptions = {}): Promise<PutManifestResult> {
    const bytes = typeof manifest === 'string' ? Buffer.from(manifest, 'utf8') : Buffer.from(manifest.buffer, manifest.byteOffset, manifest.byteLength);
    if (bytes.length > this.maxManifestBytes) throw new ClientError(`manifest is ${bytes.length} bytes, more than the ${this.maxManifestBytes} allowed`);
    const tags = opts.tags ?? [];
    for (const t of tags) if (!isValidTag(t)) throw new ClientError(`invalid tag ${JSON.stringify(t)}`);
    const mediaType = opts.mediaType ?? mediaTypeOf(bytes);
    const put = async (ref: string, extra: string[]) => {
      const url = await this.manifestUrl(repository, ref, opts.signal, extra.length ? { tag: extra } : undefined);
      const res = await this.transport.request('PUT', url, {
        signal: opts.signal,
        scope: this.pushScope(repository),
        headers: { 'content-type': mediaType },
        body: bytes,
      });
      if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await responseError(res, 'PUT');
      await res.dump();
      return res;
    };
    const res = await put(reference, tags);
    const algorithm = reference.includes(':') ? algorithmOf(reference) : 'sha256';
    const computed = digestWith(algorithm, bytes);
    const returned = res.header('docker-content-digest');
    if (returned && isDigest(returned) && algorithmOf(returned) === algorithm && returned !== computed) {
      throw new DigestMismatchError(computed, returned, 'manifest (registry answer)');
    }
    const applied = reference.includes(':') ? [] : [reference];
    const confirmed = new Set(res.headerValues('oci-tag').flatMap((v) => v.split(',').map((t) => t.trim())));
    for (const t of tags) {
      if (!confirmed.has(t)) await put(t, []); // the registry ignored ?tag= (it predates it): one PUT per tag
      if (!applied.includes(t)) applied.push(t);
    }
    const location = res.header('location');
    return { digest: computed, location: location ? new URL(location, res.url).href : undefined, tags: applied, subject: res.header('oci-subject') };
  }

  /** DELETE a manifest by digest (or, where the registry allows it, a tag). */
  async deleteManifest(repository: string, reference: string, opts: CallOptions = {}): Promise<void> {
    const url = await this.manifestUrl(repository, reference, opts.signal);
    const res = await this.transport.request('DELETE', url, { signal: opts.signal, scope: repositoryScope(repository, 'delete') });
    if (res.status !== 202 && res.status !== 200 && res.status !== 204) throw await responseError(res, 'DELETE');
    await res.dump();
  }

  // ---------------------------------------------------------------- listings

  private listing<K extends string>(key: K, firstUrl: () => Promise<string>, scope: string, signal: AbortSignal | undefined): Paged<string> {
    return new Paged<string>(async (url) => {
      const res = await this.transport.request('GET', url, { signal, scope });
      if (res.status !== 200) throw await responseError(res, 'GET');
      const doc = await res.json<Record<string, unknown>>(64 * 1024 * 1024);
      const items = doc[key];
      if (items !== null && items !== undefined && !Array.isArray(items)) throw new ProtocolError(`${redactUrl(url)}: "${key}" is not an array`);
      return { items: ((items as unknown[] | null | undefined) ?? []).map(String), next: nextLink(res.headers.link, res.url) };
    }, firstUrl);
  }

  private listQuery(opts: ListOptions): Record<string, string | undefined> {
    return { n: opts.pageSize !== undefined ? String(opts.pageSize) : undefined, last: opts.last };
  }

  /** The tags of a repository, page by page following Link. `for await (const tag of client.listTags(r))` or `.collect()`. */
  listTags(repository: string, opts: ListOptions = {}): Paged<string> {
    checkRepository(repository);
    return this.listing('tags', () => this.url(`/v2/${repository}/tags/list`, opts.signal, this.listQuery(opts)), repositoryScope(repository, 'pull'), opts.signal);
  }

  /** The repositories of the registry (GET /v2/_catalog), page by page following Link. */
  catalog(opts: ListOptions = {}): Paged<string> {
    return this.listing('repositories', () => this.url('/v2/_catalog', opts.signal, this.listQuery(opts)), catalogScope, opts.signal);
  }

  // ---------------------------------------------------------------- referrers

  /**
   * The manifests whose subject is `digest`: the referrers API, or, when it answers 404, the referrers tag
   * schema (an index tagged `sha256-<hex>`). The artifactType filter is applied here when the registry did not.
   */
  async referrers(repository: string, digest: string, opts: ReferrersOptions = {}): Promise<ReferrersResult> {
    checkRepository(repository);
    checkDigest(digest);
    const signal = opts.signal;
    const scope = repositoryScope(repository, 'pull');
    const filter = (list: Descriptor[], applied: boolean): Descriptor[] =>
      applied || opts.artifactType === undefined ? list : list.filter((d) => d.artifactType === opts.artifactType);
    let url: string | undefined = await this.url(`/v2/${repository}/referrers/${digest}`, signal, { artifactType: opts.artifactType });
    const manifests: Descriptor[] = [];
    let applied = true;
    let first = true;
    while (url !== undefined) {
      const res: TransportResponse = await this.transport.request('GET', url, { signal, scope, headers: { accept: MediaType.ociIndex } });
      if (res.status === 404 && first) {
        await res.dump();
        return this.referrersFromTag(repository, digest, opts, filter);
      }
      if (res.status !== 200) throw await responseError(res, 'GET');
      const doc = await res.json<{ manifests?: unknown }>(this.maxManifestBytes);
      if (!Array.isArray(doc.manifests)) throw new ProtocolError(`referrers of ${digest}: the answer has no manifests array`);
      const pageApplied = res.headerValues('oci-filters-applied').some((v) => v.split(',').map((s) => s.trim()).includes('artifactType'));
      applied = opts.artifactType === undefined || (applied && pageApplied);
      manifests.push(...filter(doc.manifests as Descriptor[], pageApplied));
      url = nextLink(res.headers.link, res.url);
      first = false;
    }
    return { manifests, source: 'api', filteredByRegistry: opts.artifactType !== undefined && applied };
  }

  private async referrersFromTag(
    repository: string,
    digest: string,
    opts: ReferrersOptions,
    filter: (list: Descriptor[], applied: boolean) => Descriptor[],
  ): Promise<ReferrersResult> {
    let index: ManifestResult;
    try {
      index = await this.getManifest(repository, referrersTag(digest), { signal: opts.signal, accept: [MediaType.ociIndex] });
    } catch (e) {
      if (e instanceof NotFoundError) return { manifests: [], source: 'tag-schema', filteredByRegistry: false };
      throw e;
    }
    const doc = JSON.parse(index.bytes.toString('utf8')) as { manifests?: unknown };
    const list = Array.isArray(doc.manifests) ? (doc.manifests as Descriptor[]) : [];
    return { manifests: filter(list, false), source: 'tag-schema', filteredByRegistry: false };
  }

  /** Closes the transport's connections (when this client created the transport). */
  async close(): Promise<void> {
    if (this.ownsTransport) await this.transport.close();
  }
}
