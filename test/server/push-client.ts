// A minimal raw HTTP client for registry operations (OCI distribution spec), on node:http.
// Bodies can be streamed (with backpressure), responses can be read whole or streamed.
// No retries, no redirects, no keep-alive: each request is exactly one connection, so what the
// tests see is what the server did. Every request is appended to a trace for failure reports.
import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const agent = new http.Agent({ keepAlive: false });

/** A body given whole, or streamed from chunks whose total length is known up front. */
export type RequestBody = Buffer | { length: number; chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> };

export interface RawRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** "METHOD /path?query", for messages. */
  request: string;
}

/** Thrown when a response has an unexpected status. */
export class UnexpectedResponse extends Error {
  constructor(
    readonly what: string,
    readonly response: RawResponse,
    expected: readonly number[],
  ) {
    super(
      `${what}: ${response.request} answered ${response.status}, expected ${expected.join(' or ')}; body: ${response.body
        .toString('utf8')
        .slice(0, 500)}`,
    );
    this.name = 'UnexpectedResponse';
  }
}

/** A check inside an operation failed (not a network error): always a test failure. */
export class CheckFailure extends Error {
  override name = 'CheckFailure';
}

export function requireLocation(res: RawResponse, what: string): string {
  const location = header(res, 'location');
  if (!location) throw new CheckFailure(`${what}: ${res.request} answered ${res.status} without a Location header`);
  return location;
}

export function bodyLength(body: RequestBody | undefined): number {
  if (body === undefined) return 0;
  return Buffer.isBuffer(body) ? body.length : body.length;
}

function describe(method: string, url: URL): string {
  return `${method} ${url.pathname}${url.search}`;
}

function sendBody(req: ClientRequest, body: RequestBody | undefined): Promise<void> {
  if (body === undefined) {
    req.end();
    return Promise.resolve();
  }
  if (Buffer.isBuffer(body)) {
    req.end(body);
    return Promise.resolve();
  }
  return pipeline(Readable.from(body.chunks, { objectMode: false }), req);
}

/** Sends a request and resolves with the response as soon as its headers arrive (body unread). */
export function openRequest(r: RawRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body !== undefined || ['POST', 'PUT', 'PATCH'].includes(r.method)) headers['Content-Length'] = String(bodyLength(r.body));
    const req = http.request(r.url, { method: r.method, headers, agent }, resolve);
    req.setTimeout(r.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout after ${r.timeoutMs ?? 30_000} ms: ${describe(r.method, r.url)}`)));
    req.on('error', reject);
    sendBody(req, r.body).catch((e: unknown) => {
      req.destroy(e instanceof Error ? e : new Error(String(e)));
      reject(e);
    });
  });
}

export async function readAll(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Reads a response body without keeping it: its sha256 digest and length. */
export async function hashStream(res: IncomingMessage, onChunk?: (n: number) => void): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of res) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    onChunk?.(size);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Sends a request and reads the whole response body. */
export async function exchange(r: RawRequest): Promise<RawResponse> {
  const res = await openRequest(r);
  const body = await readAll(res);
  return { status: res.statusCode ?? 0, headers: res.headers, body, request: describe(r.method, r.url) };
}

export function expectStatus(res: RawResponse, expected: number | readonly number[], what: string): RawResponse {
  const list = typeof expected === 'number' ? [expected] : expected;
  if (!list.includes(res.status)) throw new UnexpectedResponse(what, res, list);
  return res;
}

export function header(res: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** The error codes of an OCI error body (`{"errors":[{"code":...}]}`), or [] if it is not one. */
export function errorCodes(res: RawResponse): string[] {
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { errors?: { code?: unknown }[] };
    return (parsed.errors ?? []).map((e) => String(e.code));
  } catch {
    return [];
  }
}

/**
 * Parses an upload Range header "0-<last>": how many bytes the server says it holds.
 * "0-0" is ambiguous (Distribution sends it for an empty upload; strictly it means one byte),
 * so it reads as 0 to 1 bytes; "0--1" reads as 0.
 */
export function parseUploadRange(value: string | undefined): { minBytes: number; maxBytes: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:bytes=)?0-(-?\d+)$/.exec(value.trim());
  if (!m) return undefined;
  const end = Number(m[1]);
  if (end < -1) return undefined;
  if (end === 0) return { minBytes: 0, maxBytes: 1 };
  return { minBytes: end + 1, maxBytes: end + 1 };
}

export interface TraceEntry {
  at: number;
  request: string;
  sent: number;
  status: number | string;
}

/** Registry operations against one base URL. Locations may be relative or absolute. */
export class PushClient {
  readonly trace: TraceEntry[] = [];

  constructor(
    public baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {}

  url(pathAndQuery: string): URL {
    return new URL(pathAndQuery, this.baseUrl);
  }

  /** Resolves an upload Location against the current base URL (a restarted server keeps the same port). */
  location(location: string): URL {
    return new URL(location, this.baseUrl);
  }

  async send(r: Omit<RawRequest, 'timeoutMs'> & { timeoutMs?: number }): Promise<RawResponse> {
    const entry: TraceEntry = { at: Date.now(), request: describe(r.method, r.url), sent: bodyLength(r.body), status: 'pending' };
    this.remember(entry);
    try {
      const res = await exchange({ timeoutMs: this.timeoutMs, ...r });
      entry.status = res.status;
      return res;
    } catch (e) {
      entry.status = `error: ${(e as Error).message}`;
      throw e;
    }
  }

  /** Like send, but the response body is left for the caller to stream. */
  async open(r: Omit<RawRequest, 'timeoutMs'> & { timeoutMs?: number }): Promise<IncomingMessage> {
    const entry: TraceEntry = { at: Date.now(), request: describe(r.method, r.url), sent: bodyLength(r.body), status: 'pending' };
    this.remember(entry);
    try {
      const res = await openRequest({ timeoutMs: this.timeoutMs, ...r });
      entry.status = res.statusCode ?? 0;
      return res;
    } catch (e) {
      entry.status = `error: ${(e as Error).message}`;
      throw e;
    }
  }

  private remember(entry: TraceEntry): void {
    this.trace.push(entry);
    if (this.trace.length > 400) this.trace.splice(0, this.trace.length - 200);
  }

  formatTrace(last = 40): string {
    return this.trace
      .slice(-last)
      .map((t) => `  ${new Date(t.at).toISOString()} ${t.request} [${t.sent} bytes] -> ${t.status}`)
      .join('\n');
  }

  startUpload(repo: string): Promise<RawResponse> {
    return this.send({ method: 'POST', url: this.url(`/v2/${repo}/blobs/uploads/`) });
  }

  /** POST /v2/<repo>/blobs/uploads/?digest=… with the whole blob as body. */
  monolithicUpload(repo: string, digest: string, body: RequestBody): Promise<RawResponse> {
    const url = this.url(`/v2/${repo}/blobs/uploads/`);
    url.searchParams.set('digest', digest);
    return this.send({ method: 'POST', url, body, headers: { 'Content-Type': 'application/octet-stream' } });
  }

  patchChunk(location: string, start: number, chunk: RequestBody): Promise<RawResponse> {
    const end = start + bodyLength(chunk) - 1;
    return this.send({
      method: 'PATCH',
      url: this.location(location),
      body: chunk,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end}` },
    });
  }

  /** PUT <location>?digest=…, optionally carrying the last chunk. */
  completeUpload(location: string, digest: string, lastChunk?: RequestBody): Promise<RawResponse> {
    const url = this.location(location);
    url.searchParams.set('digest', digest);
    return this.send({ method: 'PUT', url, body: lastChunk ?? Buffer.alloc(0), headers: { 'Content-Type': 'application/octet-stream' } });
  }

  uploadStatus(location: string): Promise<RawResponse> {
    return this.send({ method: 'GET', url: this.location(location) });
  }

  headBlob(repo: string, digest: string): Promise<RawResponse> {
    return this.send({ method: 'HEAD', url: this.url(`/v2/${repo}/blobs/${digest}`) });
  }

  getBlob(repo: string, digest: string): Promise<RawResponse> {
    return this.send({ method: 'GET', url: this.url(`/v2/${repo}/blobs/${digest}`) });
  }

  openBlob(repo: string, digest: string, timeoutMs?: number): Promise<IncomingMessage> {
    return this.open({ method: 'GET', url: this.url(`/v2/${repo}/blobs/${digest}`), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  putManifest(repo: string, reference: string, bytes: Buffer, mediaType = OCI_MANIFEST): Promise<RawResponse> {
    return this.send({ method: 'PUT', url: this.url(`/v2/${repo}/manifests/${reference}`), body: bytes, headers: { 'Content-Type': mediaType } });
  }

  getManifest(repo: string, reference: string): Promise<RawResponse> {
    return this.send({ method: 'GET', url: this.url(`/v2/${repo}/manifests/${reference}`), headers: { Accept: MANIFEST_ACCEPT } });
  }

  deleteManifest(repo: string, reference: string): Promise<RawResponse> {
    return this.send({ method: 'DELETE', url: this.url(`/v2/${repo}/manifests/${reference}`) });
  }

  listTags(repo: string): Promise<RawResponse> {
    return this.send({ method: 'GET', url: this.url(`/v2/${repo}/tags/list`) });
  }
}
