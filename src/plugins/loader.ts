// Loads the plugins named in the configuration at start: finds each entry (resolve.ts), imports it, lets it
// declare what it provides through register(api) or a default object, checks every declaration against
// Wharf's interfaces and registers the storage and metadata schemes. Any problem stops the start with a PluginError naming the plugin and the
// problem; nothing is ever skipped.
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { openStorage, registerStorageScheme, isBuiltInStorageScheme, StorageError, type StorageDriver } from '../storage/index.js';
import { registerMetadataScheme, isBuiltInMetadataScheme, type MetadataStore } from '../metadata/index.js';
import type { AuthProvider, EventSink, MetadataStoreFactory, PluginAPI, PluginObject, StorageDriverFactory } from './api.js';
import { resolvePlugin, PluginNotFoundError } from './resolve.js';
import { authProviderProblems, eventSinkProblems, metadataStoreProblems, storageDriverProblems, typeName } from './interfaces.js';

export class PluginError extends Error {
  override name = 'PluginError';
}

/** What the loaded plugins provide (the storage and metadata schemes are registered already). */
export interface LoadedPlugins {
  /** Each plugin entry with what it provides, for the start log line. */
  plugins: { entry: string; provides: string[] }[];
  authProviders: AuthProvider[];
  eventSinks: EventSink[];
}

export interface LoadOptions {
  /** The server's data directory, absolute (handed to plugins). */
  dataDir: string;
  log: Logger;
  /** Where package names are looked up first (node_modules above it); default: the working directory. */
  cwd?: string;
}

/** What one plugin declared, before it is registered. */
interface Declared {
  entry: string;
  storage: Map<string, StorageDriverFactory>;
  metadata: Map<string, MetadataStoreFactory>;
  authProviders: AuthProvider[];
  eventSinks: EventSink[];
  problems: string[];
}

export async function loadPlugins(entries: readonly string[], o: LoadOptions): Promise<LoadedPlugins> {
  const declared: Declared[] = [];
  for (const entry of entries) declared.push(await loadOne(entry, o));
  checkConflicts(declared);
  for (const d of declared) {
    for (const [scheme, factory] of d.storage) registerStorageScheme(scheme, checkedStorageFactory(d.entry, scheme, factory));
    for (const [scheme, factory] of d.metadata) registerMetadataScheme(scheme, checkedMetadataFactory(d.entry, scheme, factory));
  }
  return {
    plugins: declared.map((d) => ({
      entry: d.entry,
      provides: [
        ...[...d.storage.keys()].map((s) => `storage ${s}`),
        ...[...d.metadata.keys()].map((s) => `metadata ${s}`),
        ...d.authProviders.map((p) => `auth ${p.name}`),
        ...d.eventSinks.map((s) => `events ${s.name}`),
      ],
    })),
    authProviders: declared.flatMap((d) => d.authProviders),
    eventSinks: declared.flatMap((d) => d.eventSinks),
  };
}

async function loadOne(entry: string, o: LoadOptions): Promise<Declared> {
  let file: string;
  try {
    file = resolvePlugin(entry, o.cwd ?? process.cwd());
  } catch (e) {
    if (e instanceof PluginNotFoundError) throw new PluginError(`plugin ${JSON.stringify(entry)} not found: ${e.message}`);
    throw e;
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new PluginError(`plugin ${JSON.stringify(entry)} (${file}) failed to load: ${(e as Error)?.message ?? String(e)}`);
  }
  const d: Declared = { entry, storage: new Map(), metadata: new Map(), authProviders: [], eventSinks: [], problems: [] };
  const api = pluginAPI(d, o);
  const fromDefault = mod.default as unknown;
  try {
    if (typeof mod.register === 'function') {
      await (mod.register as (api: PluginAPI) => unknown)(api);
    } else if (typeof fromDefault === 'function') {
      await (fromDefault as (api: PluginAPI) => unknown)(api);
    } else if (typeof fromDefault === 'object' && fromDefault !== null && !Array.isArray(fromDefault)) {
      await declareObject(fromDefault as PluginObject, api, d);
    } else {
      d.problems.push(`exports neither a register(api) function nor a default object declaring what it provides (default export is ${typeName(fromDefault)})`);
    }
  } catch (e) {
    throw new PluginError(`plugin ${JSON.stringify(entry)}: register() failed: ${(e as Error)?.message ?? String(e)}`);
  }
  if (d.problems.length === 0 && d.storage.size + d.metadata.size + d.authProviders.length + d.eventSinks.length === 0) {
    d.problems.push('declares nothing: a plugin provides at least one storage driver, metadata store, auth provider or event sink');
  }
  if (d.problems.length > 0) throw new PluginError(`plugin ${JSON.stringify(entry)} is invalid: ${d.problems.join('; ')}`);
  o.log.debug({ plugin: entry, file }, 'plugin loaded');
  return d;
}

function normalScheme(scheme: unknown, d: Declared, what: string): string | undefined {
  if (typeof scheme !== 'string' || !/^[a-z][a-z0-9+.-]*:?$/i.test(scheme)) {
    d.problems.push(`${what} scheme ${JSON.stringify(scheme)} is not a URL scheme (letters, digits, + . -; e.g. "prefixed")`);
    return undefined;
  }
  return scheme.toLowerCase().replace(/:?$/, ':');
}

function pluginAPI(d: Declared, o: LoadOptions): PluginAPI {
  return {
    apiVersion: 1,
    plugin: d.entry,
    dataDir: o.dataDir,
    log: o.log.child({ plugin: d.entry }),
    storageDriver(scheme, factory) {
      const s = normalScheme(scheme, d, 'storage driver');
      if (s === undefined) return;
      if (isBuiltInStorageScheme(s)) d.problems.push(`storage scheme ${s} is built in and cannot be replaced`);
      else if (typeof factory !== 'function') d.problems.push(`storage driver ${s}: the factory must be a function (it is ${typeName(factory)})`);
      else if (d.storage.has(s)) d.problems.push(`storage scheme ${s} declared twice`);
      else d.storage.set(s, factory);
    },
    metadataStore(scheme, factory) {
      const s = normalScheme(scheme, d, 'metadata store');
      if (s === undefined) return;
      if (isBuiltInMetadataScheme(s)) d.problems.push(`metadata scheme ${s} is built in and cannot be replaced`);
      else if (typeof factory !== 'function') d.problems.push(`metadata store ${s}: the factory must be a function (it is ${typeName(factory)})`);
      else if (d.metadata.has(s)) d.problems.push(`metadata scheme ${s} declared twice`);
      else d.metadata.set(s, factory);
    },
    authProvider(provider) {
      const problems = authProviderProblems(provider);
      if (problems.length > 0) d.problems.push(`auth provider ${nameOf(provider)}: ${problems.join(', ')}`);
      else d.authProviders.push(provider);
    },
    eventSink(sink) {
      const problems = eventSinkProblems(sink);
      if (problems.length > 0) d.problems.push(`event sink ${nameOf(sink)}: ${problems.join(', ')}`);
      else d.eventSinks.push(sink);
    },
    openStorage(url, options = {}) {
      return openStorage(url, options);
    },
    StorageError,
  };
}

function nameOf(v: unknown): string {
  const name = (v as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? JSON.stringify(name) : '(unnamed)';
}

async function declareObject(obj: PluginObject, api: PluginAPI, d: Declared): Promise<void> {
  const known = new Set(['name', 'register', 'storageDrivers', 'metadataStores', 'authProviders', 'eventSinks']);
  const unknown = Object.keys(obj).filter((k) => !known.has(k));
  if (unknown.length > 0) d.problems.push(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in the default export (known: ${[...known].join(', ')})`);
  if (obj.register !== undefined) {
    if (typeof obj.register !== 'function') d.problems.push(`register must be a function (it is ${typeName(obj.register)})`);
    else await obj.register(api);
  }
  const maps: [keyof PluginObject, (k: string, v: never) => void][] = [
    ['storageDrivers', (k, v) => api.storageDriver(k, v)],
    ['metadataStores', (k, v) => api.metadataStore(k, v)],
  ];
  for (const [key, add] of maps) {
    const value = obj[key];
    if (value === undefined) continue;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) d.problems.push(`${key} must be an object of scheme → factory (it is ${typeName(value)})`);
    else for (const [k, v] of Object.entries(value)) add(k, v as never);
  }
  const lists: [keyof PluginObject, (v: never) => void][] = [
    ['authProviders', (v) => api.authProvider(v)],
    ['eventSinks', (v) => api.eventSink(v)],
  ];
  for (const [key, add] of lists) {
    const value = obj[key];
    if (value === undefined) continue;
    if (!Array.isArray(value)) d.problems.push(`${key} must be an array (it is ${typeName(value)})`);
    else for (const v of value) add(v as never);
  }
}

/** Two plugins may not claim the same scheme or name. */
function checkConflicts(declared: Declared[]): void {
  const seen = new Map<string, string>();
  for (const d of declared) {
    const claims = [
      ...[...d.storage.keys()].map((s) => `storage scheme ${s}`),
      ...[...d.metadata.keys()].map((s) => `metadata scheme ${s}`),
      ...d.authProviders.map((p) => `auth provider ${JSON.stringify(p.name)}`),
      ...d.eventSinks.map((s) => `event sink ${JSON.stringify(s.name)}`),
    ];
    for (const c of claims) {
      const other = seen.get(c);
      if (other !== undefined) throw new PluginError(`plugins ${JSON.stringify(other)} and ${JSON.stringify(d.entry)} both provide the ${c}`);
      seen.set(c, d.entry);
    }
  }
}

function checkedStorageFactory(entry: string, scheme: string, factory: StorageDriverFactory) {
  return async (url: URL, options: Record<string, unknown>): Promise<StorageDriver> => {
    let driver: unknown;
    try {
      driver = await factory(url, options);
    } catch (e) {
      throw new PluginError(`plugin ${JSON.stringify(entry)}: storage driver ${scheme} failed to open ${url.href}: ${(e as Error)?.message ?? String(e)}`);
    }
    const problems = storageDriverProblems(driver);
    if (problems.length > 0) throw new PluginError(`plugin ${JSON.stringify(entry)}: the storage driver (scheme ${scheme}) is invalid: ${problems.join('; ')}`);
    return driver as StorageDriver;
  };
}

function checkedMetadataFactory(entry: string, scheme: string, factory: MetadataStoreFactory) {
  return async (url: string): Promise<MetadataStore> => {
    let store: unknown;
    try {
      store = await factory(url);
    } catch (e) {
      throw new PluginError(`plugin ${JSON.stringify(entry)}: metadata store ${scheme} failed to open: ${(e as Error)?.message ?? String(e)}`);
    }
    const problems = metadataStoreProblems(store);
    if (problems.length > 0) throw new PluginError(`plugin ${JSON.stringify(entry)}: the metadata store (scheme ${scheme}) is invalid: ${problems.join('; ')}`);
    return store as MetadataStore;
  };
}
