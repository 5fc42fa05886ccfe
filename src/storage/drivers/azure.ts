// Azure Blob storage: every path is a block blob in one container, under an optional prefix.
//
// - Writers stage a block every `blockSize` bytes and commit the block list on commit(): nothing is readable
//   under the path before that, and a cancelled writer leaves only uncommitted blocks, which Azure drops.
// - move() and concat() copy on the server (Copy Blob From URL, Put Block From URL + Put Block List); the
//   copy source is authorised with a short read-only SAS, so the bytes never pass through this process.
// - redirectURL() hands out read-only SAS URLs.
// Azure cannot append, so the registry stores uploads as segments and concatenates them (capabilities).
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  BlobSASPermissions,
  BlobServiceClient,
  SASProtocol,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
  type BlockBlobClient,
  type ContainerClient,
} from '@azure/storage-blob';
import type { ByteRange, FileInfo, FileWriter, Opts, StorageDriver } from '../driver.js';
import { StorageError } from '../driver.js';

const MiB = 1024 * 1024;
/** Azure's largest block (Put Block, Put Block From URL). */
export const maxBlockBytes = 4000 * MiB;
/** Azure's most blocks in one block blob. */
export const maxBlocks = 50_000;
/** Copy Blob From URL copies sources up to this size in one synchronous request. */
const syncCopyMaxBytes = 256 * MiB;
/** Put Blob takes up to 5000 MiB; a putContent above this goes through staged blocks instead. */
const singleUploadMaxBytes = 256 * MiB;
const defaultBlockSize = 8 * MiB;
const defaultRedirectSeconds = 1200;
const copyConcurrency = 4;
const deleteConcurrency = 16;
const listPageSize = 5000;
/** How long the SAS that authorises a server-side copy source stays valid. */
const copySourceSasSeconds = 3600;

export interface AzureOptions {
  container: string;
  /** Slash-separated path inside the container that every key lives under. */
  prefix?: string;
  /** Storage account name; also from AZURE_STORAGE_ACCOUNT or the connection string. */
  account?: string;
  /** Shared key; also from AZURE_STORAGE_KEY. */
  accountKey?: string;
  /** Connection string; also from AZURE_STORAGE_CONNECTION_STRING. */
  connectionString?: string;
  /** Blob service URL, e.g. http://127.0.0.1:10000/devstoreaccount1 for azurite. Default https://ACCOUNT.blob.core.windows.net. */
  endpoint?: string;
  /** Account or container SAS token (without or with a leading '?'); also from AZURE_STORAGE_SAS_TOKEN. */
  sasToken?: string;
  /** Bytes per staged block of a writer (default 8 MiB, at most 4000 MiB). A writer holds about two blocks in memory. */
  blockSize?: number;
  /**
   * Bytes per Put Block From URL request when copying on the server (move of large blobs, concat): sources larger
   * than this are split into ranges. Default and maximum 4000 MiB, Azure's block limit.
   */
  copyBlockSize?: number;
  /** Hand out read-only SAS URLs for reads (needs the shared key). */
  redirect?: { expiresSeconds: number };
}

type Env = Record<string, string | undefined>;

/** Parses `1048576`, `64KiB`, `8MiB`, `1GiB` (K/M/G are binary too). */
function parseSize(name: string, value: string): number {
  const m = /^(\d+)\s*(k|ki|kib|m|mi|mib|g|gi|gib)?$/i.exec(value.trim());
  if (!m) throw new Error(`azure storage URL: ${name}=${JSON.stringify(value)} is not a size (e.g. 8388608, 64KiB, 8MiB)`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const mult = unit === 'k' ? 1024 : unit === 'm' ? MiB : unit === 'g' ? 1024 * MiB : 1;
  return Number(m[1]) * mult;
}

const containerName = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const prefixSegment = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
/** Query parameters that would put a secret in the URL (compared lower-cased). */
const secretParams = ['accountkey', 'key', 'sastoken', 'sas', 'sig', 'connectionstring'];
const urlParams = ['account', 'endpoint', 'blockSize', 'copyBlockSize', 'redirect', 'redirectExpires'];

/**
 * `azure://CONTAINER/PREFIX?account=NAME&endpoint=URL&blockSize=8MiB&copyBlockSize=4000MiB&redirect=true&redirectExpires=900`.
 * Secrets never go in the URL (it ends up in logs): they come from the environment (see createAzureDriver).
 */
export function fromURL(input: string | URL): AzureOptions {
  const url = typeof input === 'string' ? new URL(input) : input;
  if (url.protocol !== 'azure:') throw new Error(`not an azure storage URL: ${url.protocol}`);
  if (url.username || url.password) {
    throw new Error('azure storage URL: credentials do not belong in the URL; set AZURE_STORAGE_KEY or AZURE_STORAGE_CONNECTION_STRING');
  }
  const opts: AzureOptions = { container: url.hostname };
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  if (prefix) opts.prefix = prefix;
  let redirect = false;
  let redirectExpires = defaultRedirectSeconds;
  for (const [key, value] of url.searchParams) {
    if (secretParams.includes(key.toLowerCase())) {
      throw new Error(
        `azure storage URL: ${key}= is a secret and does not belong in the URL (URLs end up in logs); set AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING`,
      );
    }
    switch (key) {
      case 'account':
        opts.account = value;
        break;
      case 'endpoint':
        opts.endpoint = value;
        break;
      case 'blockSize':
        opts.blockSize = parseSize(key, value);
        break;
      case 'copyBlockSize':
        opts.copyBlockSize = parseSize(key, value);
        break;
      case 'redirect':
        if (!['true', 'false'].includes(value)) throw new Error(`azure storage URL: redirect=${JSON.stringify(value)}: expected true or false`);
        redirect = value === 'true';
        break;
      case 'redirectExpires':
        redirectExpires = Number(value);
        if (!Number.isInteger(redirectExpires) || redirectExpires <= 0) {
          throw new Error(`azure storage URL: redirectExpires=${JSON.stringify(value)}: expected a positive whole number of seconds`);
        }
        break;
      default:
        throw new Error(`azure storage URL: unknown parameter ${JSON.stringify(key)}; known: ${urlParams.join(', ')}`);
    }
  }
  if (redirect) opts.redirect = { expiresSeconds: redirectExpires };
  return opts;
}

const stringKeys = ['container', 'prefix', 'account', 'accountKey', 'connectionString', 'endpoint', 'sasToken'] as const;
const sizeKeys = ['blockSize', 'copyBlockSize'] as const;

/**
 * The options for `openStorage(url, options)`: the URL's settings, overridden by the configuration's
 * `storageOptions` (the place for secrets when they do not come from the environment).
 */
export function azureOptionsFrom(url: string | URL, options: Record<string, unknown> = {}): AzureOptions {
  const o = fromURL(url);
  const rec = o as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if ((stringKeys as readonly string[]).includes(k)) {
      if (typeof v !== 'string') throw new Error(`azure storage option ${k} must be a string`);
      rec[k] = v;
    } else if ((sizeKeys as readonly string[]).includes(k)) {
      if (typeof v === 'number') rec[k] = v;
      else if (typeof v === 'string') rec[k] = parseSize(k, v);
      else throw new Error(`azure storage option ${k} must be a number of bytes or a size like "8MiB"`);
    } else if (k === 'redirect') {
      if (v === false) delete o.redirect;
      else if (v === true) o.redirect = { expiresSeconds: o.redirect?.expiresSeconds ?? defaultRedirectSeconds };
      else if (typeof v === 'object' && v !== null && Object.keys(v).every((x) => x === 'expiresSeconds')) {
        const s = (v as { expiresSeconds?: unknown }).expiresSeconds;
        if (typeof s !== 'number') throw new Error('azure storage option redirect.expiresSeconds must be a number of seconds');
        o.redirect = { expiresSeconds: s };
      } else throw new Error('azure storage option redirect must be true, false or { expiresSeconds: N }');
    } else {
      throw new Error(`unknown azure storage option ${JSON.stringify(k)} (known: ${[...stringKeys, ...sizeKeys, 'redirect'].join(', ')})`);
    }
  }
  return o;
}

export function createAzureDriver(opts: AzureOptions, env: Env = process.env): AzureDriver {
  return new AzureDriver(opts, env);
}

interface Source {
  key: string;
  path: string;
  size: number;
  etag: string | undefined;
}

/** A block id: equal length for every block this driver stages (Azure rejects mixed lengths on one blob). */
function blockId(nonce: string, index: number): string {
  return Buffer.from(`${nonce}${String(index).padStart(8, '0')}`).toString('base64');
}

function newNonce(): string {
  return randomBytes(8).toString('hex');
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  details?: { errorCode?: string };
  message?: string;
  name?: string;
}

function errorCode(e: unknown): string | undefined {
  const r = e as RestErrorLike | undefined;
  return r?.details?.errorCode ?? r?.code;
}

function statusOf(e: unknown): number | undefined {
  return (e as RestErrorLike | undefined)?.statusCode;
}

/** Runs `fn` over `items` with at most `limit` at a time; the first failure stops new work and is thrown. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/**
 * Cuts a byte stream into blocks of `blockSize` and stages each on `client` while the next one fills: at most one
 * block in flight and one filling. The last, short block is held until commit, so a small object is one Put Blob.
 */
class BlockStager {
  readonly ids: string[] = [];
  private readonly nonce = newNonce();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inflight: Promise<void> | undefined;
  private readonly md5 = createHash('md5');
  private digest: Buffer | undefined;
  bytes = 0;

  constructor(
    private readonly client: BlockBlobClient,
    private readonly blockSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    this.md5.update(chunk);
    this.bytes += chunk.length;
    let rest = chunk;
    while (rest.length > 0) {
      const take = Math.min(this.blockSize - this.pendingBytes, rest.length);
      this.pending.push(take === rest.length ? rest : rest.subarray(0, take));
      this.pendingBytes += take;
      rest = rest.subarray(take);
      if (this.pendingBytes === this.blockSize) await this.stagePending();
    }
  }

  private async stagePending(): Promise<void> {
    const block = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.inflight; // one block in flight at a time; a failed one fails the writer here
    if (this.ids.length >= maxBlocks) {
      throw new Error(`the object exceeds Azure's ${maxBlocks} blocks of ${this.blockSize} bytes: raise blockSize`);
    }
    const id = blockId(this.nonce, this.ids.length);
    this.ids.push(id);
    const staging = this.client.stageBlock(id, block, block.length, { abortSignal: this.signal }).then(() => undefined);
    staging.catch(() => undefined); // observed by the next await
    this.inflight = staging;
  }

  /** Waits for the block in flight (the tail stays pending for commit). */
  async drain(): Promise<void> {
    await this.inflight;
  }

  /** Waits for the block in flight, ignoring its outcome. */
  async settle(): Promise<void> {
    await this.inflight?.catch(() => undefined);
  }

  /** MD5 of every byte pushed; final once pushing is over. */
  get contentMD5(): Buffer {
    return (this.digest ??= this.md5.digest());
  }

  /** Makes everything pushed visible at the blob, atomically, with its MD5 as the blob's Content-MD5. */
  async commit(signal: AbortSignal | undefined): Promise<void> {
    await this.inflight;
    const md5 = this.contentMD5;
    const tail = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const headers = { blobContentType: 'application/octet-stream', blobContentMD5: md5 };
    if (this.ids.length === 0) {
      await this.client.upload(tail, tail.length, { abortSignal: signal, blobHTTPHeaders: headers });
      return;
    }
    if (tail.length > 0) {
      const id = blockId(this.nonce, this.ids.length);
      await this.client.stageBlock(id, tail, tail.length, { abortSignal: signal });
      this.ids.push(id);
    }
    await this.client.commitBlockList(this.ids, { abortSignal: signal, blobHTTPHeaders: headers });
  }
}

class AzureWriter implements FileWriter {
  readonly stream: Writable;
  private readonly stager: BlockStager;
  private state: 'open' | 'committed' | 'cancelled' = 'open';

  constructor(
    private readonly driver: AzureDriver,
    private readonly path: string,
    private readonly client: BlockBlobClient,
    blockSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    const stager = (this.stager = new BlockStager(client, blockSize, signal));
    this.stream = new Writable({
      highWaterMark: Math.min(blockSize, MiB),
      write(chunk: Buffer, _enc, cb) {
        stager.push(chunk).then(() => cb(), cb);
      },
      final(cb) {
        stager.drain().then(() => cb(), cb);
      },
    });
  }

  get size(): number {
    return this.stager.bytes;
  }

  async commit(o?: Opts): Promise<void> {
    if (this.state === 'committed') return;
    if (this.state === 'cancelled') throw new StorageError('io', this.path, `writer for ${this.path} was cancelled`, 'azure');
    const signal = o?.signal ?? this.signal;
    try {
      if (!this.stream.writableEnded) this.stream.end();
      await finished(this.stream);
      try {
        await this.stager.commit(signal);
      } catch (e) {
        // Every commit on a blob drops all of its uncommitted blocks, so a writer racing another writer (or a
        // move/putContent) to the same path loses its blocks. Identical content already there counts as done:
        // two clients pushing the same layer to its content address both succeed.
        if (errorCode(e) !== 'InvalidBlockList') throw e;
        if (!(await this.sameContent(signal))) {
          throw new StorageError(
            'io',
            this.path,
            `commit of ${this.path} failed: another writer committed this path while this one was staging blocks (Azure drops uncommitted blocks on every commit)`,
            'azure',
            { cause: e },
          );
        }
      }
      this.state = 'committed';
    } catch (e) {
      throw this.driver.storageError(e, this.path);
    }
  }

  private async sameContent(signal: AbortSignal | undefined): Promise<boolean> {
    try {
      const p = await this.client.getProperties({ abortSignal: signal });
      return p.contentLength === this.stager.bytes && !!p.contentMD5 && Buffer.from(p.contentMD5).equals(this.stager.contentMD5);
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return this.commit();
  }

  async cancel(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'cancelled';
    this.stream.destroy();
    // Uncommitted blocks are never readable and Azure discards them (after a week at the latest); whatever was
    // committed at the path before this writer stays, as with a new-file writer on a filesystem.
    await this.stager.settle();
  }
}

export class AzureDriver implements StorageDriver {
  readonly name = 'azure';
  readonly capabilities = { append: false, minConcatPart: 0 };
  readonly container: ContainerClient;
  private readonly prefix: string;
  private readonly blockSize: number;
  private readonly copyBlockSize: number;
  private readonly sharedKey: StorageSharedKeyCredential | undefined;
  private readonly redirectSeconds: number | undefined;
  private readonly https: boolean;
  private readonly where: string;
  /**
   * Whether the service does Put Block From URL: unknown until the first try. Azure does; azurite answers 501, and
   * then copies stream through this process instead (the only case where they do).
   */
  private serverCopy: boolean | undefined;

  constructor(opts: AzureOptions, env: Env = process.env) {
    if (!containerName.test(opts.container ?? '')) {
      throw new Error(`azure storage: invalid container name ${JSON.stringify(opts.container)} (3-63 lowercase letters, digits and single hyphens)`);
    }
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix && !prefix.split('/').every((s) => prefixSegment.test(s))) {
      throw new Error(`azure storage: invalid prefix ${JSON.stringify(opts.prefix)}`);
    }
    this.prefix = prefix ? `${prefix}/` : '';
    this.blockSize = opts.blockSize ?? defaultBlockSize;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1 || this.blockSize > maxBlockBytes) {
      throw new Error(`azure storage: blockSize ${opts.blockSize} must be an integer from 1 to ${maxBlockBytes} bytes`);
    }
    this.copyBlockSize = opts.copyBlockSize ?? maxBlockBytes;
    if (!Number.isInteger(this.copyBlockSize) || this.copyBlockSize < 1 || this.copyBlockSize > maxBlockBytes) {
      throw new Error(`azure storage: copyBlockSize ${opts.copyBlockSize} must be an integer from 1 to ${maxBlockBytes} bytes`);
    }

    // Explicit options first; the environment only when the options carry no credential at all.
    let connectionString = opts.connectionString;
    let accountKey = opts.accountKey;
    let sasToken = opts.sasToken;
    if (!connectionString && !accountKey && !sasToken) {
      if (env.AZURE_STORAGE_CONNECTION_STRING && !opts.endpoint && !opts.account) connectionString = env.AZURE_STORAGE_CONNECTION_STRING;
      else if (env.AZURE_STORAGE_KEY) accountKey = env.AZURE_STORAGE_KEY;
      else if (env.AZURE_STORAGE_SAS_TOKEN) sasToken = env.AZURE_STORAGE_SAS_TOKEN;
      else if (env.AZURE_STORAGE_CONNECTION_STRING) connectionString = env.AZURE_STORAGE_CONNECTION_STRING;
    }
    let service: BlobServiceClient;
    if (connectionString) {
      if (opts.endpoint) throw new Error('azure storage: give either a connection string or an endpoint, not both');
      try {
        service = BlobServiceClient.fromConnectionString(connectionString);
      } catch (e) {
        throw new Error(`azure storage: invalid connection string: ${(e as Error).message}`);
      }
      if (opts.account && service.accountName && opts.account !== service.accountName) {
        throw new Error(`azure storage: account ${opts.account} does not match the connection string's account ${service.accountName}`);
      }
    } else {
      const account = opts.account ?? env.AZURE_STORAGE_ACCOUNT;
      if (!account && !opts.endpoint) throw new Error('azure storage: no account: set account= in the storage URL or AZURE_STORAGE_ACCOUNT');
      const endpoint = (opts.endpoint ?? `https://${account}.blob.core.windows.net`).replace(/\/+$/, '');
      if (!/^https?:\/\//.test(endpoint)) throw new Error(`azure storage: endpoint ${JSON.stringify(endpoint)} must be an http(s) URL`);
      if (accountKey) {
        if (!account) throw new Error('azure storage: a shared key needs the account name: set account= or AZURE_STORAGE_ACCOUNT');
        service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, accountKey));
      } else if (sasToken) {
        service = new BlobServiceClient(`${endpoint}?${sasToken.replace(/^\?/, '')}`);
      } else {
        throw new Error('azure storage: no credentials: set AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING');
      }
    }
    this.sharedKey = service.credential instanceof StorageSharedKeyCredential ? service.credential : undefined;
    this.container = service.getContainerClient(opts.container);
    const base = new URL(this.container.url);
    this.https = base.protocol === 'https:';
    this.where = `${base.origin}${base.pathname}`;
    if (opts.redirect) {
      const s = opts.redirect.expiresSeconds;
      if (!Number.isInteger(s) || s <= 0) throw new Error(`azure storage: redirect.expiresSeconds ${s} must be a positive integer`);
      if (!this.sharedKey) throw new Error('azure storage: redirect URLs are signed with the shared key: set AZURE_STORAGE_KEY (or a connection string with AccountKey)');
      this.redirectSeconds = s;
    }
  }

  /** 'server' after a copy ran on the server, 'stream' once the service said it cannot (azurite), else 'unknown'. */
  get copyMode(): 'server' | 'stream' | 'unknown' {
    return this.serverCopy === undefined ? 'unknown' : this.serverCopy ? 'server' : 'stream';
  }

  private key(path: string): string {
    return this.prefix + path;
  }

  private pathOf(name: string): string {
    return name.slice(this.prefix.length);
  }

  private blob(path: string): BlockBlobClient {
    return this.container.getBlockBlobClient(this.key(path));
  }

  /** Maps SDK errors to StorageErrors: not-found, aborted, and a clear message for a missing container. */
  storageError(e: unknown, path: string): unknown {
    if (e instanceof StorageError) return e;
    const err = e as RestErrorLike;
    if (err?.name === 'AbortError') return new StorageError('aborted', path, 'operation aborted', this.name, { cause: e });
    const code = errorCode(e);
    const status = statusOf(e);
    if (code === 'ContainerNotFound') {
      return new StorageError(
        'io',
        path,
        `azure: container ${JSON.stringify(this.container.containerName)} does not exist at ${this.where}; create it (Wharf does not create containers)`,
        this.name,
        { cause: e },
      );
    }
    if (code === 'BlobNotFound' || (status === 404 && code !== 'CannotVerifyCopySource')) {
      return new StorageError('not-found', path, `not found: ${path}`, this.name, { cause: e });
    }
    if (status === 403) {
      return new StorageError('io', path, `azure: access denied to ${this.where} (${code ?? 403}): check the account key or SAS token`, this.name, { cause: e });
    }
    if (status !== undefined) {
      const first = (err.message ?? '').split('\n', 1)[0];
      return new StorageError('io', path, `azure: ${status} ${code ?? ''}: ${first}`.replace(/\s+:/, ':'), this.name, { cause: e });
    }
    return new StorageError('io', path, `azure: ${err?.message ?? String(e)}`, this.name, { cause: e });
  }

  private async run<T>(path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.storageError(e, path);
    }
  }

  async getContent(path: string, o?: Opts): Promise<Buffer> {
    return this.run(path, async () => {
      const res = await this.blob(path).download(0, undefined, { abortSignal: o?.signal, maxRetryRequests: 5 });
      const chunks: Buffer[] = [];
      for await (const c of res.readableStreamBody as Readable) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    });
  }

  async putContent(path: string, data: Uint8Array, o?: Opts): Promise<void> {
    await this.run(path, async () => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const blobHTTPHeaders = { blobContentType: 'application/octet-stream', blobContentMD5: createHash('md5').update(buf).digest() };
      if (buf.length <= singleUploadMaxBytes) {
        await this.blob(path).upload(buf, buf.length, { abortSignal: o?.signal, blobHTTPHeaders });
      } else {
        await this.blob(path).uploadData(buf, { abortSignal: o?.signal, blobHTTPHeaders, blockSize: this.blockSize, maxSingleShotSize: singleUploadMaxBytes, concurrency: 2 });
      }
    });
  }

  async reader(path: string, range?: ByteRange, o?: Opts): Promise<Readable> {
    return this.run(path, async () => {
      const client = this.blob(path);
      const offset = range?.offset ?? 0;
      const length = range?.length;
      // The SDK reads to the end for a count of 0; a zero-length read only needs the blob to exist.
      if (length === 0) {
        await client.getProperties({ abortSignal: o?.signal });
        return Readable.from([]);
      }
      try {
        const res = await client.download(offset, length, { abortSignal: o?.signal, maxRetryRequests: 5 });
        return res.readableStreamBody as Readable;
      } catch (e) {
        // Reading at or past the end: Azure answers 416; the blob exists, so the read is empty.
        if (statusOf(e) !== 416) throw e;
        await client.getProperties({ abortSignal: o?.signal });
        return Readable.from([]);
      }
    });
  }

  async writer(path: string, append: boolean, o?: Opts): Promise<FileWriter> {
    if (append) throw new StorageError('io', path, 'append is not supported on Azure Blob', this.name);
    return new AzureWriter(this, path, this.blob(path), this.blockSize, o?.signal);
  }

  async stat(path: string, o?: Opts): Promise<FileInfo> {
    return this.run(path, async () => {
      try {
        const p = await this.blob(path).getProperties({ abortSignal: o?.signal });
        return { path, size: p.contentLength ?? 0, modTime: p.lastModified ?? new Date(0), isDir: false };
      } catch (e) {
        const err = this.storageError(e, path);
        if (!(err instanceof StorageError) || err.kind !== 'not-found') throw err;
      }
      const page = await this.container
        .listBlobsFlat({ prefix: this.key(path) + '/', abortSignal: o?.signal })
        .byPage({ maxPageSize: 1 })
        .next();
      if (!page.done && page.value.segment.blobItems.length > 0) return { path, size: 0, modTime: new Date(), isDir: true };
      throw new StorageError('not-found', path, `not found: ${path}`, this.name);
    });
  }

  async list(path: string, o?: Opts): Promise<string[]> {
    return this.run(path, async () => {
      // A set: "a/b" can be a blob and a prefix ("a/b/c") at once.
      const out = new Set<string>();
      const pages = this.container.listBlobsByHierarchy('/', { prefix: this.key(path) + '/', abortSignal: o?.signal }).byPage({ maxPageSize: listPageSize });
      for await (const page of pages) {
        for (const p of page.segment.blobPrefixes ?? []) out.add(this.pathOf(p.name.replace(/\/+$/, '')));
        for (const b of page.segment.blobItems) out.add(this.pathOf(b.name));
      }
      if (out.size === 0) throw new StorageError('not-found', path, `not found: ${path}`, this.name);
      return [...out].sort();
    });
  }

  async *walk(path: string, o?: Opts): AsyncIterable<FileInfo> {
    try {
      const pages = this.container.listBlobsFlat({ prefix: this.key(path) + '/', abortSignal: o?.signal }).byPage({ maxPageSize: listPageSize });
      for await (const page of pages) {
        for (const b of page.segment.blobItems) {
          yield { path: this.pathOf(b.name), size: b.properties.contentLength ?? 0, modTime: b.properties.lastModified, isDir: false };
        }
      }
    } catch (e) {
      throw this.storageError(e, path);
    }
  }

  private async source(path: string, signal: AbortSignal | undefined): Promise<Source> {
    const p = await this.run(path, () => this.blob(path).getProperties({ abortSignal: signal }));
    return { key: this.key(path), path, size: p.contentLength ?? 0, etag: p.etag };
  }

  /** A URL the service can read a copy source from: a short read-only SAS with the shared key, else the configured SAS. */
  private sourceURL(key: string): string {
    const client = this.container.getBlobClient(key);
    if (!this.sharedKey) return client.url; // the client's URL carries the configured SAS token
    const sas = generateBlobSASQueryParameters(
      {
        containerName: this.container.containerName,
        blobName: key,
        permissions: BlobSASPermissions.parse('r'),
        expiresOn: new Date(Date.now() + copySourceSasSeconds * 1000),
        protocol: this.https ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
      },
      this.sharedKey,
    ).toString();
    return `${client.url}?${sas}`;
  }

  async move(from: string, to: string, o?: Opts): Promise<void> {
    const src = await this.source(from, o?.signal);
    if (from === to) return;
    await this.run(to, async () => {
      if (src.size <= Math.min(syncCopyMaxBytes, this.copyBlockSize)) {
        await this.blob(to).syncCopyFromURL(this.sourceURL(src.key), {
          abortSignal: o?.signal,
          sourceConditions: src.etag ? { ifMatch: src.etag } : undefined,
        });
      } else {
        await this.copyBlocks([src], to, o?.signal);
      }
      await this.removeSource(src, o?.signal);
    });
  }

  async concat(sources: string[], dest: string, o?: Opts): Promise<void> {
    if (sources.length === 1) return this.move(sources[0]!, dest, o);
    const srcs: Source[] = [];
    for (const s of sources) srcs.push(await this.source(s, o?.signal));
    await this.run(dest, async () => {
      await this.copyBlocks(srcs, dest, o?.signal);
      await eachLimited(
        srcs.filter((s) => s.path !== dest),
        deleteConcurrency,
        (s) => this.removeSource(s, o?.signal),
      );
    });
  }

  /** Deletes a moved source unless it changed since it was read (then it is someone else's now). */
  private async removeSource(src: Source, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.container
        .getBlobClient(src.key)
        .deleteIfExists({ abortSignal: signal, deleteSnapshots: 'include', conditions: src.etag ? { ifMatch: src.etag } : undefined });
    } catch (e) {
      if (statusOf(e) !== 412) throw e;
    }
  }

  /**
   * Builds `dest` from the sources' bytes in order: one Put Block From URL per range of at most copyBlockSize,
   * then one Put Block List, so dest changes atomically. A commit that loses a race with another writer of dest
   * (every commit drops the other uncommitted blocks) is retried.
   */
  private async copyBlocks(sources: Source[], dest: string, signal: AbortSignal | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.serverCopy !== false) {
          try {
            await this.copyBlocksOnServer(sources, dest, signal);
            return;
          } catch (e) {
            if (statusOf(e) !== 501) throw e;
            this.serverCopy = false; // azurite: APINotImplemented
          }
        }
        await this.copyBlocksThroughProcess(sources, dest, signal);
        return;
      } catch (e) {
        if (errorCode(e) !== 'InvalidBlockList' || attempt >= 3) throw e;
      }
    }
  }

  private async copyBlocksOnServer(sources: Source[], dest: string, signal: AbortSignal | undefined): Promise<void> {
    const ranges: { src: Source; offset: number; count: number }[] = [];
    for (const src of sources) {
      for (let offset = 0; offset < src.size; offset += this.copyBlockSize) {
        ranges.push({ src, offset, count: Math.min(this.copyBlockSize, src.size - offset) });
      }
    }
    if (ranges.length > maxBlocks) {
      throw new StorageError('io', dest, `concat into ${dest} needs ${ranges.length} blocks, more than Azure's ${maxBlocks}: raise copyBlockSize`, this.name);
    }
    const client = this.blob(dest);
    const nonce = newNonce();
    const ids = ranges.map((_, i) => blockId(nonce, i));
    const urls = new Map(sources.map((s) => [s.key, this.sourceURL(s.key)]));
    await eachLimited(ranges, copyConcurrency, async (r, i) => {
      await client.stageBlockFromURL(ids[i]!, urls.get(r.src.key)!, r.offset, r.count, { abortSignal: signal });
      this.serverCopy = true;
    });
    await client.commitBlockList(ids, { abortSignal: signal, blobHTTPHeaders: { blobContentType: 'application/octet-stream' } });
  }

  /** The fallback for services without Put Block From URL: read each source and stage its bytes in blocks. */
  private async copyBlocksThroughProcess(sources: Source[], dest: string, signal: AbortSignal | undefined): Promise<void> {
    const stager = new BlockStager(this.blob(dest), this.blockSize, signal);
    try {
      for (const src of sources) {
        if (src.size === 0) continue;
        const res = await this.container
          .getBlobClient(src.key)
          .download(0, undefined, { abortSignal: signal, maxRetryRequests: 5, conditions: src.etag ? { ifMatch: src.etag } : undefined });
        for await (const chunk of res.readableStreamBody as Readable) await stager.push(chunk as Buffer);
      }
      await stager.commit(signal);
    } finally {
      await stager.settle();
    }
  }

  async delete(path: string, o?: Opts): Promise<void> {
    await this.run(path, async () => {
      // Snapshots (made by backup policies, say) would make a plain delete fail with 409 SnapshotsPresent.
      await this.blob(path).deleteIfExists({ abortSignal: o?.signal, deleteSnapshots: 'include' });
      const pages = this.container.listBlobsFlat({ prefix: this.key(path) + '/', abortSignal: o?.signal }).byPage({ maxPageSize: listPageSize });
      for await (const page of pages) {
        await eachLimited(page.segment.blobItems, deleteConcurrency, async (b) => {
          await this.container.getBlobClient(b.name).deleteIfExists({ abortSignal: o?.signal, deleteSnapshots: 'include' });
        });
      }
    });
  }

  async redirectURL(path: string): Promise<string | undefined> {
    if (this.redirectSeconds === undefined || !this.sharedKey) return undefined;
    const key = this.key(path);
    const sas = generateBlobSASQueryParameters(
      {
        containerName: this.container.containerName,
        blobName: key,
        permissions: BlobSASPermissions.parse('r'),
        expiresOn: new Date(Date.now() + this.redirectSeconds * 1000),
        protocol: this.https ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
      },
      this.sharedKey,
    ).toString();
    return `${this.container.getBlobClient(key).url}?${sas}`;
  }
}
