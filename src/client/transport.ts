// The HTTP transport under RegistryClient: undici Agents (one per TLS host), the registry auth flow
// (WWW-Authenticate challenges → Bearer tokens per scope with expiry, or Basic), retries with exponential
// backoff and jitter on network errors / 5xx / 429 (honouring Retry-After) for requests whose body can be
// sent again, a bound on concurrent requests, redirects for GET/HEAD (Authorization never crosses origins),
// and the rules for plain http (loopback hosts and hosts marked insecure only).
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import {
  addScopes,
  coversScopes,
  formatScopes,
  parseWwwAuthenticate,
  scopeSet,
  type Challenge,
  type ScopeSet,
} from './auth.js';
import { dockerCredentials, normalizeAuthKey, type CredentialProvider, type Credentials } from './credentials.js';
import {
  ClientError,
  DeniedError,
  InsecureRegistryError,
  NotFoundError,
  ProtocolError,
  RegistryClientError,
  TokenError,
  TooManyRequestsError,
  UnauthorizedError,
  redactUrl,
  type OciErrorEntry,
} from './errors.js';
import { isLoopbackHost, registryApiHost, splitHostPort } from './reference.js';
import { tlsMaterialFor, type TlsFiles } from './tls.js';

/** A request body. Bytes, strings and factories can be sent again (retries, auth); a bare stream cannot. */
export type RequestBody = Uint8Array | string | Readable | (() => Readable);

export interface TransportOptions extends TlsFiles {
  /**
   * Where credentials come from. Default: the docker/podman auth files (dockerCredentials()).
   * A Credentials object is used for every registry; `false` means anonymous only.
   */
  credentials?: CredentialProvider | Credentials | false;
  /**
   * Hosts (`host` or `host:port`) that may be reached over plain http and whose TLS certificates are not
   * verified, like docker's `insecure-registries`. Loopback hosts may always use http.
   */
  insecure?: string[];
  /** Retries after the first attempt for network errors, 5xx and 429. Default 3. */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter. Default 200 ms. */
  retryBaseDelayMs?: number;
  /** Cap on one backoff delay. Default 10 s. */
  retryMaxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the 429/503 is returned. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Requests in flight at once, bodies included (a slot is held until the response body is read or closed). Default 8. */
  maxConcurrency?: number;
  /** Connections per origin. Default 8. */
  connectionsPerHost?: number;
  userAgent?: string;
  connectTimeoutMs?: number;
  /** Time to wait for response headers. Default 60 s. */
  headersTimeoutMs?: number;
  /** Longest silence inside a response body. Default 60 s. */
  bodyTimeoutMs?: number;
  /** Redirect hops followed for GET/HEAD. Default 5. */
  maxRedirects?: number;
  /** For tests: the clock used for token expiry. */
  now?: () => number;
}

export interface TransportRequestOptions {
  headers?: Record<string, string | string[] | undefined>;
  body?: RequestBody;
  signal?: AbortSignal;
  /** Token scope(s) the request needs (`repository:demo/app:pull,push`); several may be space-separated. */
  scope?: string | string[];
  /** Follow 3xx (GET/HEAD only). Default true for GET and HEAD. */
  followRedirects?: boolean;
  /** Retry on network errors / 5xx / 429 when the body can be replayed. Default true. */
  retry?: boolean;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Must be read to the end, dumped or destroyed: it holds a concurrency slot and a connection. */
  body: Readable;
  /** The URL that answered (after redirects). */
  url: string;
  /** The first value of a header (names are case-insensitive). */
  header(name: string): string | undefined;
  /** Every value of a header. */
  headerValues(name: string): string[];
  /** Reads the body as bytes, failing if it is longer than `limit`. */
  bytes(limit?: number): Promise<Buffer>;
  text(limit?: number): Promise<string>;
  json<T = unknown>(limit?: number): Promise<T>;
  /** Discards the body (reading at most a little of it; the connection is closed if more remains). */
  dump(): Promise<void>;
}

type AuthState = { kind: 'bearer'; realm: string; service: string | undefined } | { kind: 'basic'; realm: string | undefined } | { kind: 'none' };

interface TokenEntry {
  token: string;
  scopes: ScopeSet;
  expiresAt: number;
}

const retryableCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Whether an error is a transient network failure worth retrying (never an abort or a TLS verification failure). */
export function isRetryableError(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const err = cur as { name?: string; code?: string };
    if (err.name === 'AbortError' || err.code === 'ABORT_ERR' || err.code === 'UND_ERR_ABORTED') return false;
    if (err.code && retryableCodes.has(err.code)) return true;
  }
  return false;
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Retry-After in milliseconds (delta-seconds or an HTTP date); undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A counting semaphore whose waiters can be aborted. */
export class Semaphore {
  private free: number;
  private readonly waiters: { resolve: () => void; reject: (e: unknown) => void; signal: AbortSignal | undefined; onAbort: () => void }[] = [];

  constructor(readonly limit: number) {
    this.free = limit;
  }

  get available(): number {
    return this.free;
  }

  /** Resolves with a release function (idempotent). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw signal.reason;
    if (this.free > 0) {
      this.free--;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal!.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next) {
        next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve(); // the slot passes straight to the waiter
      } else {
        this.free++;
      }
    };
  }
}

function isReplayable(body: RequestBody | undefined): boolean {
  return !(body instanceof Readable);
}

function bodyFor(body: RequestBody | undefined): Uint8Array | string | Readable | undefined {
  return typeof body === 'function' ? body() : body;
}

function toArray(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : v;
}

async function readLimited(body: Readable, limit: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      body.destroy();
      throw new ProtocolError(`response from ${redactUrl(url)} is larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function wrapResponse(data: Dispatcher.ResponseData, url: string): TransportResponse {
  const headers = data.headers;
  const values = (name: string): string[] => toArray(headers[name.toLowerCase()] as string | string[] | undefined);
  const body = data.body as unknown as Readable;
  const res: TransportResponse = {
    status: data.statusCode,
    headers,
    body,
    url,
    header: (name) => values(name)[0],
    headerValues: values,
    bytes: (limit = 4 * 1024 * 1024) => readLimited(body, limit, url),
    text: async (limit) => (await res.bytes(limit)).toString('utf8'),
    json: async <T>(limit?: number) => {
      const text = await res.text(limit);
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new ProtocolError(`response from ${redactUrl(url)} is not JSON: ${(e as Error).message}`, { cause: e });
      }
    },
    dump: async () => {
      try {
        await data.body.dump({ limit: 256 * 1024 });
      } catch {
        /* a body that fails while being discarded does not matter */
      }
    },
  };
  return res;
}

/** Turns an unexpected response into the matching typed error (reading at most 64 KiB of its body). */
export async function responseError(res: TransportResponse, method: string, message?: string): Promise<RegistryClientError> {
  let text = '';
  if (method !== 'HEAD') {
    try {
      text = (await res.bytes(64 * 1024)).toString('utf8');
    } catch {
      await res.dump();
    }
  } else {
    await res.dump();
  }
  let errors: OciErrorEntry[] = [];
  try {
    const doc = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(doc.errors)) {
      errors = doc.errors
        .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
        .map((e) => {
          const entry: OciErrorEntry = { code: String(e.code ?? 'UNKNOWN'), message: String(e.message ?? '') };
          if (e.detail !== undefined) entry.detail = e.detail;
          return entry;
        });
    }
  } catch {
    /* not an envelope */
  }
  const init: ConstructorParameters<typeof RegistryClientError>[0] = { status: res.status, method, url: res.url, errors, headers: res.headers };
  if (text && errors.length === 0) init.body = text.slice(0, 4096);
  if (message !== undefined) init.message = message;
  switch (res.status) {
    case 401:
      return new UnauthorizedError(init);
    case 403:
      return new DeniedError(init);
    case 404:
      return new NotFoundError(init);
    case 429:
      return new TooManyRequestsError(init);
    default:
      return new RegistryClientError(init);
  }
}

function basicHeader(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`, 'utf8').toString('base64');
}

function repositoryOf(scopes: ScopeSet): string | undefined {
  for (const r of scopes.keys()) if (r.startsWith('repository:')) return r.slice('repository:'.length);
  return undefined;
}

export class Transport {
  readonly options: Readonly<TransportOptions>;
  private readonly slots: Semaphore;
  private readonly agents = new Map<string, Agent>();
  private readonly authStates = new Map<string, AuthState>();
  private readonly tokens = new Map<string, TokenEntry[]>();
  private readonly tokenFetches = new Map<string, Promise<TokenEntry>>();
  private readonly credentialCache = new Map<string, Promise<Credentials | undefined>>();
  private readonly registryUrls = new Map<string, Promise<string>>();
  private readonly provider: CredentialProvider | undefined;
  private readonly insecure: Set<string>;
  private readonly now: () => number;
  private closed = false;
  /** Token requests made so far (for tests and diagnostics). */
  tokenRequests = 0;

  constructor(options: TransportOptions = {}) {
    this.options = options;
    this.slots = new Semaphore(options.maxConcurrency ?? 8);
    const c = options.credentials;
    if (c === false) this.provider = undefined;
    else if (typeof c === 'function') this.provider = c;
    else if (c) this.provider = async () => c;
    else this.provider = dockerCredentials();
    this.insecure = new Set((options.insecure ?? []).map((h) => h.toLowerCase()));
    this.now = options.now ?? Date.now;
  }

  /** Whether plain http / unverified TLS is allowed for a host (loopback hosts always may use http). */
  isInsecure(host: string): boolean {
    const h = host.toLowerCase();
    return this.insecure.has(h) || this.insecure.has(splitHostPort(h).hostname);
  }

  private checkUrl(u: URL): void {
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ClientError(`unsupported URL scheme in ${redactUrl(u.href)}`);
    if (u.protocol === 'http:' && !isLoopbackHost(u.host) && !this.isInsecure(u.host)) throw new InsecureRegistryError(u.host);
  }

  /**
   * The base URL (`scheme://host[:port]`) of a registry named `host[:port]` or given as a URL. Docker Hub
   * maps to registry-1.docker.io. Without a scheme: https, except loopback hosts (http) and hosts marked
   * insecure (https, falling back to http when TLS cannot be spoken).
   */
  registryUrl(registry: string, signal?: AbortSignal): Promise<string> {
    let p = this.registryUrls.get(registry);
    if (!p) {
      p = this.resolveRegistryUrl(registry, signal);
      this.registryUrls.set(registry, p);
      p.catch(() => this.registryUrls.delete(registry));
    }
    return p;
  }

  private async resolveRegistryUrl(registry: string, signal?: AbortSignal): Promise<string> {
    if (/^https?:\/\//i.test(registry)) {
      const u = new URL(registry);
      this.checkUrl(u);
      return u.origin;
    }
    const host = registryApiHost(registry);
    if (isLoopbackHost(host)) return `http://${host}`;
    if (!this.isInsecure(host)) return `https://${host}`;
    try {
      const res = await this.send('GET', new URL(`https://${host}/v2/`), {}, undefined, signal);
      await res.dump();
      return `https://${host}`;
    } catch (e) {
      if (signal?.aborted) throw e;
      return `http://${host}`;
    }
  }

  private agentFor(u: URL): Agent {
    const key = u.protocol === 'http:' ? 'http:' : `https://${u.host}`;
    let agent = this.agents.get(key);
    if (!agent) {
      if (this.closed) throw new ClientError('the transport is closed');
      const o = this.options;
      const connect: Record<string, unknown> = { timeout: o.connectTimeoutMs ?? 30_000 };
      if (u.protocol === 'https:') {
        const tls = tlsMaterialFor(u.host, o);
        if (tls.ca) connect.ca = tls.ca;
        if (tls.cert) connect.cert = tls.cert;
        if (tls.key) connect.key = tls.key;
        if (this.isInsecure(u.host)) connect.rejectUnauthorized = false;
      }
      agent = new Agent({
        connections: o.connectionsPerHost ?? 8,
        headersTimeout: o.headersTimeoutMs ?? 60_000,
        bodyTimeout: o.bodyTimeoutMs ?? 60_000,
        connect,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** One HTTP exchange, no auth, no redirects, no retries. */
  private async send(
    method: string,
    u: URL,
    headers: Record<string, string | string[] | undefined>,
    body: Uint8Array | string | Readable | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TransportResponse> {
    this.checkUrl(u);
    const h: Record<string, string | string[]> = { 'user-agent': this.options.userAgent ?? 'wharf-client/0.1' };
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k.toLowerCase()] = v;
    const opts: Dispatcher.RequestOptions = {
      origin: u.origin,
      path: u.pathname + u.search,
      method: method as Dispatcher.HttpMethod,
      headers: h,
      body: body ?? null,
      signal: signal ?? null,
    };
    const data = await this.agentFor(u).request(opts);
    return wrapResponse(data, u.href);
  }

  /** Sends, following redirects for GET/HEAD; Authorization only goes to the registry's own origin. */
  private async sendFollowing(
    method: string,
    start: URL,
    opts: TransportRequestOptions,
    authorization: string | undefined,
  ): Promise<TransportResponse> {
    const follow = opts.followRedirects ?? (method === 'GET' || method === 'HEAD');
    let url = start;
    let m = method;
    let leftOrigin = false;
    for (let hops = 0; ; hops++) {
      const headers = { ...opts.headers };
      if (authorization && !leftOrigin) headers.authorization = authorization;
      const res = await this.send(m, url, headers, hops === 0 ? bodyFor(opts.body) : undefined, opts.signal);
      const location = res.header('location');
      if (!follow || ![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
      await res.dump();
      if (hops >= (this.options.maxRedirects ?? 5)) throw new ProtocolError(`too many redirects from ${redactUrl(start.href)}`);
      const next = new URL(location, url);
      if (next.origin !== start.origin) leftOrigin = true;
      if (res.status === 303 && m !== 'HEAD') m = 'GET';
      url = next;
    }
  }

  private credentialsFor(host: string, repository: string | undefined): Promise<Credentials | undefined> {
    if (!this.provider) return Promise.resolve(undefined);
    const key = `${normalizeAuthKey(host)}\0${repository ?? ''}`;
    let p = this.credentialCache.get(key);
    if (!p) {
      p = this.provider(host, repository);
      this.credentialCache.set(key, p);
      p.catch(() => this.credentialCache.delete(key));
    }
    return p;
  }

  /** The Authorization header for a request to `host` needing `scopes`, from what the host's challenges taught. */
  private async authorization(host: string, scopes: ScopeSet, signal: AbortSignal | undefined): Promise<string | undefined> {
    const state = this.authStates.get(host);
    if (!state || state.kind === 'none') return undefined;
    const creds = await this.credentialsFor(host, repositoryOf(scopes));
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    if (state.kind === 'basic') return creds?.username !== undefined ? basicHeader(creds) : undefined;
    const entry = await this.token(host, state, scopes, creds, signal);
    return `Bearer ${entry.token}`;
  }

  private tokenKey(host: string, state: { realm: string; service: string | undefined }): string {
    return `${host}\0${state.realm}\0${state.service ?? ''}`;
  }

  private async token(
    host: string,
    state: { realm: string; service: string | undefined },
    scopes: ScopeSet,
    creds: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TokenEntry> {
    const key = this.tokenKey(host, state);
    const now = this.now();
    const live = (this.tokens.get(key) ?? []).filter((e) => e.expiresAt > now);
    this.tokens.set(key, live);
    const hit = live.find((e) => coversScopes(e.scopes, scopes));
    if (hit) return hit;
    const fetchKey = `${key}\0${formatScopes(scopes).join(' ')}`;
    let p = this.tokenFetches.get(fetchKey);
    if (!p) {
      p = this.fetchToken(state, scopes, creds, signal).finally(() => this.tokenFetches.delete(fetchKey));
      this.tokenFetches.set(fetchKey, p);
    }
    const entry = await p;
    const list = this.tokens.get(key) ?? [];
    if (!list.includes(entry)) list.push(entry);
    this.tokens.set(key, list);
    return entry;
  }

  private forgetToken(host: string, token: string): void {
    for (const [key, list] of this.tokens) {
      if (!key.startsWith(`${host}\0`)) continue;
      this.tokens.set(
        key,
        list.filter((e) => e.token !== token),
      );
    }
  }

  /** GET realm?service=&scope=… (Basic credentials if any), or the OAuth2 refresh-token POST for identity tokens. */
  private async fetchToken(
    state: { realm: string; service: string | undefined },
    scopes: ScopeSet,
    creds: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TokenEntry> {
    const realm = new URL(state.realm);
    const scopeList = formatScopes(scopes);
    let res: TransportResponse | undefined;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'wharf-client' });
      if (state.service) form.set('service', state.service);
      if (scopeList.length) form.set('scope', scopeList.join(' '));
      this.tokenRequests++;
      res = await this.plain('POST', realm, {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal,
      });
      if (res.status === 404 || res.status === 405) {
        // The realm does not speak OAuth2: fall back to GET, as docker does.
        await res.dump();
        res = undefined;
      }
    }
    if (!res) {
      const u = new URL(realm);
      if (state.service) u.searchParams.set('service', state.service);
      for (const s of scopeList) u.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds?.username !== undefined) {
        u.searchParams.set('account', creds.username);
        headers.authorization = basicHeader(creds);
      }
      this.tokenRequests++;
      res = await this.plain('GET', u, { headers, signal });
    }
    if (res.status !== 200) {
      const err = await responseError(res, 'GET');
      throw new TokenError(
        `token endpoint ${redactUrl(realm.href)} answered ${res.status}${err.code ? ` (${err.code}: ${err.errors[0]?.message})` : ''} for scope ${scopeList.join(' ') || '(none)'}`,
        realm.href,
        res.status,
        { cause: err },
      );
    }
    const doc = await res.json<{ token?: unknown; access_token?: unknown; expires_in?: unknown }>(1024 * 1024);
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token) throw new TokenError(`token endpoint ${redactUrl(realm.href)} answered without a token`, realm.href, 200);
    const expiresIn = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    // Refresh a little early so a token does not expire between the check and the request.
    const margin = Math.min(10, expiresIn / 10);
    return { token, scopes: new Map([...scopes].map(([r, a]) => [r, new Set(a)])), expiresAt: this.now() + (expiresIn - margin) * 1000 };
  }

  /** A request with retries but no auth flow (token endpoints, storage URLs). */
  async plain(method: string, url: URL | string, opts: TransportRequestOptions = {}): Promise<TransportResponse> {
    const u = typeof url === 'string' ? new URL(url) : url;
    return this.withRetries(method, u, opts, () => this.sendFollowing(method, u, opts, undefined), true);
  }

  /** What the host's answers to anonymous requests taught: Bearer (realm, service), Basic or nothing. */
  private learn(host: string, challenges: Challenge[]): AuthState | undefined {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const state: AuthState = { kind: 'bearer', realm: bearer.params.realm!, service: bearer.params.service };
      this.authStates.set(host, state);
      return state;
    }
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (basic) {
      const state: AuthState = { kind: 'basic', realm: basic.params.realm };
      this.authStates.set(host, state);
      return state;
    }
    return undefined;
  }

  /** Learns how the host authenticates (GET /v2/) before a request whose body can be sent only once. */
  private async prime(u: URL, scopes: ScopeSet, signal: AbortSignal | undefined): Promise<void> {
    if (this.authStates.has(u.host)) return;
    const res = await this.request('GET', new URL('/v2/', u).href, { signal, scope: formatScopes(scopes) });
    await res.dump();
    if (!this.authStates.has(u.host)) this.authStates.set(u.host, { kind: 'none' });
  }

  private async sendWithAuth(method: string, u: URL, opts: TransportRequestOptions, scopes: ScopeSet): Promise<TransportResponse> {
    const replayable = isReplayable(opts.body);
    for (let authTries = 0; ; authTries++) {
      const authorization = await this.authorization(u.host, scopes, opts.signal);
      const res = await this.sendFollowing(method, u, opts, authorization);
      // A 401 from a storage host after a redirect is not the registry's challenge.
      if (res.status !== 401 || authTries >= 2 || new URL(res.url).origin !== u.origin) return res;
      const challenges = parseWwwAuthenticate(res.headers['www-authenticate']);
      const state = this.learn(u.host, challenges);
      if (!state) return res;
      let retry = false;
      if (state.kind === 'bearer') {
        const challenge = challenges.find((c) => c.scheme === 'bearer')!;
        // Scope widening: whatever the registry says it needs joins what the caller asked for.
        if (challenge.params.scope) addScopes(scopes, [challenge.params.scope]);
        if (authorization?.startsWith('Bearer ')) this.forgetToken(u.host, authorization.slice(7));
        retry = true;
      } else {
        const creds = await this.credentialsFor(u.host, repositoryOf(scopes));
        retry = creds?.username !== undefined && !authorization?.startsWith('Basic ');
      }
      if (!retry || !replayable) return res;
      await res.dump();
    }
  }

  private backoff(attempt: number): number {
    const base = this.options.retryBaseDelayMs ?? 200;
    const max = this.options.retryMaxDelayMs ?? 10_000;
    const d = Math.min(max, base * 2 ** attempt);
    return d / 2 + Math.random() * (d / 2);
  }

  private async withRetries(
    method: string,
    u: URL,
    opts: TransportRequestOptions,
    attemptFn: () => Promise<TransportResponse>,
    /** Token requests run while the request that needs the token holds a slot: they must not wait for one. */
    unbounded = false,
  ): Promise<TransportResponse> {
    const retries = opts.retry === false || !isReplayable(opts.body) ? 0 : (this.options.retries ?? 3);
    for (let attempt = 0; ; attempt++) {
      const release = unbounded ? () => {} : await this.slots.acquire(opts.signal);
      let res: TransportResponse;
      try {
        res = await attemptFn();
      } catch (e) {
        release();
        if (attempt < retries && isRetryableError(e) && !opts.signal?.aborted) {
          await sleep(this.backoff(attempt), opts.signal);
          continue;
        }
        throw e;
      }
      if (attempt < retries && isRetryableStatus(res.status)) {
        const after = parseRetryAfter(res.header('retry-after'));
        const wait = after ?? this.backoff(attempt);
        if (wait <= (this.options.maxRetryAfterMs ?? 60_000)) {
          await res.dump();
          release();
          await sleep(wait, opts.signal);
          continue;
        }
      }
      if (method === 'HEAD') {
        await res.dump();
        release();
      } else {
        res.body.once('close', release);
        if (res.body.destroyed) release();
      }
      return res;
    }
  }

  /**
   * One request to a registry: auth flow, retries, redirects. The caller must consume, dump or destroy
   * the body. Returns any status; turning unexpected ones into errors is the caller's job (responseError).
   */
  async request(method: string, url: string | URL, opts: TransportRequestOptions = {}): Promise<TransportResponse> {
    const u = typeof url === 'string' ? new URL(url) : url;
    this.checkUrl(u);
    const scopes = scopeSet(toArray(opts.scope));
    if (!isReplayable(opts.body)) await this.prime(u, scopes, opts.signal);
    return this.withRetries(method, u, opts, () => this.sendWithAuth(method, u, opts, scopes));
  }

  /** Closes every connection. Requests in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close().catch(() => a.destroy())));
  }
}
