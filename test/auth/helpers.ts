// In-process Wharf with an `auth` section (a config file written next to its htpasswd, as a user would), and
// small helpers to ask its token service for tokens.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import { tempDir, removeDir } from '../helpers/processes.js';

export interface AuthRegistry {
  url: string;
  /** 127.0.0.1:PORT */
  host: string;
  dir: string;
  running: RunningRegistry;
  close(): Promise<void>;
}

/** htpasswd lines as `htpasswd -B` writes them ($2y$), at the lowest bcrypt cost to keep tests quick. */
export function htpasswdText(users: Record<string, string>): string {
  return Object.entries(users)
    .map(([u, p]) => `${u}:${bcrypt.hashSync(p, 4).replace(/^\$2b\$/, '$2y$')}\n`)
    .join('');
}

/** Starts a registry whose config file holds `auth` (with `htpasswd: ./htpasswd` holding `users`). */
export async function startAuthRegistry(auth: Record<string, unknown>, users: Record<string, string> = {}, log?: Logger): Promise<AuthRegistry> {
  const dir = tempDir('wharf-auth-');
  writeFileSync(join(dir, 'htpasswd'), htpasswdText(users));
  const configPath = join(dir, 'wharf.yaml');
  writeFileSync(configPath, JSON.stringify({ data: './data', auth: { htpasswd: './htpasswd', ...auth } }, null, 2));
  const config = loadConfig({ config: configPath, listen: '127.0.0.1:0' }, {});
  const running = await startRegistry(config, log ?? pino({ level: process.env.WHARF_TEST_LOG ?? 'silent' }));
  return {
    url: running.url,
    host: new URL(running.url).host,
    dir,
    running,
    async close() {
      await running.close();
      removeDir(dir);
    },
  };
}

export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

export interface TokenAnswer {
  status: number;
  body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string; refresh_token?: string; scope?: string; errors?: { code: string }[] };
}

/** GET /token?service=&scope=… with Basic credentials when given. */
export async function getToken(url: string, opts: { user?: string; password?: string; scopes?: string[]; service?: string; offline?: boolean } = {}): Promise<TokenAnswer> {
  const u = new URL('/token', url);
  u.searchParams.set('service', opts.service ?? 'wharf');
  for (const s of opts.scopes ?? []) u.searchParams.append('scope', s);
  if (opts.offline) u.searchParams.set('offline_token', 'true');
  const headers: Record<string, string> = {};
  if (opts.user !== undefined) headers.authorization = basic(opts.user, opts.password ?? '');
  const res = await fetch(u, { headers });
  return { status: res.status, body: (await res.json()) as TokenAnswer['body'] };
}

/** A token for the scopes (throws unless the token service answers 200). */
export async function tokenFor(url: string, user: string | undefined, password: string | undefined, scopes: string[]): Promise<string> {
  const opts: Parameters<typeof getToken>[1] = { scopes };
  if (user !== undefined) {
    opts.user = user;
    opts.password = password ?? '';
  }
  const r = await getToken(url, opts);
  if (r.status !== 200 || !r.body.token) throw new Error(`token request for ${user ?? 'anonymous'} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** The access claim of a JWT (not verified: for assertions on what was granted). */
export function accessOf(token: string): { type: string; name: string; actions: string[] }[] {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { access?: { type: string; name: string; actions: string[] }[] };
  return payload.access ?? [];
}
