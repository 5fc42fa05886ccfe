// Registry credentials from the files docker and podman write at `login`:
// `auths` entries (base64 `auth`, or `username`/`password`, `identitytoken`, `registrytoken`) and the
// `credsStore` / `credHelpers` indirections, which run `docker-credential-<name> get` with the server
// URL on stdin and read `{"ServerURL","Username","Secret"}` from stdout.
//
// Files, in the order they are searched (the first file that yields credentials for the host wins), as
// containers/image (podman, buildah, skopeo) does and a superset of what the docker CLI reads:
//   1. $REGISTRY_AUTH_FILE, or else $XDG_RUNTIME_DIR/containers/auth.json
//   2. $XDG_CONFIG_HOME/containers/auth.json (default ~/.config/containers/auth.json), skipped when
//      REGISTRY_AUTH_FILE is set
//   3. $DOCKER_CONFIG/config.json, or else ~/.docker/config.json
//   4. ~/.dockercfg (the legacy format: the top level is the `auths` map)
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runHelperProcess } from './credential-helper-process.js';
import { CredentialsError } from './errors.js';
import { DOCKER_HUB, DOCKER_HUB_API_HOST, DOCKER_HUB_AUTH_KEY } from './reference.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`, or a helper's Secret when its Username is `<token>`). */
  identityToken?: string;
  /** A bearer token sent as it is, with no token exchange (`registrytoken`). */
  registryToken?: string;
}

/**
 * Anything that can answer "which credentials for this registry host (and repository)?".
 * `host` is the registry as named (`docker.io`, `localhost:5000`); undefined means anonymous.
 */
export type CredentialProvider = (host: string, repository?: string) => Promise<Credentials | undefined>;

export interface AuthFile {
  path: string;
  /** ~/.dockercfg: the top level is the map of auths. */
  legacy: boolean;
}

export interface DockerCredentialsOptions {
  /** Environment to read REGISTRY_AUTH_FILE, DOCKER_CONFIG, XDG_* from, and to run helpers with (PATH). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default os.homedir(). */
  homeDir?: string;
  /** Read exactly these files, in order, instead of searching. */
  files?: (string | AuthFile)[];
  /** Kill a credential helper that has not answered after this long. Default 15 s. */
  helperTimeoutMs?: number;
}

/** The files searched for credentials, in order (see the top of this file). */
export function authFilePaths(opts: { env?: NodeJS.ProcessEnv; homeDir?: string } = {}): AuthFile[] {
  const env = opts.env ?? process.env;
  const home = opts.homeDir ?? env.HOME ?? homedir();
  const files: AuthFile[] = [];
  const explicit = env.REGISTRY_AUTH_FILE;
  if (explicit) files.push({ path: explicit, legacy: false });
  else if (env.XDG_RUNTIME_DIR) files.push({ path: join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), legacy: false });
  if (!explicit) files.push({ path: join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'auth.json'), legacy: false });
  files.push({ path: env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(home, '.docker', 'config.json'), legacy: false });
  files.push({ path: join(home, '.dockercfg'), legacy: true });
  return files;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface ConfigFile {
  auths: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers: Record<string, string>;
}

function readConfig(file: AuthFile): ConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(file.path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new CredentialsError(`cannot read ${file.path}: ${(e as Error).message}`, { cause: e });
  }
  if (text.trim() === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CredentialsError(`${file.path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CredentialsError(`${file.path}: expected a JSON object`);
  const o = doc as Record<string, unknown>;
  const objectOf = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  if (file.legacy) return { auths: objectOf(o) as Record<string, AuthEntry>, credHelpers: {} };
  const config: ConfigFile = {
    auths: objectOf(o.auths) as Record<string, AuthEntry>,
    credHelpers: Object.fromEntries(Object.entries(objectOf(o.credHelpers)).filter(([, v]) => typeof v === 'string')) as Record<string, string>,
  };
  if (typeof o.credsStore === 'string' && o.credsStore !== '') config.credsStore = o.credsStore;
  return config;
}

/**
 * Normalizes an `auths` / `credHelpers` key to `host[/path]`: drops the scheme and Docker's `/v1/`, `/v2/`
 * suffixes, and maps every Docker Hub spelling to docker.io. Podman's namespaced keys
 * (`quay.io/org/repo`) keep their path.
 */
export function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = k.indexOf('/');
  let host = slash >= 0 ? k.slice(0, slash) : k;
  let path = slash >= 0 ? k.slice(slash + 1) : '';
  path = path.replace(/\/+$/, '');
  if (/^v[12]$/.test(path)) path = '';
  host = host.toLowerCase();
  if (host === 'index.docker.io' || host === DOCKER_HUB_API_HOST) host = DOCKER_HUB;
  k = path ? `${host}/${path}` : host;
  return k;
}

/** The entry of `map` that matches host (and repository) best: `host/repo`, then shorter namespaces, then `host`. */
function bestMatch<T>(map: Record<string, T>, host: string, repository: string | undefined): { key: string; value: T } | undefined {
  const want = normalizeAuthKey(host);
  let best: { key: string; value: T; length: number } | undefined;
  for (const [key, value] of Object.entries(map)) {
    const k = normalizeAuthKey(key);
    let ok = k === want;
    if (!ok && repository && k.startsWith(want + '/')) {
      const ns = k.slice(want.length + 1);
      ok = repository === ns || repository.startsWith(ns + '/');
    }
    if (ok && (!best || k.length > best.length)) best = { key, value, length: k.length };
  }
  return best ? { key: best.key, value: best.value } : undefined;
}

function fromEntry(entry: AuthEntry, where: string): Credentials | undefined {
  const c: Credentials = {};
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new CredentialsError(`${where}: "auth" must be base64 of "username:password"`);
    c.username = decoded.slice(0, colon);
    c.password = decoded.slice(colon + 1);
  } else if (typeof entry.username === 'string' && entry.username !== '') {
    c.username = entry.username;
    if (typeof entry.password === 'string') c.password = entry.password;
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') c.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === 'string' && entry.registrytoken !== '') c.registryToken = entry.registrytoken;
  return Object.keys(c).length ? c : undefined;
}

/** The server URL docker hands to credential helpers: Docker Hub's legacy URL, else the host. */
export function helperServerUrl(host: string): string {
  return normalizeAuthKey(host) === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : host;
}

/**
 * Runs `docker-credential-<helper> get` with the server URL on stdin. Undefined when the helper says it
 * has no credentials for it; CredentialsError for any other failure.
 */
export async function runCredentialHelper(
  helper: string,
  serverUrl: string,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Credentials | undefined> {
  const { program, code, stdout, stderr } = await runHelperProcess(helper, 'get', serverUrl, opts);
  const out = stdout.trim();
  if (code !== 0) {
    // docker-credential-helpers' ErrCredentialsNotFound message, on stdout.
    if (/credentials not found/i.test(out) || /credentials not found/i.test(stderr)) return undefined;
    throw new CredentialsError(`${program} get exited with ${code}: ${(out || stderr).trim().slice(0, 500)}`);
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(out) as typeof doc;
  } catch {
    throw new CredentialsError(`${program} get printed something that is not JSON`);
  }
  const username = typeof doc.Username === 'string' ? doc.Username : '';
  const secret = typeof doc.Secret === 'string' ? doc.Secret : '';
  if (username === '' && secret === '') return undefined;
  if (username === '<token>') return { identityToken: secret };
  return { username, password: secret };
}

/** Reads docker/podman auth files (and runs their helpers). Helper answers are cached for the store's lifetime. */
export class DockerCredentialStore {
  private readonly opts: DockerCredentialsOptions;
  private readonly helperCache = new Map<string, Promise<Credentials | undefined>>();

  constructor(opts: DockerCredentialsOptions = {}) {
    this.opts = opts;
  }

  files(): AuthFile[] {
    if (this.opts.files) return this.opts.files.map((f) => (typeof f === 'string' ? { path: f, legacy: false } : f));
    const o: { env?: NodeJS.ProcessEnv; homeDir?: string } = {};
    if (this.opts.env) o.env = this.opts.env;
    if (this.opts.homeDir) o.homeDir = this.opts.homeDir;
    return authFilePaths(o);
  }

  /** Credentials for a registry host (as named: docker.io, localhost:5000), or undefined for anonymous access. */
  async get(host: string, repository?: string): Promise<Credentials | undefined> {
    for (const file of this.files()) {
      const config = readConfig(file);
      if (!config) continue;
      const found = await this.fromConfig(config, file.path, host, repository);
      if (found) return found;
    }
    return undefined;
  }

  /** The same as get, as a CredentialProvider function. */
  readonly provider: CredentialProvider = (host, repository) => this.get(host, repository);

  private async fromConfig(config: ConfigFile, path: string, host: string, repository: string | undefined): Promise<Credentials | undefined> {
    const helper = bestMatch(config.credHelpers, host, repository)?.value ?? config.credsStore;
    if (helper) {
      const fromHelper = await this.helper(helper, helperServerUrl(host));
      if (fromHelper) return fromHelper;
    }
    const entry = bestMatch(config.auths, host, repository);
    return entry ? fromEntry(entry.value, `${path}: auths[${JSON.stringify(entry.key)}]`) : undefined;
  }

  private helper(name: string, serverUrl: string): Promise<Credentials | undefined> {
    const key = `${name}\0${serverUrl}`;
    let p = this.helperCache.get(key);
    if (!p) {
      const o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {};
      if (this.opts.env) o.env = this.opts.env;
      if (this.opts.helperTimeoutMs) o.timeoutMs = this.opts.helperTimeoutMs;
      p = runCredentialHelper(name, serverUrl, o);
      this.helperCache.set(key, p);
      p.catch(() => this.helperCache.delete(key));
    }
    return p;
  }
}

/** A CredentialProvider over the docker/podman auth files. */
export function dockerCredentials(opts: DockerCredentialsOptions = {}): CredentialProvider {
  return new DockerCredentialStore(opts).provider;
}

/** A CredentialProvider that always answers with the same credentials (for one registry or all). */
export function staticCredentials(credentials: Credentials, onlyHost?: string): CredentialProvider {
  return async (host) => (onlyHost === undefined || normalizeAuthKey(onlyHost) === normalizeAuthKey(host) ? credentials : undefined);
}
