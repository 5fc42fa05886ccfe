// A small Docker-token-auth front for a registry, for client tests (the registry's own auth is not built
// yet). One loopback server is both:
//   - the token endpoint (the realm), GET /token?service=&scope=…&scope=… with optional Basic credentials
//     (and POST /token with grant_type=refresh_token), answering {"token","access_token","expires_in"};
//   - a proxy for /v2/…, which answers 401 with a Bearer challenge naming every scope the request needs
//     (error="insufficient_scope" when a token was sent but does not cover them) unless the request
//     carries a token it issued for those scopes; then it forwards the request without Authorization.
// Optionally blob GETs are redirected (307) to a separate "storage" origin.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { matchRoute } from '../../src/oci/routes.js';

export interface TokenRequestLog {
  method: string;
  user: string | undefined;
  scopes: string[];
  service: string | undefined;
}

export interface TokenServerOptions {
  /** The registry behind (http://127.0.0.1:PORT). */
  upstream: string;
  /** username → password for Basic credentials at the token endpoint. */
  users?: Record<string, string>;
  /** refresh token → username, for the OAuth2 POST. */
  refreshTokens?: Record<string, string>;
  /** Anonymous users may pull (default true); pushing needs a user. */
  anonymousPull?: boolean;
  service?: string;
  expiresIn?: number;
  /** Redirect GET /v2/<name>/blobs/<digest> to `${redirectBlobsTo}/<name>/<digest>?sig=…`. */
  redirectBlobsTo?: string;
}

export interface TokenServer {
  url: string;
  host: string;
  realm: string;
  service: string;
  tokenRequests: TokenRequestLog[];
  /** Requests to /v2/ and what happened to them. */
  registryRequests: { method: string; url: string; outcome: 'challenged' | 'forwarded' | 'redirected' }[];
  close(): Promise<void>;
}

type Grant = Map<string, Set<string>>;

function parseScopeParam(values: string[]): Grant {
  const g: Grant = new Map();
  for (const v of values)
    for (const one of v.split(' ')) {
      if (!one) continue;
      const last = one.lastIndexOf(':');
      const resource = one.slice(0, last);
      const actions = one.slice(last + 1).split(',');
      const set = g.get(resource) ?? new Set<string>();
      for (const a of actions) set.add(a);
      g.set(resource, set);
    }
  return g;
}

function formatGrant(g: Grant): string {
  return [...g].map(([r, a]) => `${r}:${[...a].join(',')}`).join(' ');
}

/** What a registry request needs, Distribution-style. */
export function requiredAccess(method: string, rawUrl: string): Grant {
  const u = new URL(rawUrl, 'http://x');
  const need: Grant = new Map();
  const m = matchRoute(u.pathname, method);
  if (!m || 'methodNotAllowed' in m) return need;
  if (m.endpoint.id === 'base') return need;
  if (m.endpoint.id === 'catalog') return new Map([['registry:catalog', new Set(['*'])]]);
  const name = m.name!;
  const actions = new Set<string>();
  if (method === 'GET' || method === 'HEAD') actions.add('pull');
  else if (method === 'DELETE') actions.add('delete');
  else {
    actions.add('pull');
    actions.add('push');
  }
  need.set(`repository:${name}`, actions);
  const from = u.searchParams.get('from');
  if (m.endpoint.id === 'uploadStart' && u.searchParams.get('mount') && from) need.set(`repository:${from}`, new Set(['pull']));
  return need;
}

function covers(granted: Grant, need: Grant): boolean {
  for (const [r, actions] of need) {
    const have = granted.get(r);
    if (!have) return false;
    for (const a of actions) if (!have.has(a) && !have.has('*')) return false;
  }
  return true;
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const upstream = new URL(opts.upstream);
  const service = opts.service ?? 'wharf-test';
  const issued = new Map<string, { grant: Grant; expires: number }>();
  const sockets = new Set<Socket>();
  const state: TokenServer = {
    url: '',
    host: '',
    realm: '',
    service,
    tokenRequests: [],
    registryRequests: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const userFromBasic = (req: IncomingMessage): string | undefined | false => {
    const h = req.headers.authorization;
    if (!h) return undefined;
    if (!h.startsWith('Basic ')) return false;
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = decoded.slice(0, i);
    return opts.users && opts.users[user] === decoded.slice(i + 1) ? user : false;
  };

  const issue = (res: ServerResponse, user: string | undefined, requested: Grant) => {
    // Users get what they ask for; anonymous callers only pull (if allowed).
    const grant: Grant = new Map();
    for (const [r, actions] of requested) {
      const ok = [...actions].filter((a) => user !== undefined || (a === 'pull' && opts.anonymousPull !== false));
      if (ok.length) grant.set(r, new Set(ok));
    }
    const token = randomBytes(16).toString('hex');
    const expiresIn = opts.expiresIn ?? 300;
    issued.set(token, { grant, expires: Date.now() + expiresIn * 1000 });
    const body = JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const tokenEndpoint = async (req: IncomingMessage, res: ServerResponse, u: URL) => {
    if (req.method === 'POST') {
      let body = '';
      for await (const c of req) body += c;
      const form = new URLSearchParams(body);
      const user = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
      const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      state.tokenRequests.push({ method: 'POST', user, scopes, service: form.get('service') ?? undefined });
      if (form.get('grant_type') !== 'refresh_token' || !user) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error":"invalid_grant"}');
        return;
      }
      return issue(res, user, parseScopeParam(scopes));
    }
    const user = userFromBasic(req);
    const scopes = u.searchParams.getAll('scope');
    state.tokenRequests.push({ method: 'GET', user: user || undefined, scopes, service: u.searchParams.get('service') ?? undefined });
    if (user === false) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
      return;
    }
    return issue(res, user, parseScopeParam(scopes));
  };

  const registry = (req: IncomingMessage, res: ServerResponse, u: URL) => {
    const need = requiredAccess(req.method!, req.url!);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? issued.get(auth.slice(7)) : undefined;
    const valid = token !== undefined && token.expires > Date.now();
    if (!valid || !covers(token.grant, need)) {
      state.registryRequests.push({ method: req.method!, url: req.url!, outcome: 'challenged' });
      req.resume();
      const scope = formatGrant(need);
      const params = [`realm="${state.realm}"`, `service="${service}"`];
      if (scope) params.push(`scope="${scope}"`);
      if (valid) params.push('error="insufficient_scope"');
      else if (auth) params.push('error="invalid_token"');
      const body = JSON.stringify({ errors: [{ code: valid ? 'DENIED' : 'UNAUTHORIZED', message: 'authentication required', detail: [...need.keys()] }] });
      res.writeHead(401, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'www-authenticate': `Bearer ${params.join(',')}`,
        'docker-distribution-api-version': 'registry/2.0',
      });
      res.end(body);
      return;
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(u.pathname);
    if (opts.redirectBlobsTo && req.method === 'GET' && blob) {
      state.registryRequests.push({ method: req.method, url: req.url!, outcome: 'redirected' });
      req.resume();
      res.writeHead(307, { location: `${opts.redirectBlobsTo}/${blob[1]}/${blob[2]}?sig=${randomBytes(4).toString('hex')}`, 'content-length': 0 });
      res.end();
      return;
    }
    state.registryRequests.push({ method: req.method!, url: req.url!, outcome: 'forwarded' });
    const headers = { ...req.headers }; // keep Host: absolute Locations must point back here
    delete headers.authorization;
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers });
    up.on('error', () => res.destroy());
    up.on('response', (upRes) => {
      res.writeHead(upRes.statusCode!, upRes.headers);
      upRes.pipe(res);
    });
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname === '/token') {
      tokenEndpoint(req, res, u).catch(() => res.destroy());
      return;
    }
    registry(req, res, u);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;
  state.host = `127.0.0.1:${port}`;
  state.realm = `${state.url}/token`;
  return state;
}
