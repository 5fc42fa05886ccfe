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
    issuer: z.string().min(1).default('wharf').describe('`iss` of the tokens Wharf issues.'),
    service: z.string().min(1).default('wharf').describe('`aud` of the tokens, the `service` clients name when they ask for one.'),
    key: z.string().min(1).optional().describe('PEM private key (EC P-256 → ES256, RSA → RS256). Default: DATA/auth/token-key.pem, generated (ES256) on first start.'),
    expirySeconds: z.number().int().min(10).max(86400).default(300).describe('Lifetime of an access token, in seconds.'),
    refreshExpirySeconds: z.number().int().min(0).default(7 * 86400).describe('Lifetime of a refresh token (offline_token=true / access_type=offline); 0 turns refresh tokens off.'),
    realm: url.optional().describe('The realm URL put in challenges; default: <scheme>://<Host of the request>/token.'),
  })
  .strict();

const externalSchema = z
  .object({
    issuer: z.string().min(1).describe('`iss` of the tokens this issuer signs.'),
    service: z.string().min(1).describe('The `aud` the tokens must carry (the service name the issuer signs tokens for).'),
    jwks: url.optional().describe('JWKS URL of the issuer\'s public keys.'),
    publicKey: z.string().min(1).optional().describe('Or a PEM file of public keys or certificates (a bundle: the token\'s kid picks one).'),
    realm: url.optional().describe('The issuer\'s token endpoint, put in challenges when Wharf runs no token service of its own.'),
  })
  .strict()
  .refine((e) => (e.jwks === undefined) !== (e.publicKey === undefined), 'give exactly one of jwks or publicKey');

const policySchema = z
  .object({
    repositories: z.array(z.string().min(1)).min(1).describe('Repository globs: `*` within one path segment, `**` across segments.'),
    users: z.array(name).default([]).describe('User names (htpasswd users and API key subjects); "*" = every authenticated caller.'),
    groups: z.array(name).default([]).describe('Groups (from auth.groups) the policy applies to.'),
    anonymous: z.boolean().default(false).describe('The policy applies to everyone, without credentials too.'),
    actions: z.array(z.enum(policyActions)).min(1).describe('What the policy allows: pull, push, delete on the repositories; catalog lists the catalog (only what the caller may pull).'),
  })
  .strict();

export const authSchema = z
  .object({
    realm: z.string().min(1).default('wharf').describe('Realm of the Basic challenge.'),
    htpasswd: z.string().min(1).optional().describe('htpasswd file (bcrypt entries, as `htpasswd -B` writes them); re-read when it changes.'),
    token: tokenSchema.optional().describe('The built-in token service (Docker token authentication); without it, Basic authentication.'),
    external: z.array(externalSchema).default([]).describe('Token servers whose tokens are accepted.'),
    groups: z.record(name, z.array(name)).default({}).describe('Group name → member user names.'),
    admins: z.array(name).default([]).describe('Users who may do everything (and manage API keys); `group:NAME` names every member of a group.'),
    policies: z.array(policySchema).default([]).describe('Access policies: a caller may do the union of the actions of every policy that applies to it and matches the repository.'),
    maxFailedLogins: z.number().int().min(0).default(20).describe('Failed logins one client address may make per minute before it gets 429 for the rest of the minute; 0 = no limit.'),
  })
  .strict()
  .describe('Authentication and access policies (docs/auth.md); absent: everyone may do everything.');

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
