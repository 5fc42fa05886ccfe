// The access controller: who is calling (Basic credentials checked against htpasswd and API keys, or a bearer
// token), what the request needs (scope.ts), and the answer when that is not allowed: 401 with a challenge
// (no or bad credentials, or a token lacking a scope the caller could get), 403 DENIED (authenticated, and
// the policies say no). It runs before every handler, so an unauthenticated caller learns nothing (401 before 404).
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { RegistryError } from '../oci/errors.js';
import type { EndpointId } from '../oci/routes.js';
import type { MetadataStore } from '../metadata/store.js';
import type { Ctx, Handler, TLSClientIdentity } from '../http/context.js';
import type { AuthConfig } from './config.js';
import { Policy } from './policy.js';
import { HtpasswdFile } from './htpasswd.js';
import { ApiKeys } from './api-keys.js';
import { loadSigningKey } from './signing-key.js';
import { TokenService, TokenVerifier, TokenInvalidError, type RefreshLogin, type VerifiedToken } from './tokens.js';
import { covers, formatScope, requiredAccess, type AccessEntry } from './scope.js';
import { filteredCatalog } from './catalog.js';
import { LoginThrottle } from './throttle.js';
import type { AuthProvider } from '../plugins/api.js';

export interface Principal {
  /** The policy subject; undefined for the anonymous caller (and anonymous tokens). */
  user: string | undefined;
  /** `certificate`: a verified TLS client certificate, its subject CN being the user. */
  via: 'anonymous' | 'password' | 'apikey' | 'token' | 'certificate';
  token?: VerifiedToken;
}

export const anonymous: Principal = { user: undefined, via: 'anonymous' };

export class AuthConfigError extends Error {
  override name = 'AuthConfigError';
}

export interface AuthDeps {
  metadata: MetadataStore;
  dataDir: string;
  log?: Logger;
  /** Password checkers supplied by plugins (docs/extending.md), asked after htpasswd users and API keys. */
  providers?: readonly AuthProvider[];
}

/** A plugin provider that fails answers 503 (the credentials may be right; the provider cannot tell). */
async function askProvider<T>(provider: AuthProvider, ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (e) {
    throw new RegistryError('UNAVAILABLE', `auth provider ${JSON.stringify(provider.name)} failed: ${(e as Error)?.message ?? String(e)}`);
  }
}

function quoted(v: string): string {
  return `"${v.replace(/["\\]/g, '\\$&')}"`;
}

export class AccessController {
  readonly policy: Policy;
  readonly htpasswd: HtpasswdFile | undefined;
  readonly apiKeys: ApiKeys;
  readonly tokens: TokenService | undefined;
  readonly verifier: TokenVerifier;
  /** Which challenge the registry sends: Basic, or Bearer (built-in token service or external issuers). */
  readonly mode: 'basic' | 'bearer';
  /** Who made each request in flight (for the request log line); entries go with their requests. */
  private readonly callers = new WeakMap<IncomingMessage, string>();
  private readonly throttle: LoginThrottle;
  private readonly providers: readonly AuthProvider[];

  constructor(
    readonly config: AuthConfig,
    deps: AuthDeps,
  ) {
    this.policy = new Policy(config);
    const warn = (m: string) => deps.log?.warn(m);
    this.htpasswd = config.htpasswd === undefined ? undefined : new HtpasswdFile(config.htpasswd, warn);
    this.apiKeys = new ApiKeys(deps.metadata);
    this.tokens = config.token ? new TokenService(config.token, loadSigningKey(config.token.key, deps.dataDir)) : undefined;
    this.verifier = new TokenVerifier(this.tokens, config.external);
    this.mode = this.verifier.enabled ? 'bearer' : 'basic';
    this.throttle = new LoginThrottle(config.maxFailedLogins);
    this.providers = deps.providers ?? [];
    if (!this.tokens && config.external.length > 0 && !config.external.some((e) => e.realm !== undefined)) {
      throw new AuthConfigError('auth.external: without the built-in token service, at least one external issuer needs a realm (its token endpoint URL) for challenges');
    }
  }

  /** Checks a user name and password: htpasswd users first, then API keys (user = key name), then plugin providers. */
  async verifyPassword(user: string, password: string): Promise<RefreshLogin | undefined> {
    if (this.htpasswd?.has(user)) return (await this.htpasswd.verify(user, password)) ? { kind: 'user', login: user, subject: user } : undefined;
    const subject = await this.apiKeys.verify(user, password);
    if (subject !== undefined) return { kind: 'apikey', login: user, subject };
    for (const provider of this.providers) {
      const accepted = await askProvider(provider, () => provider.verifyPassword(user, password));
      if (typeof accepted === 'string' && accepted !== '') return { kind: 'user', login: user, subject: accepted };
    }
    return undefined;
  }

  /** verifyPassword for a request: a client address with too many recent failures gets 429 instead. */
  async checkPassword(req: IncomingMessage, user: string, password: string): Promise<RefreshLogin | undefined> {
    const client = req.socket.remoteAddress ?? '';
    if (this.config.maxFailedLogins > 0) {
      const v = this.throttle.check(client);
      if (v.blocked) {
        throw new RegistryError('TOOMANYREQUESTS', `too many failed logins from this address; try again in ${v.retryAfter} s`, { headers: { 'Retry-After': String(v.retryAfter) } });
      }
    }
    const login = await this.verifyPassword(user, password);
    if (!login) this.throttle.fail(client);
    return login;
  }

  /** Whether what a refresh token was issued to may still log in. */
  async loginStillValid(login: RefreshLogin): Promise<boolean> {
    if (login.kind === 'apikey') return this.apiKeys.isLive(login.login);
    if (this.htpasswd?.has(login.login)) return true;
    for (const provider of this.providers) {
      if (provider.userExists && (await askProvider(provider, () => provider.userExists!(login.login)))) return true;
    }
    return false;
  }

  /** The realm and service of Bearer challenges. */
  private bearerTarget(req: IncomingMessage): { realm: string; service: string } {
    if (this.tokens) {
      const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
      const host = req.headers.host ?? 'localhost';
      return { realm: this.tokens.config.realm ?? `${scheme}://${host}/token`, service: this.tokens.config.service };
    }
    const e = this.config.external.find((x) => x.realm !== undefined)!;
    return { realm: e.realm!, service: e.service };
  }

  /** The WWW-Authenticate value for a request that needs `needed`. */
  challenge(req: IncomingMessage, needed?: AccessEntry, error?: 'invalid_token' | 'insufficient_scope'): string {
    if (this.mode === 'basic') return `Basic realm=${quoted(this.config.realm)}, charset="UTF-8"`;
    const { realm, service } = this.bearerTarget(req);
    let v = `Bearer realm=${quoted(realm)},service=${quoted(service)}`;
    if (needed) v += `,scope=${quoted(formatScope(needed))}`;
    if (error) v += `,error=${quoted(error)}`;
    return v;
  }

  unauthorized(req: IncomingMessage, message: string, needed?: AccessEntry, error?: 'invalid_token' | 'insufficient_scope'): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': this.challenge(req, needed, error) } });
  }

  /** Who sent the request; bad credentials are a 401 (never a fall back to anonymous). */
  async authenticate(req: IncomingMessage, needed?: AccessEntry, tlsClient?: TLSClientIdentity): Promise<Principal> {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') return tlsClient ? { user: tlsClient.subject, via: 'certificate' } : anonymous;
    const sp = header.indexOf(' ');
    const scheme = (sp === -1 ? header : header.slice(0, sp)).toLowerCase();
    const value = sp === -1 ? '' : header.slice(sp + 1).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const login = colon > 0 ? await this.checkPassword(req, decoded.slice(0, colon), decoded.slice(colon + 1)) : undefined;
      if (!login) throw this.unauthorized(req, 'invalid user name or password', needed);
      return { user: login.subject, via: login.kind === 'user' ? 'password' : 'apikey' };
    }
    if (scheme === 'bearer' && this.verifier.enabled) {
      try {
        const token = await this.verifier.verify(value);
        return { user: token.subject, via: 'token', token };
      } catch (e) {
        if (e instanceof TokenInvalidError) throw this.unauthorized(req, `invalid token: ${e.message}`, needed, 'invalid_token');
        throw e;
      }
    }
    throw this.unauthorized(req, `unsupported authorization scheme ${JSON.stringify(scheme.slice(0, 20))}`, needed);
  }

  /** The authenticated user of a request (for the log), once access control has run. */
  userOf(req: IncomingMessage): string | undefined {
    return this.callers.get(req);
  }

  /** Records who made a request that authenticated outside `require` (the token endpoint). */
  noteCaller(req: IncomingMessage, user: string): void {
    this.callers.set(req, user);
  }

  /** Whether the caller may do what `needed` asks: a token by its access claim, anyone else by the policies. */
  permits(p: Principal, needed: AccessEntry): boolean {
    if (p.token) return covers(p.token.access, needed);
    return this.policy.allows(p.user, needed);
  }

  /** Whether the caller may see a repository in the catalog. */
  mayPull(p: Principal, name: string): boolean {
    if (p.token && !p.token.builtIn) return covers(p.token.access, { type: 'repository', name, actions: ['pull'] });
    return this.policy.mayPull(p.user, name);
  }

  /** The error for a request the caller may not make. */
  refusal(req: IncomingMessage, p: Principal, needed: AccessEntry): RegistryError {
    if (p.via === 'anonymous') return this.unauthorized(req, 'authentication required', needed);
    if (p.token) {
      // A wider token may help: ask for it with the scope the request needs (clients fetch one and retry).
      const couldGet = !p.token.builtIn || p.user === undefined || this.policy.allows(p.user, needed);
      if (couldGet) return this.unauthorized(req, `the token does not grant ${formatScope(needed)}`, needed, 'insufficient_scope');
    }
    return new RegistryError('DENIED', `${p.user ?? 'this caller'} may not ${needed.actions.join(',')} ${needed.type === 'repository' ? needed.name : needed.name === 'catalog' ? 'the catalog' : 'this resource'}`);
  }

  /** Authenticates and checks that `needed` (if any) is allowed; throws 401/403. */
  async require(req: IncomingMessage, needed: AccessEntry | undefined, tlsClient?: TLSClientIdentity): Promise<Principal> {
    const p = await this.authenticate(req, needed, tlsClient);
    if (p.user !== undefined) this.callers.set(req, p.user);
    if (needed === undefined) {
      // GET /v2/: tells clients whether (and how) to authenticate.
      if (p.via === 'anonymous') throw this.unauthorized(req, 'authentication required');
      return p;
    }
    if (!this.permits(p, needed)) throw this.refusal(req, p, needed);
    return p;
  }

  /**
   * The hook before every registry handler. Returns the handler to run: the given one, or for the catalog one
   * that lists only what the caller may pull. A cross-repository mount from a repository the caller may not
   * pull becomes a plain upload session.
   */
  async authorize(ctx: Ctx, endpoint: EndpointId, handler: Handler): Promise<Handler> {
    const method = ctx.req.method ?? 'GET';
    const p = await this.require(ctx.req, requiredAccess(endpoint, method, ctx.name), ctx.tlsClient);
    if (p.user !== undefined) ctx.user = p.user;
    if (endpoint === 'uploadStart' && ctx.query.has('mount')) {
      const from = ctx.query.get('from');
      if (from !== null && !this.permits(p, { type: 'repository', name: from, actions: ['pull'] })) {
        ctx.query.delete('mount');
        ctx.query.delete('from');
      }
    }
    if (endpoint === 'catalog') return (c) => filteredCatalog(c, (name) => this.mayPull(p, name));
    return handler;
  }
}
