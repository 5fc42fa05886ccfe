// The `auth` section of the configuration: who may authenticate (htpasswd users, API keys, tokens from the
// built-in token service or from external issuers) and what each may do (policies, admins, groups).
// Absent section = no authentication at all, as before. Paths are resolved against the config file.
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

export const policyActions = ['pull', 'push', 'delete', 'catalog'] as const;
export type PolicyAction = (typeof policyActions)[number];

const name = z.string().min(1).max(128);
const url = z.string().url();

const tokenSchema = z
  .object({
    /** `iss` of the tokens Wharf issues. */
    issuer: z.string().min(1).default('wharf'),
    /** `aud` of the tokens, the `service` clients name when they ask for one. */
    service: z.string().min(1).default('wharf'),
    /** PEM private key (EC P-256 → ES256, RSA → RS256). Default: DATA/auth/token-key.pem, generated (ES256) on first start. */
    key: z.string().min(1).optional(),
    /** Lifetime of an access token, in seconds. */
    expirySeconds: z.number().int().min(10).max(86400).default(300),
    /** Lifetime of a refresh token (offline_token=true / access_type=offline); 0 turns refresh tokens off. */
    refreshExpirySeconds: z.number().int().min(0).default(7 * 86400),
    /** The realm URL put in challenges; default: <scheme>://<Host of the request>/token. */
    realm: url.optional(),
  })
  .strict();

const externalSchema = z
  .object({
    /** `iss` of the tokens this issuer signs. */
    issuer: z.string().min(1),
    /** The `aud` the tokens must carry (the service name the issuer signs tokens for). */
    service: z.string().min(1),
    /** JWKS URL of the issuer's public keys. */
    jwks: url.optional(),
    /** Or a PEM file of public keys or certificates (a bundle: the token's kid picks one). */
    publicKey: z.string().min(1).optional(),
    /** The issuer's token endpoint, put in challenges when Wharf runs no token service of its own. */
    realm: url.optional(),
  })
  .strict()
  .refine((e) => (e.jwks === undefined) !== (e.publicKey === undefined), 'give exactly one of jwks or publicKey');

const policySchema = z
  .object({
    /** Repository globs: `*` within one path segment, `**` across segments. */
    repositories: z.array(z.string().min(1)).min(1),
    /** User names (htpasswd users and API key subjects); "*" = every authenticated caller. */
    users: z.array(name).default([]),
    groups: z.array(name).default([]),
    /** The policy applies to everyone, without credentials too. */
    anonymous: z.boolean().default(false),
    actions: z.array(z.enum(policyActions)).min(1),
  })
  .strict();

export const authSchema = z
  .object({
    /** Realm of the Basic challenge. */
    realm: z.string().min(1).default('wharf'),
    /** htpasswd file (bcrypt entries, as `htpasswd -B` writes them); re-read when it changes. */
    htpasswd: z.string().min(1).optional(),
    /** The built-in token service (Docker token authentication); without it, Basic authentication. */
    token: tokenSchema.optional(),
    /** Token servers whose tokens are accepted. */
    external: z.array(externalSchema).default([]),
    /** Group name → member user names. */
    groups: z.record(name, z.array(name)).default({}),
    /** Users who may do everything (and manage API keys); `group:NAME` names every member of a group. */
    admins: z.array(name).default([]),
    policies: z.array(policySchema).default([]),
    /** Failed logins one client address may make per minute before it gets 429 for the rest of the minute; 0 = no limit. */
    maxFailedLogins: z.number().int().min(0).default(20),
  })
  .strict();

export type AuthConfig = z.output<typeof authSchema>;
export type PolicyConfig = AuthConfig['policies'][number];
export type ExternalIssuerConfig = AuthConfig['external'][number];
export type TokenServiceConfig = NonNullable<AuthConfig['token']>;

function relativeTo(base: string, value: unknown): unknown {
  return typeof value === 'string' && !isAbsolute(value) ? resolve(base, value) : value;
}

/** Resolves the file paths of a raw (unvalidated) `auth` section against the directory of the config file. */
export function resolveAuthPaths(auth: unknown, base: string): void {
  if (typeof auth !== 'object' || auth === null) return;
  const a = auth as Record<string, unknown>;
  if ('htpasswd' in a) a.htpasswd = relativeTo(base, a.htpasswd);
  const token = a.token as Record<string, unknown> | undefined;
  if (typeof token === 'object' && token !== null && 'key' in token) token.key = relativeTo(base, token.key);
  if (Array.isArray(a.external)) {
    for (const e of a.external as Record<string, unknown>[]) {
      if (typeof e === 'object' && e !== null && 'publicKey' in e) e.publicKey = relativeTo(base, e.publicKey);
    }
  }
}
