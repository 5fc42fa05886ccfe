// API keys (robot accounts): a named secret, shown once at creation and stored as a SHA-256 hash (the secret
// is 32 random bytes, so a slow hash adds nothing), that authenticates as a policy subject until it expires.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, MetadataStore } from '../metadata/store.js';

export const apiKeyNamePattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Secrets carry a prefix so that scanners (and people) recognise them. */
const secretPrefix = 'wharf_';

export class ApiKeyError extends Error {
  override name = 'ApiKeyError';
  constructor(
    message: string,
    readonly kind: 'invalid' | 'exists',
  ) {
    super(message);
  }
}

export interface ApiKeyInfo {
  name: string;
  subject: string;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function describeKey(k: ApiKeyRecord, now = Date.now()): ApiKeyInfo {
  return { name: k.name, subject: k.subject, createdAt: new Date(k.createdAt).toISOString(), expiresAt: new Date(k.expiresAt).toISOString(), expired: k.expiresAt <= now };
}

export class ApiKeys {
  constructor(private readonly store: MetadataStore) {}

  /** Creates a key; the secret is in the answer and nowhere else. */
  async create(name: string, subject: string, expiresInSeconds: number, now = Date.now()): Promise<ApiKeyInfo & { secret: string }> {
    if (!apiKeyNamePattern.test(name)) throw new ApiKeyError(`invalid key name ${JSON.stringify(name.slice(0, 80))}: use 1-64 of a-z 0-9 . _ - starting with a letter or digit`, 'invalid');
    if (!/^[^\s:]{1,128}$/.test(subject)) throw new ApiKeyError(`invalid subject ${JSON.stringify(subject.slice(0, 80))}: a user name without spaces or colons`, 'invalid');
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds <= 0 || expiresInSeconds > 10 * 366 * 86400) {
      throw new ApiKeyError('the expiry must be a whole number of seconds between 1 and ten years', 'invalid');
    }
    const secret = secretPrefix + randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = { name, subject, secretHash: hashSecret(secret), createdAt: now, expiresAt: now + expiresInSeconds * 1000 };
    if (!(await this.store.createApiKey(record))) throw new ApiKeyError(`an API key named ${name} exists; revoke it first`, 'exists');
    return { ...describeKey(record, now), secret };
  }

  async list(now = Date.now()): Promise<ApiKeyInfo[]> {
    return (await this.store.listApiKeys()).map((k) => describeKey(k, now));
  }

  revoke(name: string): Promise<boolean> {
    return this.store.revokeApiKey(name);
  }

  /** The subject a live key authenticates as, or undefined (unknown, wrong secret, expired). */
  async verify(name: string, secret: string, now = Date.now()): Promise<string | undefined> {
    if (!apiKeyNamePattern.test(name) || !secret.startsWith(secretPrefix)) return undefined;
    const k = await this.store.findApiKey(name);
    if (!k || k.expiresAt <= now) return undefined;
    const a = Buffer.from(hashSecret(secret), 'hex');
    const b = Buffer.from(k.secretHash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b) ? k.subject : undefined;
  }

  /** Whether a key still exists and is live (refresh tokens issued to it stop working when it does not). */
  async isLive(name: string, now = Date.now()): Promise<boolean> {
    const k = await this.store.findApiKey(name);
    return k !== undefined && k.expiresAt > now;
  }
}
