// Loads the configuration. Precedence: command-line flags > WHARF_* environment > config file > defaults.
// Relative paths in the file are relative to the file; elsewhere to the working directory.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYAML } from 'yaml';
import { configSchema, type ResolvedConfig } from './schema.js';
import { resolveAuthPaths } from '../auth/config.js';
import { resolvePluginPaths } from '../plugins/config.js';

export interface Overrides {
  config?: string;
  listen?: string;
  data?: string;
  storage?: string;
  metadata?: string;
  logLevel?: string;
  readOnly?: boolean;
  debugListen?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The WHARF_* variables and the keys they set (for the configuration reference; keep in step with fromEnvironment). */
export const environmentVariables: ReadonlyArray<{ variable: string; key: string }> = [
  { variable: 'WHARF_CONFIG', key: '(the configuration file)' },
  { variable: 'WHARF_LISTEN', key: 'listen' },
  { variable: 'WHARF_DATA', key: 'data' },
  { variable: 'WHARF_STORAGE', key: 'storage' },
  { variable: 'WHARF_METADATA', key: 'metadata' },
  { variable: 'WHARF_LOG_LEVEL', key: 'log.level' },
  { variable: 'WHARF_READ_ONLY', key: 'readOnly' },
  { variable: 'WHARF_DEBUG_LISTEN', key: 'debug.listen' },
];

/** The WHARF_* variables that map onto settings. */
export function fromEnvironment(env: NodeJS.ProcessEnv): Overrides {
  const o: Overrides = {};
  if (env.WHARF_CONFIG) o.config = env.WHARF_CONFIG;
  if (env.WHARF_LISTEN) o.listen = env.WHARF_LISTEN;
  if (env.WHARF_DATA) o.data = env.WHARF_DATA;
  if (env.WHARF_STORAGE) o.storage = env.WHARF_STORAGE;
  if (env.WHARF_METADATA) o.metadata = env.WHARF_METADATA;
  if (env.WHARF_LOG_LEVEL) o.logLevel = env.WHARF_LOG_LEVEL;
  if (env.WHARF_READ_ONLY) o.readOnly = parseBooleanVariable('WHARF_READ_ONLY', env.WHARF_READ_ONLY);
  if (env.WHARF_DEBUG_LISTEN) o.debugListen = env.WHARF_DEBUG_LISTEN;
  return o;
}

function parseBooleanVariable(variable: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${variable}=${JSON.stringify(value)}: expected true or false`);
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYAML(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${path} must hold a mapping of settings`);
  return doc as Record<string, unknown>;
}

function relativeTo(base: string, value: string): string {
  return isAbsolute(value) ? value : resolve(base, value);
}

/** Storage values that are plain paths become file: URLs; relative sqlite: paths become absolute. */
function absoluteLocation(base: string, value: string, kind: 'storage' | 'metadata'): string {
  if (kind === 'metadata') {
    if (value.startsWith('sqlite:') && value !== 'sqlite::memory:') return `sqlite:${relativeTo(base, value.slice(7))}`;
    return value;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) return value;
  return pathToFileURL(relativeTo(base, value)).href;
}

/** The certificate, key and client CA files named under `tls:` are relative to the config file. */
function resolveTLSPaths(file: Record<string, unknown>, base: string): void {
  const tls = file.tls;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) return;
  const resolved: Record<string, unknown> = { ...(tls as Record<string, unknown>) };
  for (const key of ['certificate', 'key', 'clientCA']) {
    if (typeof resolved[key] === 'string' && resolved[key] !== '') resolved[key] = relativeTo(base, resolved[key] as string);
  }
  file.tls = resolved;
}

export function loadConfig(flags: Overrides, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ResolvedConfig {
  const fromEnv = fromEnvironment(env);
  const configPath = flags.config ?? fromEnv.config;
  const file = configPath ? readFile(resolve(cwd, configPath)) : {};
  const fileBase = configPath ? dirname(resolve(cwd, configPath)) : cwd;

  // Paths from the file are resolved against the file before the layers are merged.
  for (const key of ['data'] as const) {
    if (typeof file[key] === 'string') file[key] = relativeTo(fileBase, file[key] as string);
  }
  for (const key of ['storage', 'metadata'] as const) {
    if (typeof file[key] === 'string') file[key] = absoluteLocation(fileBase, file[key] as string, key);
  }
  resolveAuthPaths(file.auth, fileBase);
  if ('plugins' in file) file.plugins = resolvePluginPaths(file.plugins, fileBase);
  resolveTLSPaths(file, fileBase);
  const merged: Record<string, unknown> = { ...file };
  for (const layer of [fromEnv, flags]) {
    if (layer.listen !== undefined) merged.listen = layer.listen;
    if (layer.data !== undefined) merged.data = relativeTo(cwd, layer.data);
    if (layer.storage !== undefined) merged.storage = absoluteLocation(cwd, layer.storage, 'storage');
    if (layer.metadata !== undefined) merged.metadata = absoluteLocation(cwd, layer.metadata, 'metadata');
    if (layer.readOnly !== undefined) merged.readOnly = layer.readOnly;
    if (layer.debugListen !== undefined) merged.debug = { ...(merged.debug as object | undefined), listen: layer.debugListen };
    if (layer.logLevel !== undefined) merged.log = { ...(merged.log as object | undefined), level: layer.logLevel };
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration${configPath ? ` in ${configPath}` : ''}: ${problems}`);
  }
  const c = parsed.data;
  const data = relativeTo(cwd, c.data);
  return {
    ...c,
    data,
    storage: c.storage ?? pathToFileURL(join(data, 'blobs')).href,
    metadata: c.metadata ?? `sqlite:${join(data, 'wharf.db')}`,
  };
}
