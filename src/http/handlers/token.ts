// Endpoints that exist only when authentication is configured:
//   GET  /token   Docker token authentication: Basic credentials (or none) and `scope` parameters → a JWT
//   POST /token   the OAuth2 form: grant_type=password or refresh_token
//   GET|POST /v2/_wharf/tokens, DELETE /v2/_wharf/tokens/<name>   API keys (admins only)
import type { Ctx, Handler } from '../context.js';
import { replyJSON, reply } from '../context.js';
import { readBody } from '../request.js';
import { RegistryError } from '../../oci/errors.js';
import type { AccessController } from '../../auth/controller.js';
import { ApiKeyError } from '../../auth/api-keys.js';
import { adminScope, formatScope, parseScopes } from '../../auth/scope.js';
import { TokenInvalidError, type RefreshLogin, type TokenService } from '../../auth/tokens.js';

const formLimit = 64 * 1024;
const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function checkService(tokens: TokenService, service: string | null): void {
  if (service !== null && service !== '' && service !== tokens.config.service) {
    throw new RegistryError('DENIED', `this token service issues tokens for service ${JSON.stringify(tokens.config.service)}, not ${JSON.stringify(service.slice(0, 100))}`, { status: 400 });
  }
}

function basicCredentials(ctx: Ctx): { user: string; password: string } | undefined {
  const h = ctx.req.headers.authorization;
  if (h === undefined || !/^basic /i.test(h)) return undefined;
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : { user: decoded, password: '' };
}

function badLogin(auth: AccessController): RegistryError {
  return new RegistryError('UNAUTHORIZED', 'invalid user name or password', { headers: { 'WWW-Authenticate': `Basic realm="${auth.config.realm}", charset="UTF-8"` } });
}

async function answer(ctx: Ctx, tokens: TokenService, auth: AccessController, login: RefreshLogin | undefined, scopes: string[], offline: boolean, refreshToken?: string): Promise<void> {
  const subject = login?.subject;
  if (subject !== undefined) auth.noteCaller(ctx.req, subject);
  const access = auth.policy.grant(subject, parseScopes(scopes));
  const issued = await tokens.issueAccess(subject, access);
  const body: Record<string, unknown> = {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
    scope: access.map(formatScope).join(' '),
  };
  if (offline && login) {
    const refresh = refreshToken ?? (await tokens.issueRefresh(login));
    if (refresh !== undefined) body.refresh_token = refresh;
  }
  ctx.log.debug({ subject, scope: body.scope }, 'token issued');
  replyJSON(ctx, 200, noStore, body);
}

async function getToken(ctx: Ctx, auth: AccessController, tokens: TokenService): Promise<void> {
  checkService(tokens, ctx.query.get('service'));
  const creds = basicCredentials(ctx);
  let login: RefreshLogin | undefined;
  if (creds) {
    login = await auth.checkPassword(ctx.req, creds.user, creds.password);
    if (!login) throw badLogin(auth);
  }
  await answer(ctx, tokens, auth, login, ctx.query.getAll('scope'), ctx.query.get('offline_token') === 'true');
}

async function postToken(ctx: Ctx, auth: AccessController, tokens: TokenService): Promise<void> {
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
    throw new RegistryError('UNSUPPORTED', 'POST /token takes an application/x-www-form-urlencoded body', { status: 400 });
  }
  const raw = await readBody(ctx.req, formLimit, () => new RegistryError('SIZE_INVALID', `token requests are limited to ${formLimit} bytes`, { status: 413 }));
  const form = new URLSearchParams(raw.toString('utf8'));
  checkService(tokens, form.get('service'));
  const scopes = form.getAll('scope');
  const grant = form.get('grant_type');
  if (grant === 'password') {
    const login = await auth.checkPassword(ctx.req, form.get('username') ?? '', form.get('password') ?? '');
    if (!login) throw badLogin(auth);
    await answer(ctx, tokens, auth, login, scopes, form.get('access_type') === 'offline');
    return;
  }
  if (grant === 'refresh_token') {
    const given = form.get('refresh_token') ?? '';
    let login: RefreshLogin;
    try {
      login = await tokens.verifyRefresh(given);
    } catch (e) {
      if (e instanceof TokenInvalidError) throw new RegistryError('UNAUTHORIZED', e.message);
      throw e;
    }
    if (!(await auth.loginStillValid(login))) throw new RegistryError('UNAUTHORIZED', 'the account this refresh token was issued to no longer exists');
    await answer(ctx, tokens, auth, login, scopes, form.get('access_type') === 'offline', given);
    return;
  }
  throw new RegistryError('UNSUPPORTED', `unsupported grant_type ${JSON.stringify((grant ?? '').slice(0, 50))}: use password or refresh_token`, { status: 400 });
}

/** Parses `expiresInSeconds` (a number) or `expires` (`90d`, `12h`, `30m`, `3600s`, or an ISO date) of a key request. */
export function parseExpiry(body: Record<string, unknown>, now = Date.now()): number {
  if (typeof body.expiresInSeconds === 'number') return body.expiresInSeconds;
  const e = body.expires;
  if (typeof e !== 'string') throw new ApiKeyError('give expires (e.g. "90d", "12h", or a date) or expiresInSeconds', 'invalid');
  const m = /^(\d{1,6})([smhdw])$/.exec(e.trim());
  if (m) return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  const t = Date.parse(e);
  if (Number.isNaN(t)) throw new ApiKeyError(`cannot read expires ${JSON.stringify(e.slice(0, 50))}: use 90d, 12h, 30m or an ISO date`, 'invalid');
  return Math.floor((t - now) / 1000);
}

function keyError(e: unknown): unknown {
  if (e instanceof ApiKeyError) return e.kind === 'exists' ? new RegistryError('DENIED', e.message, { status: 409 }) : new RegistryError('NAME_INVALID', e.message, { status: 400 });
  return e;
}

async function apiKeys(ctx: Ctx, auth: AccessController, name: string | undefined): Promise<void> {
  await auth.require(ctx.req, adminScope, ctx.tlsClient);
  const method = ctx.req.method ?? 'GET';
  if (name === undefined && (method === 'GET' || method === 'HEAD')) {
    replyJSON(ctx, 200, noStore, { tokens: await auth.apiKeys.list() });
    return;
  }
  if (name === undefined && method === 'POST') {
    const raw = await readBody(ctx.req, formLimit, () => new RegistryError('SIZE_INVALID', `key requests are limited to ${formLimit} bytes`, { status: 413 }));
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      throw new RegistryError('UNSUPPORTED', 'expected a JSON object {"name", "subject", "expires"}', { status: 400 });
    }
    try {
      const keyName = typeof body.name === 'string' ? body.name : '';
      const subject = typeof body.subject === 'string' ? body.subject : keyName;
      const created = await auth.apiKeys.create(keyName, subject, parseExpiry(body));
      ctx.log.info({ key: created.name, subject: created.subject, expiresAt: created.expiresAt }, 'API key created');
      replyJSON(ctx, 201, { ...noStore, Location: `/v2/_wharf/tokens/${created.name}` }, created);
    } catch (e) {
      throw keyError(e);
    }
    return;
  }
  if (name !== undefined && method === 'DELETE') {
    if (!(await auth.apiKeys.revoke(name))) throw new RegistryError('NOT_FOUND', `no API key named ${JSON.stringify(name.slice(0, 80))}`);
    ctx.log.info({ key: name }, 'API key revoked');
    reply(ctx, 204, {});
    return;
  }
  throw new RegistryError('UNSUPPORTED', `${method} is not supported on this endpoint`, { headers: { Allow: name === undefined ? 'GET, POST' : 'DELETE' } });
}

/** The handler for an authentication endpoint, or undefined when `path` is not one. */
export function authEndpoint(auth: AccessController, path: string): Handler | undefined {
  const tokens = auth.tokens;
  if (path === '/token' && tokens) {
    return async (ctx) => {
      const method = ctx.req.method ?? 'GET';
      if (method === 'GET' || method === 'HEAD') return getToken(ctx, auth, tokens);
      if (method === 'POST') return postToken(ctx, auth, tokens);
      throw new RegistryError('UNSUPPORTED', `${method} is not supported on /token`, { headers: { Allow: 'GET, POST' } });
    };
  }
  if (path === '/v2/_wharf/tokens') return (ctx) => apiKeys(ctx, auth, undefined);
  const m = /^\/v2\/_wharf\/tokens\/([^/]+)$/.exec(path);
  if (m) {
    let name: string;
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      name = m[1]!;
    }
    return (ctx) => apiKeys(ctx, auth, name);
  }
  return undefined;
}
