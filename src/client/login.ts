// `login` and `logout`: check credentials against a registry, then store them where docker and podman
// look for them (and where dockerCredentials() in ./credentials.ts reads them back).
//
// Which file is written:
//   1. `opts.authFile` when given (the CLI's --authfile, as podman's);
//   2. else $REGISTRY_AUTH_FILE when set: the user chose that file for podman/skopeo/buildah, and
//      `podman login` writes it too;
//   3. else $DOCKER_CONFIG/config.json, or ~/.docker/config.json: the file `docker login` writes, which
//      podman, skopeo and buildah also read (after their own auth.json).
// The file keeps every other key (credHelpers, proxies, other hosts); it is replaced atomically (a
// temporary file in the same directory, fsync, rename) with mode 0600. When the file names a credential
// helper for the host (`credHelpers`) or for everything (`credsStore`), the secret goes to
// `docker-credential-<name> store`, as docker does, and the file itself is left untouched.
//
// `logout` removes the host's entry from every auth file credentials are searched in (docker's and
// podman's), and erases it from the helper the file names, so no stale copy keeps answering.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CredentialsError } from './errors.js';
import { runHelperProcess } from './credential-helper-process.js';
import { authFilePaths, helperServerUrl, normalizeAuthKey, type Credentials } from './credentials.js';
import { DOCKER_HUB, DOCKER_HUB_AUTH_KEY } from './reference.js';
import type { RegistryClient, RegistryClientOptions } from './registry-client.js';

export interface LoginOptions {
  /** Write this file instead of the default (see the top of this file). */
  authFile?: string;
  /** Environment for REGISTRY_AUTH_FILE, DOCKER_CONFIG, HOME and helpers' PATH. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Options for the client that checks the credentials (insecure hosts, CA files…); `credentials` is replaced. */
  client?: RegistryClientOptions;
  /** Skip the check against the registry (store only). */
  verify?: boolean;
  signal?: AbortSignal;
  /** Kill a credential helper that has not answered after this long. Default 15 s. */
  helperTimeoutMs?: number;
}

export interface LoginResult {
  /** The file that holds the credentials or names the helper that does. */
  file: string;
  /** The key under `auths` (or the server URL given to the helper). */
  key: string;
  /** The credential helper that stored the secret, if one did. */
  helper: string | undefined;
}

export interface LogoutResult {
  /** Files an entry for the host was removed from. */
  files: string[];
  /** Helpers the credentials were erased from. */
  helpers: string[];
}

/** The file `login` writes (see the top of this file). */
export function loginAuthFile(opts: { authFile?: string; env?: NodeJS.ProcessEnv } = {}): string {
  if (opts.authFile) return opts.authFile;
  const env = opts.env ?? process.env;
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  const home = env.HOME ?? homedir();
  return env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(home, '.docker', 'config.json');
}

/** The `auths` key docker uses for a registry: its legacy URL for Docker Hub, else `host[:port]`. */
export function authKeyFor(registry: string): string {
  const host = normalizeAuthKey(registry);
  return host === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : host;
}

/**
 * Checks `credentials` against the registry (GET /v2/ through the auth flow: Basic, or a Bearer token
 * fetched with them) and stores them. UnauthorizedError / TokenError when the registry refuses them.
 */
export async function login(registry: string, credentials: Credentials, opts: LoginOptions = {}): Promise<LoginResult> {
  if (!credentials.username || credentials.password === undefined || credentials.password === '') {
    throw new CredentialsError('login needs a username and a password (or token)');
  }
  if (opts.verify !== false) {
    const { RegistryClient } = await import('./registry-client.js');
    const client: RegistryClient = new RegistryClient(registry, { ...opts.client, credentials, transport: undefined });
    try {
      await client.ping({ signal: opts.signal });
    } finally {
      await client.close();
    }
  }
  const file = loginAuthFile(opts);
  const doc = readAuthDocument(file);
  const key = authKeyFor(registry);
  const helper = helperFor(doc, registry);
  if (helper) {
    const payload = JSON.stringify({ ServerURL: helperServerUrl(registry), Username: credentials.username, Secret: credentials.password });
    await runHelper(helper, 'store', payload, opts);
    return { file, key: helperServerUrl(registry), helper };
  }
  const auths = objectAt(doc, 'auths');
  for (const k of Object.keys(auths)) if (k !== key && normalizeAuthKey(k) === normalizeAuthKey(registry)) delete auths[k];
  auths[key] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64') };
  doc.auths = auths;
  writeAuthDocument(file, doc);
  return { file, key, helper: undefined };
}

/** Removes the registry's credentials from every auth file (and helper) that holds them. */
export async function logout(registry: string, opts: Omit<LoginOptions, 'client' | 'verify'> = {}): Promise<LogoutResult> {
  const env = opts.env ?? process.env;
  const files = opts.authFile ? [opts.authFile] : [loginAuthFile(opts), ...authFilePaths({ env }).filter((f) => !f.legacy).map((f) => f.path)];
  const result: LogoutResult = { files: [], helpers: [] };
  const want = normalizeAuthKey(registry);
  for (const file of [...new Set(files)]) {
    const doc = readAuthDocument(file, { missingOk: true });
    if (!doc) continue;
    const helper = helperFor(doc, registry);
    if (helper && !result.helpers.includes(helper)) {
      if (await runHelper(helper, 'erase', helperServerUrl(registry), opts)) result.helpers.push(helper);
    }
    const auths = objectAt(doc, 'auths');
    const keys = Object.keys(auths).filter((k) => normalizeAuthKey(k) === want);
    if (keys.length === 0) continue;
    for (const k of keys) delete auths[k];
    doc.auths = auths;
    writeAuthDocument(file, doc);
    result.files.push(file);
  }
  return result;
}

type AuthDocument = Record<string, unknown>;

function readAuthDocument(file: string): AuthDocument;
function readAuthDocument(file: string, opts: { missingOk: true }): AuthDocument | undefined;
function readAuthDocument(file: string, opts: { missingOk?: boolean } = {}): AuthDocument | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return opts.missingOk ? undefined : {};
    throw new CredentialsError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CredentialsError(`${file} is not valid JSON (${(e as Error).message}); fix or remove it, it was left as it is`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CredentialsError(`${file}: expected a JSON object; it was left as it is`);
  return doc as AuthDocument;
}

function objectAt(doc: AuthDocument, key: string): Record<string, unknown> {
  const v = doc[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

/** The credential helper the document names for the registry: `credHelpers[host]`, else `credsStore`. */
function helperFor(doc: AuthDocument, registry: string): string | undefined {
  const want = normalizeAuthKey(registry);
  for (const [k, v] of Object.entries(objectAt(doc, 'credHelpers'))) {
    if (normalizeAuthKey(k) === want && typeof v === 'string' && v !== '') return v;
  }
  return typeof doc.credsStore === 'string' && doc.credsStore !== '' ? doc.credsStore : undefined;
}

/** Replaces the file atomically: a 0600 temporary file beside it, fsync, rename. */
function writeAuthDocument(file: string, doc: AuthDocument): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(file), `.${process.pid}.${Date.now()}.wharf-auth.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(doc, null, '\t') + '\n');
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw new CredentialsError(`cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new CredentialsError(`cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Runs `docker-credential-<helper> store|erase` with `input` on stdin. For erase, false when the helper
 * had nothing to erase; CredentialsError for any other failure.
 */
async function runHelper(helper: string, action: 'store' | 'erase', input: string, opts: { env?: NodeJS.ProcessEnv; helperTimeoutMs?: number }): Promise<boolean> {
  const { program, code, stdout, stderr } = await runHelperProcess(helper, action, input, { env: opts.env, timeoutMs: opts.helperTimeoutMs });
  if (code === 0) return true;
  const output = stdout + stderr;
  if (action === 'erase' && /credentials not found/i.test(output)) return false;
  throw new CredentialsError(`${program} ${action} exited with ${code}: ${output.trim().slice(0, 500)}`);
}
