// JWTs: the built-in token service's access and refresh tokens (signed with jose), and the verification of
// every bearer token a request carries, from the built-in service or a configured external issuer: signature,
// `iss`, `aud` = the service, `exp`/`nbf` with a small leeway, and the shape of the `access` claim.
import { X509Certificate, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT, createRemoteJWKSet, decodeJwt, jwtVerify, errors as joseErrors, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { ExternalIssuerConfig, TokenServiceConfig } from './config.js';
import { libtrustKeyId, type SigningKey } from './signing-key.js';
import type { AccessEntry } from './scope.js';

/** Clock skew tolerated on exp, nbf and iat, in seconds. */
export const clockToleranceSeconds = 10;
const refreshTyp = 'wharf-refresh+jwt';
const externalAlgorithms = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];

export class TokenInvalidError extends Error {
  override name = 'TokenInvalidError';
}

export interface VerifiedToken {
  issuer: string;
  /** `sub`: the user the token was issued to; undefined for anonymous tokens. */
  subject: string | undefined;
  access: AccessEntry[];
  /** Issued by Wharf's own token service (its subject is a user the policies know). */
  builtIn: boolean;
}

/** Who a refresh token was issued to: a htpasswd user, or an API key (re-checked on every refresh). */
export interface RefreshLogin {
  kind: 'user' | 'apikey';
  /** The login name (user or key name). */
  login: string;
  /** The policy subject. */
  subject: string;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

function accessClaim(value: unknown): AccessEntry[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TokenInvalidError('the access claim is not a list');
  return value.map((e) => {
    const o = e as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.type !== 'string' || typeof o.name !== 'string' || !Array.isArray(o.actions)) {
      throw new TokenInvalidError('an access claim entry lacks type, name or actions');
    }
    return { type: o.type, name: o.name, actions: o.actions.filter((a): a is string => typeof a === 'string') };
  });
}

function describeJoseError(e: unknown): string {
  if (e instanceof TokenInvalidError) return e.message;
  if (e instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `claim ${e.claim} is not valid (${e.reason})`;
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (e instanceof joseErrors.JOSEError) return e.message;
  return 'the token is malformed';
}

export class TokenService {
  constructor(
    readonly config: TokenServiceConfig,
    readonly key: SigningKey,
  ) {}

  async issueAccess(subject: string | undefined, access: AccessEntry[], now = Date.now()): Promise<IssuedToken> {
    const iat = Math.floor(now / 1000);
    const jwt = new SignJWT({ access })
      .setProtectedHeader({ alg: this.key.alg, kid: this.key.kid, typ: 'JWT' })
      .setIssuer(this.config.issuer)
      .setAudience(this.config.service)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + this.config.expirySeconds)
      .setJti(randomUUID());
    if (subject !== undefined) jwt.setSubject(subject);
    return { token: await jwt.sign(this.key.privateKey), expiresIn: this.config.expirySeconds, issuedAt: new Date(iat * 1000).toISOString() };
  }

  /** A refresh token (OAuth2 offline access), or undefined when refresh tokens are turned off. */
  async issueRefresh(login: RefreshLogin, now = Date.now()): Promise<string | undefined> {
    if (this.config.refreshExpirySeconds === 0) return undefined;
    const iat = Math.floor(now / 1000);
    return new SignJWT({ login: login.login, kind: login.kind })
      .setProtectedHeader({ alg: this.key.alg, kid: this.key.kid, typ: refreshTyp })
      .setIssuer(this.config.issuer)
      .setAudience(this.config.service)
      .setSubject(login.subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.config.refreshExpirySeconds)
      .setJti(randomUUID())
      .sign(this.key.privateKey);
  }

  /** Checks a refresh token issued by this service; throws TokenInvalidError. */
  async verifyRefresh(token: string): Promise<RefreshLogin> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key.publicKey, {
        issuer: this.config.issuer,
        audience: this.config.service,
        algorithms: [this.key.alg],
        typ: refreshTyp,
        clockTolerance: clockToleranceSeconds,
      }));
    } catch (e) {
      throw new TokenInvalidError(`invalid refresh token: ${describeJoseError(e)}`);
    }
    const { login, kind, sub } = payload as { login?: unknown; kind?: unknown; sub?: unknown };
    if (typeof login !== 'string' || (kind !== 'user' && kind !== 'apikey') || typeof sub !== 'string') throw new TokenInvalidError('invalid refresh token: claims missing');
    return { login, kind, subject: sub };
  }
}

interface Issuer {
  issuer: string;
  audience: string;
  key: KeyObject | JWTVerifyGetKey;
  algorithms: string[];
  builtIn: boolean;
}

/**
 * The public keys of a PEM file: public keys and certificates (a bundle, like Distribution's
 * `rootcertbundle`). Several keys are told apart by the token's `kid` (libtrust form).
 */
export function publicKeysFromPem(text: string): KeyObject[] {
  const blocks = text.match(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g) ?? [];
  return blocks.map((b) => (b.startsWith('-----BEGIN CERTIFICATE-----') ? new X509Certificate(b).publicKey : createPublicKey(b)));
}

function keyFile(e: ExternalIssuerConfig): KeyObject | JWTVerifyGetKey {
  let keys: KeyObject[];
  try {
    keys = publicKeysFromPem(readFileSync(e.publicKey!, 'utf8'));
  } catch (err) {
    throw new Error(`external issuer ${e.issuer}: cannot read public key ${e.publicKey}: ${(err as Error).message}`);
  }
  if (keys.length === 0) throw new Error(`external issuer ${e.issuer}: ${e.publicKey} holds no PEM public key or certificate`);
  if (keys.length === 1) return keys[0]!;
  const byKid = new Map(keys.map((k) => [libtrustKeyId(k.export({ type: 'spki', format: 'der' })), k]));
  return (header) => {
    const k = header.kid === undefined ? undefined : byKid.get(header.kid);
    if (!k) throw new TokenInvalidError('the token names no key id of the configured bundle');
    return k;
  };
}

export function externalIssuer(e: ExternalIssuerConfig): Issuer {
  const key = e.jwks !== undefined ? createRemoteJWKSet(new URL(e.jwks), { cooldownDuration: 30_000, cacheMaxAge: 600_000, timeoutDuration: 5_000 }) : keyFile(e);
  return { issuer: e.issuer, audience: e.service, key, algorithms: externalAlgorithms, builtIn: false };
}

/** Verifies bearer tokens from the built-in service and the external issuers, picked by `iss`. */
export class TokenVerifier {
  private readonly issuers = new Map<string, Issuer>();

  constructor(service: TokenService | undefined, external: ExternalIssuerConfig[]) {
    for (const e of external) this.issuers.set(e.issuer, externalIssuer(e));
    if (service) {
      this.issuers.set(service.config.issuer, {
        issuer: service.config.issuer,
        audience: service.config.service,
        key: service.key.publicKey,
        algorithms: [service.key.alg],
        builtIn: true,
      });
    }
  }

  get enabled(): boolean {
    return this.issuers.size > 0;
  }

  async verify(token: string): Promise<VerifiedToken> {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new TokenInvalidError('the token is not a JWT');
    }
    const issuer = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (!issuer) throw new TokenInvalidError('the token comes from an issuer this registry does not trust');
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      const opts = { issuer: issuer.issuer, audience: issuer.audience, algorithms: issuer.algorithms, clockTolerance: clockToleranceSeconds };
      const r = typeof issuer.key === 'function' ? await jwtVerify(token, issuer.key, opts) : await jwtVerify(token, issuer.key, opts);
      payload = r.payload;
      typ = r.protectedHeader.typ;
    } catch (e) {
      throw new TokenInvalidError(describeJoseError(e));
    }
    if (typ === refreshTyp) throw new TokenInvalidError('a refresh token is not an access token');
    if (payload.exp === undefined) throw new TokenInvalidError('the token has no expiry');
    return { issuer: issuer.issuer, subject: typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined, access: accessClaim(payload.access), builtIn: issuer.builtIn };
  }
}
