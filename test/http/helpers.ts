// Shared helpers for the HTTP tests: digests, requests (fetch and raw node:http / node:net), error-envelope
// assertions, and pushing blobs, manifests and whole images the way a client following the spec would.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { before, after } from 'node:test';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

export const API_VERSION = 'registry/2.0';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

// ---------------------------------------------------------------------------------------------- digests

export type Algorithm = 'sha256' | 'sha512';

export function digestOf(data: Uint8Array | string, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function sha256(data: Uint8Array | string): string {
  return digestOf(data, 'sha256');
}

export function sha512(data: Uint8Array | string): string {
  return digestOf(data, 'sha512');
}

/** A syntactically valid digest of content nobody pushed. */
export function absentDigest(algorithm: Algorithm = 'sha256'): string {
  return digestOf(randomBytes(32), algorithm);
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

let counter = 0;
/** A repository name unique within the process, valid under the name grammar. */
export function uniqueName(prefix = 'repo'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

let tagCounter = 0;
export function uniqueTag(prefix = 'tag'): string {
  tagCounter += 1;
  return `${prefix}-${tagCounter}`;
}

// ---------------------------------------------------------------------------------------------- lifecycle

/**
 * Closes a test registry. A client reads a response to its Content-Length before the server has finished it;
 * a close() at that moment waits for the keep-alive connection to expire (seconds). One more request on the
 * pooled connection first lets every earlier response finish, so close() finds only idle connections.
 */
/** One in-process registry for a test file: started before its tests, stopped after; `onStart` gets its URL. */
export function useTestRegistry(onStart: (url: string) => void): void {
  let reg: TestRegistry | undefined;
  before(async () => {
    reg = await startTestRegistry();
    onStart(reg.url);
  });
  after(async () => {
    await closeRegistry(reg);
  });
}

export async function closeRegistry(reg: TestRegistry | undefined): Promise<void> {
  if (!reg) return;
  try {
    await (await fetch(new URL('/v2/', reg.url))).arrayBuffer();
  } catch {
    // the registry may already be unreachable; close it anyway
  }
  await reg.close();
}

// ---------------------------------------------------------------------------------------------- fetch

export interface CallInit {
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

/** One request with global fetch; never follows redirects (a 3xx is a result to check, not to chase). */
export async function call(base: string, method: string, path: string | URL, init: CallInit = {}): Promise<Response> {
  const url = path instanceof URL ? path : new URL(path, base);
  const req: RequestInit = { method, redirect: 'manual' };
  if (init.headers) req.headers = init.headers;
  if (init.body !== undefined) req.body = init.body;
  return fetch(url, req);
}

/** Asserts the API version header every response carries. */
export function assertApiVersion(res: Response | RawResponse, what = ''): void {
  const value = res instanceof Response ? res.headers.get('docker-distribution-api-version') : header(res, 'docker-distribution-api-version');
  assert.equal(value, API_VERSION, `Docker-Distribution-API-Version on ${what || 'response'}`);
}

export async function describeResponse(res: Response): Promise<string> {
  let text = '';
  try {
    text = await res.clone().text();
  } catch {
    text = '<unreadable>';
  }
  return `${res.status} ${text.slice(0, 500)}`;
}

/** Asserts the status (with the body in the failure message) and the API version header. */
export async function expectStatus(res: Response, status: number, what = ''): Promise<void> {
  if (res.status !== status) assert.fail(`${what ? what + ': ' : ''}expected ${status}, got ${await describeResponse(res)}`);
  assertApiVersion(res, what);
}

export interface ErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

/** Checks the spec's error envelope (a JSON object with a non-empty `errors` array of {code, message, detail?}). */
export function checkErrorBody(text: string, contentType: string | null | undefined, what: string): ErrorEntry[] {
  assert.ok(contentType, `${what}: an error response needs a Content-Type`);
  assert.match(contentType, /^application\/json\s*(;.*)?$/i, `${what}: error Content-Type`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${what}: error body is not JSON: ${text.slice(0, 200)}`);
  }
  assert.ok(body && typeof body === 'object' && !Array.isArray(body), `${what}: error body must be an object`);
  const errors = (body as { errors?: unknown }).errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `${what}: error body needs a non-empty errors array: ${text.slice(0, 200)}`);
  for (const e of errors as unknown[]) {
    assert.ok(e && typeof e === 'object', `${what}: each error is an object`);
    const entry = e as Record<string, unknown>;
    assert.equal(typeof entry.code, 'string', `${what}: error code is a string`);
    assert.match(entry.code as string, /^[A-Z_]+$/, `${what}: error code has only upper-case letters and underscores`);
    if (entry.message !== undefined) assert.equal(typeof entry.message, 'string', `${what}: error message is a string`);
  }
  return errors as ErrorEntry[];
}

/**
 * Asserts an error response: status, API version header, JSON envelope, and that one of the errors has
 * `code` (or one of the codes given). Returns the errors.
 */
export async function expectError(res: Response, status: number, code: string | readonly string[], what = ''): Promise<ErrorEntry[]> {
  const text = await res.text();
  const label = what || `${res.url}`;
  if (res.status !== status) assert.fail(`${label}: expected ${status} ${String(code)}, got ${res.status} ${text.slice(0, 500)}`);
  assertApiVersion(res, label);
  const errors = checkErrorBody(text, res.headers.get('content-type'), label);
  const codes = typeof code === 'string' ? [code] : code;
  assert.ok(
    errors.some((e) => codes.includes(e.code)),
    `${label}: expected error code ${codes.join(' or ')}, got ${errors.map((e) => e.code).join(', ')}`,
  );
  return errors;
}

/** The response's Location header resolved against the registry URL (it MAY be relative or absolute). */
export function locationOf(base: string, res: Response | RawResponse): URL {
  const value = res instanceof Response ? res.headers.get('location') : header(res, 'location');
  assert.ok(value, `response ${res instanceof Response ? res.status : res.status} has no Location header`);
  return new URL(value, base);
}

/** A copy of an (opaque) URL from the registry with query parameters added, keeping the ones it had. */
export function withQuery(url: URL, params: Record<string, string | string[]>): URL {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.searchParams.append(k, x);
  return u;
}

// ---------------------------------------------------------------------------------------------- raw HTTP

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function header(res: RawResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

export interface RawInit {
  method: string;
  path: string;
  headers?: Record<string, string | number>;
  /** Sent as is; Content-Length is whatever `headers` says (node adds the real length when absent). */
  body?: Buffer | string;
  /** Sent with chunked transfer encoding, one write per element (no Content-Length). */
  chunks?: (Buffer | string)[];
}

/**
 * One request with node:http on a fresh connection: the path is sent verbatim (no URL normalisation),
 * no default headers beyond Host are added, and the response body is collected.
 */
export function raw(base: string, init: RawInit): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: init.method,
        path: init.path,
        headers: init.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (e) => {
          if (!settled) {
            settled = true;
            reject(e);
          }
        });
      },
    );
    req.on('error', (e) => {
      // Once the response has been read, a late EPIPE/ECONNRESET from the unsent rest of the body is expected.
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    if (init.chunks) {
      for (const c of init.chunks) req.write(c);
      req.end();
    } else {
      req.end(init.body);
    }
  });
}

/** Asserts an error response received with `raw`. */
export function expectRawError(res: RawResponse, status: number, code: string | readonly string[], what: string): ErrorEntry[] {
  const text = res.body.toString('utf8');
  if (res.status !== status) assert.fail(`${what}: expected ${status} ${String(code)}, got ${res.status} ${text.slice(0, 500)}`);
  assertApiVersion(res, what);
  const errors = checkErrorBody(text, header(res, 'content-type'), what);
  const codes = typeof code === 'string' ? [code] : code;
  assert.ok(
    errors.some((e) => codes.includes(e.code)),
    `${what}: expected error code ${codes.join(' or ')}, got ${errors.map((e) => e.code).join(', ')}`,
  );
  return errors;
}

/**
 * Sends one request's bytes verbatim over TCP with `Connection: close` and returns everything the server
 * sent until it closed the connection, split at the end of the headers. For HEAD, `rest` must be empty.
 */
export function rawExchange(base: string, requestHead: string): Promise<{ status: number; head: string; rest: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        reject(new Error(`no complete response head: ${all.toString('latin1').slice(0, 200)}`));
        return;
      }
      const head = all.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, rest: all.subarray(end + 4) });
    });
    socket.write(requestHead);
  });
}

/** The value of one header in a raw response head (case-insensitive), undefined if absent. */
export function headValue(head: string, name: string): string | undefined {
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === name.toLowerCase()) return line.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * Starts a request with a declared Content-Length, sends only `partial` of the body, then drops the
 * connection: a client that dies mid-upload. Resolves once the bytes were handed to the socket and it is closed.
 */
export function abortMidBody(base: string, method: string, path: string, headers: Record<string, string | number>, partial: Buffer): Promise<void> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent: false });
    req.on('error', () => undefined);
    req.on('response', (res) => {
      // The server answered before the body was complete (it may refuse early); that is also "done".
      res.resume();
    });
    req.on('close', () => resolve());
    req.flushHeaders();
    req.write(partial, () => {
      setImmediate(() => req.destroy());
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------- push helpers

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: { architecture: string; os: string; variant?: string };
  urls?: string[];
}

export function descriptorOf(mediaType: string, data: Uint8Array | string, extra: Partial<Descriptor> = {}, algorithm: Algorithm = 'sha256'): Descriptor {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return { mediaType, digest: digestOf(bytes, algorithm), size: bytes.byteLength, ...extra };
}

/** POST /v2/<name>/blobs/uploads/ and returns the session Location (asserting 202). */
export async function startUpload(base: string, name: string): Promise<URL> {
  const res = await call(base, 'POST', `/v2/${name}/blobs/uploads/`);
  await expectStatus(res, 202, `POST /v2/${name}/blobs/uploads/`);
  await res.arrayBuffer();
  return locationOf(base, res);
}

/** Pushes a blob with POST then PUT <location>?digest= (the flow every registry supports); returns its digest. */
export async function pushBlob(base: string, name: string, data: Uint8Array | string, algorithm: Algorithm = 'sha256'): Promise<string> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const digest = digestOf(bytes, algorithm);
  const loc = await startUpload(base, name);
  const res = await call(base, 'PUT', withQuery(loc, { digest }), {
    headers: { 'Content-Type': 'application/octet-stream' },
    body: bytes,
  });
  await expectStatus(res, 201, `PUT upload of ${digest} to ${name}`);
  await res.arrayBuffer();
  return digest;
}

/** PUT /v2/<name>/manifests/<reference> with the given bytes and Content-Type; the response is returned unchecked. */
export async function putManifest(base: string, name: string, reference: string, body: Uint8Array | string, contentType?: string, query = ''): Promise<Response> {
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  return call(base, 'PUT', `/v2/${name}/manifests/${reference}${query}`, { headers, body });
}

/** Serialises a manifest object (unless given as bytes), pushes it (asserting 201) and returns its digest and bytes. */
export async function pushManifest(
  base: string,
  name: string,
  reference: string,
  manifest: object | string | Buffer,
  contentType: string,
): Promise<{ digest: string; body: Buffer; res: Response }> {
  const body = Buffer.isBuffer(manifest) ? manifest : Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  const res = await putManifest(base, name, reference, body, contentType);
  await expectStatus(res, 201, `PUT manifest ${name}:${reference}`);
  await res.arrayBuffer();
  return { digest: sha256(body), body, res };
}

export interface PushedImage {
  name: string;
  digest: string;
  body: Buffer;
  size: number;
  mediaType: string;
  manifest: Record<string, unknown>;
  config: Descriptor;
  configData: Buffer;
  layers: Descriptor[];
  layerData: Buffer[];
}

export interface ImageOptions {
  /** Push by this tag; by digest when absent. */
  tag?: string;
  /** OCI manifest (default) or Docker schema2. */
  docker?: boolean;
  /** Number of random layers (default 1), or their bytes. */
  layers?: number | Buffer[];
  configMediaType?: string;
  configData?: Buffer;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
  /** Push no blobs (the caller has pushed them, or wants them missing). */
  skipBlobs?: boolean;
}

/** Builds an image manifest (OCI or Docker schema2) over fresh blobs, pushes blobs and manifest. */
export async function pushImage(base: string, name: string, opts: ImageOptions = {}): Promise<PushedImage> {
  const image = buildImage(opts);
  if (!opts.skipBlobs) {
    await pushBlob(base, name, image.configData);
    for (const l of image.layerData) await pushBlob(base, name, l);
  }
  const reference = opts.tag ?? sha256(image.body);
  await pushManifest(base, name, reference, image.body, image.mediaType);
  return { ...image, name };
}

export function buildImage(opts: ImageOptions = {}): Omit<PushedImage, 'name'> {
  const mediaType = opts.docker ? MT.dockerManifest : MT.ociManifest;
  const configData = opts.configData ?? Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const configMediaType = opts.configMediaType ?? (opts.docker ? MT.dockerConfig : MT.ociConfig);
  const layerData = Array.isArray(opts.layers) ? opts.layers : Array.from({ length: opts.layers ?? 1 }, () => randomBytes(64 + Math.floor(Math.random() * 64)));
  const config = descriptorOf(configMediaType, configData);
  const layers = layerData.map((d) => descriptorOf(opts.docker ? MT.dockerLayer : MT.ociLayer, d));
  const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType };
  if (opts.artifactType !== undefined) manifest.artifactType = opts.artifactType;
  manifest.config = config;
  manifest.layers = layers;
  if (opts.subject) manifest.subject = opts.subject;
  if (opts.annotations) manifest.annotations = opts.annotations;
  const body = Buffer.from(JSON.stringify(manifest));
  return { digest: sha256(body), body, size: body.length, mediaType, manifest, config, configData, layers, layerData };
}

/** An index (OCI or Docker manifest list) over the given manifests, each with a platform. */
export function buildIndex(children: { mediaType: string; body: Buffer; platform?: Descriptor['platform']; annotations?: Record<string, string> }[], opts: { docker?: boolean; subject?: Descriptor; artifactType?: string; annotations?: Record<string, string> } = {}): Buffer {
  const index: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: opts.docker ? MT.dockerManifestList : MT.ociIndex,
  };
  if (opts.artifactType) index.artifactType = opts.artifactType;
  index.manifests = children.map((c, i) => {
    const d: Descriptor = descriptorOf(c.mediaType, c.body);
    d.platform = c.platform ?? { architecture: i % 2 ? 'arm64' : 'amd64', os: 'linux' };
    if (c.annotations) d.annotations = c.annotations;
    return d;
  });
  if (opts.subject) index.subject = opts.subject;
  if (opts.annotations) index.annotations = opts.annotations;
  return Buffer.from(JSON.stringify(index));
}

/** Fetches a JSON body, asserting 200 and the API version header. */
export async function getJSON<T>(base: string, path: string | URL, what = ''): Promise<{ res: Response; body: T }> {
  const res = await call(base, 'GET', path);
  await expectStatus(res, 200, what || String(path));
  return { res, body: (await res.json()) as T };
}
