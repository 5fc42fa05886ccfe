// Amazon S3 and S3-compatible object stores (Cloudflare R2, Ceph RGW, MinIO, ...).
// Objects are immutable and replaced whole: puts and multipart uploads become visible atomically when they
// complete. There are no appends; uploads are written as segments and joined server-side with concat()
// (UploadPartCopy), so the bytes never pass through this process twice.
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  type CompletedPart,
  type ListObjectsV2CommandOutput,
  type S3ClientConfig,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ByteRange, FileInfo, FileWriter, Opts, StorageDriver } from '../driver.js';
import { StorageError } from '../driver.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's smallest part, for every part of a multipart upload but the last. */
export const MIN_PART = 5 * MiB;
/** S3's largest part, and the largest object CopyObject can copy. */
export const MAX_PART = 5 * GiB;
const MAX_PARTS = 10_000;
/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Parts in flight per streamed upload (lib-storage buffers partSize for each, plus one being filled). */
const UPLOAD_QUEUE = 3;
/** UploadPartCopy requests in flight per multipart copy. */
const COPY_QUEUE = 4;
const DELETE_BATCH = 1000;

export interface S3Options {
  bucket: string;
  /** Key prefix for everything this driver stores (no leading or trailing slash needed). */
  prefix?: string;
  /** Custom endpoint for S3-compatible servers, e.g. http://127.0.0.1:7480 or https://ACCOUNT.r2.cloudflarestorage.com. */
  endpoint?: string;
  /** Region; defaults to the SDK chain (AWS_REGION, profile), or us-east-1 with a custom endpoint. */
  region?: string;
  /** Path-style URLs (http://host/bucket/key) instead of virtual-hosted (http://bucket.host/key); MinIO and RGW usually need it. */
  forcePathStyle?: boolean;
  /** Static credentials; without them the SDK default chain is used (environment, shared profile, SSO, IMDS, ...). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Server-side encryption of every object written. */
  sse?: 'AES256' | 'aws:kms';
  /** KMS key for sse 'aws:kms'; the bucket's / account's default key when omitted. */
  kmsKeyId?: string;
  /** Storage class of every object written, e.g. STANDARD, STANDARD_IA, INTELLIGENT_TIERING. */
  storageClass?: string;
  /** Part size of streamed uploads, in bytes: default 16 MiB, at least 5 MiB, at most 5 GiB. */
  partSize?: number;
  /** Largest piece of one UploadPartCopy request, in bytes: default 1 GiB, between 10 MiB and 5 GiB. */
  copyPartSize?: number;
  /** Objects larger than this are copied with a multipart copy instead of CopyObject: default and maximum 5 GiB. */
  copyThreshold?: number;
  /** Let clients fetch blobs from the bucket directly, with presigned GET URLs valid this long. */
  redirect?: { expiresSeconds: number };
}

/** Options resolved with their defaults. */
export interface ResolvedS3Options extends S3Options {
  prefix: string;
  partSize: number;
  copyPartSize: number;
  copyThreshold: number;
}

function fail(message: string): never {
  throw new Error(`s3 storage: ${message}`);
}

function checkInt(name: string, v: number | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < min || v > max) fail(`${name} must be an integer between ${min} and ${max} bytes, got ${v}`);
  return v;
}

/** Validates options and fills in defaults. Throws a plain Error naming the bad option. */
export function resolveS3Options(o: S3Options): ResolvedS3Options {
  if (!o.bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket)) fail(`invalid bucket name ${JSON.stringify(o.bucket)}`);
  const prefix = (o.prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.includes('//')) fail(`invalid prefix ${JSON.stringify(o.prefix)}`);
  if (o.endpoint !== undefined) {
    let u: URL;
    try {
      u = new URL(o.endpoint);
    } catch {
      fail(`invalid endpoint ${JSON.stringify(o.endpoint)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(`endpoint must be http:// or https://, got ${JSON.stringify(o.endpoint)}`);
  }
  if ((o.accessKeyId === undefined) !== (o.secretAccessKey === undefined)) fail('accessKeyId and secretAccessKey go together');
  if (o.sessionToken !== undefined && o.accessKeyId === undefined) fail('sessionToken needs accessKeyId and secretAccessKey');
  if (o.sse !== undefined && o.sse !== 'AES256' && o.sse !== 'aws:kms') fail(`sse must be AES256 or aws:kms, got ${JSON.stringify(o.sse)}`);
  if (o.kmsKeyId !== undefined && o.sse !== 'aws:kms') fail('kmsKeyId needs sse: aws:kms');
  if (o.storageClass !== undefined && !/^[A-Z][A-Z0-9_]*$/.test(o.storageClass)) fail(`invalid storageClass ${JSON.stringify(o.storageClass)}`);
  const partSize = checkInt('partSize', o.partSize, MIN_PART, MAX_PART, 16 * MiB);
  // A copy piece is at least half of copyPartSize (sources are split evenly), and every piece but the last
  // must be at least 5 MiB: hence the 10 MiB minimum.
  const copyPartSize = checkInt('copyPartSize', o.copyPartSize, 2 * MIN_PART, MAX_PART, GiB);
  const copyThreshold = checkInt('copyThreshold', o.copyThreshold, 0, MAX_PART, MAX_PART);
  if (o.redirect) {
    const s = o.redirect.expiresSeconds;
    if (!Number.isSafeInteger(s) || s < 1 || s > MAX_PRESIGN_SECONDS) fail(`redirect expiresSeconds must be between 1 and ${MAX_PRESIGN_SECONDS}, got ${s}`);
  }
  return { ...o, prefix, partSize, copyPartSize, copyThreshold };
}

const sizeUnits: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: MiB, mb: MiB, mib: MiB, g: GiB, gb: GiB, gib: GiB };

/** `16777216`, `16MiB`, `16M`, `1GiB` (binary units). */
export function parseSize(name: string, value: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? sizeUnits[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) fail(`${name}: expected a size like 16777216 or 16MiB, got ${JSON.stringify(value)}`);
  return Number(m[1]) * unit;
}

function parseBool(name: string, value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  fail(`${name}: expected true or false, got ${JSON.stringify(value)}`);
}

const urlParams = [
  'endpoint', 'region', 'forcePathStyle', 'partSize', 'copyPartSize', 'copyThreshold', 'sse', 'kmsKeyId', 'storageClass', 'redirect', 'redirectExpires',
] as const;

/**
 * `s3://BUCKET/PREFIX?endpoint=http://127.0.0.1:7480&region=us-east-1&forcePathStyle=true&partSize=16MiB&sse=aws:kms&...`
 * Credentials never go in the URL: they come from the SDK chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
 * AWS_PROFILE, ...).
 */
export function fromURL(url: URL): S3Options {
  if (url.protocol !== 's3:') fail(`expected an s3:// URL, got ${url.protocol}`);
  if (url.username || url.password) fail('credentials do not belong in the storage URL: use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile');
  if (url.port) fail(`unexpected port in s3://${url.host}: the bucket is the URL's host; put the server in ?endpoint=`);
  const q = url.searchParams;
  for (const key of q.keys()) {
    if (!(urlParams as readonly string[]).includes(key)) fail(`unknown parameter ${JSON.stringify(key)} in the storage URL (known: ${urlParams.join(', ')})`);
  }
  const get = (k: (typeof urlParams)[number]) => q.get(k) ?? undefined;
  const o: S3Options = { bucket: decodeURIComponent(url.hostname) };
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  if (prefix) o.prefix = prefix;
  const endpoint = get('endpoint');
  if (endpoint) o.endpoint = endpoint;
  const region = get('region');
  if (region) o.region = region;
  const pathStyle = get('forcePathStyle');
  if (pathStyle !== undefined) o.forcePathStyle = parseBool('forcePathStyle', pathStyle);
  for (const k of ['partSize', 'copyPartSize', 'copyThreshold'] as const) {
    const v = get(k);
    if (v !== undefined) o[k] = parseSize(k, v);
  }
  const sse = get('sse');
  if (sse !== undefined) o.sse = sse as S3Options['sse'];
  const kms = get('kmsKeyId');
  if (kms !== undefined) o.kmsKeyId = kms;
  const sc = get('storageClass');
  if (sc !== undefined) o.storageClass = sc;
  const redirect = get('redirect');
  const expires = get('redirectExpires');
  const on = redirect === undefined ? expires !== undefined : parseBool('redirect', redirect);
  if (on) {
    const s = expires === undefined ? 900 : Number(expires);
    if (!/^\d+$/.test(expires ?? '900')) fail(`redirectExpires: expected seconds, got ${JSON.stringify(expires)}`);
    o.redirect = { expiresSeconds: s };
  }
  resolveS3Options(o); // report bad values at startup
  return o;
}

const stringKeys = ['bucket', 'prefix', 'endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'sse', 'kmsKeyId', 'storageClass'] as const;
const sizeKeys = ['partSize', 'copyPartSize', 'copyThreshold'] as const;

/**
 * The options for `openStorage(url, options)`: the URL's settings, overridden by options from the configuration
 * (`storageOptions`, where credentials may go). Option values are checked: strings, a boolean forcePathStyle,
 * sizes as numbers of bytes or strings like "64MiB", redirect as { expiresSeconds } or true / false.
 */
export function s3OptionsFrom(url: URL, options: Record<string, unknown> = {}): S3Options {
  const o: S3Options = fromURL(url);
  const rec = o as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if ((stringKeys as readonly string[]).includes(k)) {
      if (typeof v !== 'string') fail(`storage option ${k} must be a string`);
      rec[k] = v;
    } else if ((sizeKeys as readonly string[]).includes(k)) {
      if (typeof v === 'number') rec[k] = v;
      else if (typeof v === 'string') rec[k] = parseSize(k, v);
      else fail(`storage option ${k} must be a number of bytes or a size like "64MiB"`);
    } else if (k === 'forcePathStyle') {
      if (typeof v !== 'boolean') fail('storage option forcePathStyle must be true or false');
      o.forcePathStyle = v;
    } else if (k === 'redirect') {
      if (v === false) delete o.redirect;
      else if (v === true) o.redirect = { expiresSeconds: o.redirect?.expiresSeconds ?? 900 };
      else if (typeof v === 'object' && v !== null && Object.keys(v).every((x) => x === 'expiresSeconds')) {
        const s = (v as { expiresSeconds?: unknown }).expiresSeconds;
        if (typeof s !== 'number') fail('storage option redirect.expiresSeconds must be a number of seconds');
        o.redirect = { expiresSeconds: s };
      } else fail('storage option redirect must be true, false or { expiresSeconds: N }');
    } else {
      fail(`unknown storage option ${JSON.stringify(k)} (known: ${[...stringKeys, ...sizeKeys, 'forcePathStyle', 'redirect'].join(', ')})`);
    }
  }
  resolveS3Options(o);
  return o;
}

interface S3ErrorLike {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorCode(e: unknown): string | undefined {
  const x = e as S3ErrorLike | undefined;
  return x?.Code ?? x?.name;
}

function httpStatus(e: unknown): number | undefined {
  return (e as S3ErrorLike | undefined)?.$metadata?.httpStatusCode;
}

function isNoSuchKey(e: unknown): boolean {
  const code = errorCode(e);
  if (code === 'NoSuchBucket' || code === 'NoSuchUpload') return false;
  return code === 'NoSuchKey' || code === 'NotFound' || httpStatus(e) === 404;
}

function isAbort(e: unknown): boolean {
  return (e as Error)?.name === 'AbortError';
}

/** A plain Error the SDK or the network produced, as a StorageError (aborts stay AbortErrors). */
function wrap(e: unknown, path: string): unknown {
  if (e instanceof StorageError || isAbort(e)) return e;
  if (isNoSuchKey(e)) return new StorageError('not-found', path, `not found: ${path}`, 's3', { cause: e });
  const code = errorCode(e);
  const status = httpStatus(e);
  // Some servers (RGW) send no <Message>: the SDK then says "UnknownError"; the code says more.
  const raw = (e as Error)?.message ?? String(e);
  const message = raw === 'UnknownError' || raw === code ? '' : raw;
  const text = [code && code !== 'Error' ? code : undefined, message].filter(Boolean).join(': ') || 'request failed';
  return new StorageError('io', path, `s3: ${text}${status ? ` (HTTP ${status})` : ''}`, 's3', { cause: e });
}

/** Counts the bytes written and hands them on to the upload. */
class CountingStream extends Transform {
  bytes = 0;
  constructor() {
    super({ highWaterMark: MiB });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/**
 * A streamed upload with lib-storage: objects under partSize go up with one PutObject, bigger ones as a multipart
 * upload. Either way the object appears only when the upload completes.
 */
class S3Writer implements FileWriter {
  private readonly done: Promise<unknown>;
  private result: 'pending' | 'ok' | 'failed' = 'pending';
  private failure: unknown;
  private cancelling: Promise<void> | undefined;
  private committed = false;

  constructor(
    private readonly driver: S3Driver,
    private readonly path: string,
    readonly stream: CountingStream,
    upload: Upload,
    signal: AbortSignal | undefined,
  ) {
    // Start at once: lib-storage reads the stream as it fills, so memory stays at about partSize x (queue + 1).
    // done() settles only after lib-storage has aborted the multipart upload of a failed stream.
    this.done = upload.done().then(
      () => {
        this.result = 'ok';
      },
      (e: unknown) => {
        this.result = 'failed';
        this.failure = e;
      },
    );
    if (signal) {
      // commit() then reports the failed upload; a failure of the cleanup itself has nobody to go to.
      const onAbort = () => {
        this.cancel().catch(() => undefined);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      void this.done.finally(() => signal.removeEventListener('abort', onAbort));
    }
  }

  get size(): number {
    return this.stream.bytes;
  }

  async commit(o?: Opts): Promise<void> {
    if (this.cancelling) {
      await this.cancelling.catch(() => undefined);
      throw new StorageError('aborted', this.path, 'the upload was cancelled', 's3');
    }
    o?.signal?.throwIfAborted();
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
    const streamDone = finished(this.stream, { readable: false }).then(() => undefined, (e: unknown) => e);
    await this.done;
    if (this.result === 'failed') {
      const e = this.failure;
      // A failed stream (the writer's source broke) explains more than lib-storage's echo of it.
      throw wrap((await streamDone) ?? e, this.path);
    }
    const streamError = await streamDone;
    if (streamError) throw wrap(streamError, this.path);
    this.committed = true;
  }

  close(): Promise<void> {
    return this.commit();
  }

  /**
   * Destroying the stream makes lib-storage stop, wait for the parts in flight, and send AbortMultipartUpload;
   * only then does done() settle. Nothing stays behind: no object and no pending multipart upload.
   */
  cancel(): Promise<void> {
    if (this.committed) return Promise.resolve();
    this.cancelling ??= (async () => {
      if (!this.stream.readableEnded) {
        this.stream.destroy(Object.assign(new Error('upload cancelled'), { name: 'AbortError' }));
      }
      await this.done;
      // The stream had already ended and the upload went through before the cancel: remove what it wrote.
      if (this.result === 'ok') await this.driver.deleteKey(this.path);
    })();
    return this.cancelling;
  }
}

/** `bytes=a-b` pieces of one copy source. Sources are split evenly: pieces are at least copyPartSize / 2. */
function copyPieces(size: number, maxPiece: number): Array<[number, number]> {
  if (size === 0) return [];
  const n = Math.ceil(size / maxPiece);
  const base = Math.floor(size / n);
  const extra = size % n;
  const out: Array<[number, number]> = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const len = base + (i < extra ? 1 : 0);
    out.push([off, off + len - 1]);
    off += len;
  }
  return out;
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export interface S3DriverExtras {
  /** Extra S3Client configuration (tests pass a requestHandler that captures requests). */
  clientConfig?: S3ClientConfig;
}

export class S3Driver implements StorageDriver {
  readonly name = 's3';
  readonly capabilities = { append: false, minConcatPart: MIN_PART };
  readonly client: S3Client;
  readonly options: ResolvedS3Options;
  private readonly bucket: string;

  constructor(opts: S3Options, extras: S3DriverExtras = {}) {
    const o = resolveS3Options(opts);
    this.options = o;
    this.bucket = o.bucket;
    const env = process.env;
    const region = o.region ?? (o.endpoint ? env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1' : undefined);
    this.client = new S3Client({
      ...(region !== undefined && { region }),
      ...(o.endpoint !== undefined && { endpoint: o.endpoint }),
      forcePathStyle: o.forcePathStyle ?? false,
      ...(o.accessKeyId !== undefined && {
        credentials: {
          accessKeyId: o.accessKeyId,
          secretAccessKey: o.secretAccessKey!,
          ...(o.sessionToken !== undefined && { sessionToken: o.sessionToken }),
        },
      }),
      // Checksums only where S3 requires them: S3-compatible servers vary in what they accept.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...extras.clientConfig,
    });
    // DeleteObjects must carry an integrity header. The SDK sends x-amz-checksum-crc32; older S3 implementations
    // (Swift s3api, older MinIO and Ceph) only know Content-MD5, so send both.
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const req = args.request as { headers?: Record<string, string>; body?: unknown };
        if (context.commandName === 'DeleteObjectsCommand' && req.headers && !req.headers['content-md5']) {
          const body = req.body;
          if (typeof body === 'string' || body instanceof Uint8Array) {
            req.headers['content-md5'] = createHash('md5').update(body).digest('base64');
          }
        }
        return next(args);
      },
      { step: 'build', name: 'wharfDeleteObjectsContentMD5' },
    );
  }

  key(path: string): string {
    return this.options.prefix ? `${this.options.prefix}/${path}` : path;
  }

  private pathOf(key: string): string {
    return this.options.prefix ? key.slice(this.options.prefix.length + 1) : key;
  }

  /** Headers for every object this driver writes. */
  private writeParams(): { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string; StorageClass?: StorageClass } {
    const o = this.options;
    return {
      ...(o.sse !== undefined && { ServerSideEncryption: o.sse as ServerSideEncryption }),
      ...(o.kmsKeyId !== undefined && { SSEKMSKeyId: o.kmsKeyId }),
      ...(o.storageClass !== undefined && { StorageClass: o.storageClass as StorageClass }),
    };
  }

  private copySource(key: string): string {
    return `${this.bucket}/${encodeKey(key)}`;
  }

  async getContent(path: string, o?: Opts): Promise<Buffer> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), { abortSignal: o?.signal });
      const bytes = await res.Body!.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      throw wrap(e, path);
    }
  }

  async putContent(path: string, data: Uint8Array, o?: Opts): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(path),
          Body: data,
          ContentLength: data.byteLength,
          ContentType: 'application/octet-stream',
          ...this.writeParams(),
        }),
        { abortSignal: o?.signal },
      );
    } catch (e) {
      throw wrap(e, path);
    }
  }

  async reader(path: string, range?: ByteRange, o?: Opts): Promise<Readable> {
    const offset = range?.offset ?? 0;
    const length = range?.length;
    if (length !== undefined && length <= 0) {
      await this.stat(path, o); // not-found still applies
      return Readable.from([]);
    }
    const header = offset === 0 && length === undefined ? undefined : `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path), ...(header !== undefined && { Range: header }) }),
        { abortSignal: o?.signal },
      );
      return res.Body as Readable;
    } catch (e) {
      // A range starting at or past the end (also any range of an empty object) is 416: that reads nothing.
      if (header !== undefined && (errorCode(e) === 'InvalidRange' || httpStatus(e) === 416)) {
        await this.stat(path, o);
        return Readable.from([]);
      }
      throw wrap(e, path);
    }
  }

  async writer(path: string, append: boolean, o?: Opts): Promise<FileWriter> {
    if (append) throw new StorageError('io', path, 'append is not supported on S3', 's3');
    o?.signal?.throwIfAborted();
    const stream = new CountingStream();
    const upload = new Upload({
      client: this.client,
      partSize: this.options.partSize,
      queueSize: UPLOAD_QUEUE,
      leavePartsOnError: false,
      params: {
        Bucket: this.bucket,
        Key: this.key(path),
        Body: stream,
        ContentType: 'application/octet-stream',
        ...this.writeParams(),
      },
    });
    return new S3Writer(this, path, stream, upload, o?.signal);
  }

  async stat(path: string, o?: Opts): Promise<FileInfo> {
    const key = this.key(path);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: o?.signal });
      return { path, size: res.ContentLength ?? 0, modTime: res.LastModified ?? new Date(0), isDir: false };
    } catch (e) {
      if (!isNoSuchKey(e)) throw wrap(e, path);
    }
    // No such object; a "directory" exists when some object lives below it.
    try {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key + '/', MaxKeys: 1 }),
        { abortSignal: o?.signal },
      );
      if ((res.KeyCount ?? res.Contents?.length ?? 0) > 0) return { path, size: 0, modTime: new Date(0), isDir: true };
    } catch (e) {
      throw wrap(e, path);
    }
    throw new StorageError('not-found', path, `not found: ${path}`, 's3');
  }

  private async *pages(prefix: string, delimiter: string | undefined, path: string, o?: Opts): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      let res: ListObjectsV2CommandOutput;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(delimiter !== undefined && { Delimiter: delimiter }),
            ...(token !== undefined && { ContinuationToken: token }),
          }),
          { abortSignal: o?.signal },
        );
      } catch (e) {
        throw wrap(e, path);
      }
      yield res;
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  async list(path: string, o?: Opts): Promise<string[]> {
    const prefix = this.key(path) + '/';
    const out = new Set<string>();
    for await (const page of this.pages(prefix, '/', path, o)) {
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.add(this.pathOf(p.Prefix.replace(/\/+$/, '')));
      for (const c of page.Contents ?? []) if (c.Key && !c.Key.endsWith('/')) out.add(this.pathOf(c.Key));
    }
    if (out.size === 0) throw new StorageError('not-found', path, `not found: ${path}`, 's3');
    return [...out].sort();
  }

  /** Every object below path, in key order (S3 lists keys sorted by their UTF-8 bytes). */
  async *walk(path: string, o?: Opts): AsyncIterable<FileInfo> {
    for await (const page of this.pages(this.key(path) + '/', undefined, path, o)) {
      for (const c of page.Contents ?? []) {
        if (!c.Key || c.Key.endsWith('/')) continue;
        yield { path: this.pathOf(c.Key), size: c.Size ?? 0, modTime: c.LastModified ?? new Date(0), isDir: false };
      }
    }
  }

  private async head(path: string, o?: Opts): Promise<{ size: number; etag: string | undefined }> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), { abortSignal: o?.signal });
      return { size: res.ContentLength ?? 0, etag: res.ETag };
    } catch (e) {
      throw wrap(e, path);
    }
  }

  /** Copies then deletes: CopyObject up to copyThreshold, a multipart copy above it. */
  async move(from: string, to: string, o?: Opts): Promise<void> {
    const src = await this.head(from, o);
    if (from === to) return;
    if (src.size <= this.options.copyThreshold) {
      try {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: this.key(to),
            CopySource: this.copySource(this.key(from)),
            ...(src.etag !== undefined && { CopySourceIfMatch: src.etag }),
            MetadataDirective: 'COPY',
            ...this.writeParams(),
          }),
          { abortSignal: o?.signal },
        );
      } catch (e) {
        throw wrap(e, from);
      }
    } else {
      await this.multipartCopy([{ path: from, ...src }], to, o);
    }
    await this.deleteKey(from, o);
  }

  /**
   * Joins the sources server-side: one multipart upload on dest with an UploadPartCopy per piece of each source
   * (pieces of at most copyPartSize). The object appears on CompleteMultipartUpload; any failure aborts it.
   */
  async concat(sources: string[], dest: string, o?: Opts): Promise<void> {
    if (sources.length === 0) throw new StorageError('io', dest, 'concat needs at least one source', 's3');
    if (sources.length === 1) {
      await this.move(sources[0]!, dest, o);
      return;
    }
    const heads = await Promise.all(sources.map(async (path) => ({ path, ...(await this.head(path, o)) })));
    for (const [i, h] of heads.entries()) {
      if (i < heads.length - 1 && h.size < MIN_PART) {
        throw new StorageError(
          'io',
          h.path,
          `concat source ${i + 1} of ${heads.length} (${h.path}) has ${h.size} bytes: S3 needs at least ${MIN_PART} bytes (5 MiB) in every part but the last`,
          's3',
        );
      }
    }
    await this.multipartCopy(heads, dest, o);
    await this.deleteKeys(sources.filter((s) => s !== dest), dest, o);
  }

  private async multipartCopy(sources: Array<{ path: string; size: number; etag: string | undefined }>, dest: string, o?: Opts): Promise<void> {
    const parts: Array<{ number: number; src: (typeof sources)[number]; range: [number, number] }> = [];
    for (const src of sources) {
      for (const range of copyPieces(src.size, this.options.copyPartSize)) parts.push({ number: parts.length + 1, src, range });
    }
    if (parts.length > MAX_PARTS) {
      throw new StorageError('io', dest, `concat needs ${parts.length} parts; S3 allows ${MAX_PARTS}: raise copyPartSize`, 's3');
    }
    if (parts.length === 0) {
      // Only empty sources: an empty object.
      await this.putContent(dest, new Uint8Array(0), o);
      return;
    }
    const Key = this.key(dest);
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ContentType: 'application/octet-stream', ...this.writeParams() }),
        { abortSignal: o?.signal },
      );
      uploadId = created.UploadId;
      if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      const completed: CompletedPart[] = [];
      await pool(parts, COPY_QUEUE, async (part) => {
        const res = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key,
            UploadId: uploadId,
            PartNumber: part.number,
            CopySource: this.copySource(this.key(part.src.path)),
            CopySourceRange: `bytes=${part.range[0]}-${part.range[1]}`,
            ...(part.src.etag !== undefined && { CopySourceIfMatch: part.src.etag }),
          }),
          { abortSignal: o?.signal },
        );
        const etag = res.CopyPartResult?.ETag;
        if (!etag) throw new Error(`UploadPartCopy of part ${part.number} returned no ETag`);
        completed.push({ PartNumber: part.number, ETag: etag });
      });
      completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: completed } }),
        { abortSignal: o?.signal },
      );
    } catch (e) {
      if (uploadId) {
        // Not tied to o.signal: the abort must go out even when the caller gave up.
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId })).catch(() => undefined);
      }
      throw wrap(e, dest);
    }
  }

  /** @internal Deletes one object (no prefix sweep). */
  async deleteKey(path: string, o?: Opts): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), { abortSignal: o?.signal });
    } catch (e) {
      if (!isNoSuchKey(e)) throw wrap(e, path);
    }
  }

  private async deleteKeys(paths: string[], path: string, o?: Opts): Promise<void> {
    await this.deleteRawKeys(paths.map((p) => this.key(p)), path, o);
  }

  private async deleteRawKeys(keys: string[], path: string, o?: Opts): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let res;
      try {
        res = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
          { abortSignal: o?.signal },
        );
      } catch (e) {
        throw wrap(e, path);
      }
      const errors = (res.Errors ?? []).filter((x) => x.Code !== 'NoSuchKey');
      if (errors.length > 0) {
        const first = errors[0]!;
        throw new StorageError('io', path, `s3: DeleteObjects failed for ${errors.length} keys, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim(), 's3');
      }
    }
  }

  /** The object itself and everything below path/, page by page (a page is at most 1000 keys: one DeleteObjects). */
  async delete(path: string, o?: Opts): Promise<void> {
    await this.deleteKey(path, o);
    for await (const page of this.pages(this.key(path) + '/', undefined, path, o)) {
      const keys = (page.Contents ?? []).map((c) => c.Key).filter((k): k is string => !!k);
      if (keys.length > 0) await this.deleteRawKeys(keys, path, o);
    }
  }

  async redirectURL(path: string): Promise<string | undefined> {
    const r = this.options.redirect;
    if (!r) return undefined;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), { expiresIn: r.expiresSeconds });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

export function createS3Driver(opts: S3Options, extras?: S3DriverExtras): S3Driver {
  return new S3Driver(opts, extras);
}
