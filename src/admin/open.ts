// Opens what an admin command (`wharf import`, `wharf fsck`, `wharf gc`, `wharf retention`) works on: the same storage and
// metadata store `wharf serve` would open for this configuration, wrapped in the registry domain so that tools
// write through the same code paths as a push.
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import { loadConfig, type Overrides } from '../config/load.js';
import { openMetadata } from '../metadata/index.js';
import { Registry } from '../registry/index.js';
import { openStorage, parseStorageURL } from '../storage/index.js';
import { loadPlugins } from '../plugins/loader.js';

export interface AdminStores {
  registry: Registry;
  /** The directory blobs live under when the storage is the filesystem driver (hard links are possible there). */
  localRoot: string | undefined;
  close(): Promise<void>;
}

/** The root directory of a `file:` storage URL (or plain path), undefined for object stores and memory. */
export function localStorageRoot(storage: string): string | undefined {
  const url = parseStorageURL(storage);
  return url.protocol === 'file:' ? fileURLToPath(url) : undefined;
}

export async function openAdminStores(config: ResolvedConfig): Promise<AdminStores> {
  // Plugins first: a plugin may provide the storage or metadata scheme the configuration names.
  if (config.plugins.length > 0) {
    const log = pino({ level: 'warn' }, pino.destination(2));
    await loadPlugins(config.plugins, { dataDir: config.data, log });
  }
  const storage = await openStorage(config.storage, config.storageOptions);
  let metadata;
  try {
    metadata = await openMetadata(config.metadata);
  } catch (e) {
    await storage.close?.();
    throw e;
  }
  // As `serve` builds it, tag immutability and quotas included, but without the admission hook: admin commands
  // are the operator's own actions, not a client's push.
  const registry = new Registry(storage, metadata, { maxManifestBytes: config.limits.maxManifestBytes, lifecycle: config.lifecycle });
  return { registry, localRoot: localStorageRoot(config.storage), close: () => registry.close() };
}

/** Loads the configuration the way `wharf serve` does (flags > WHARF_* > file > defaults) and opens its stores. */
export async function openFromOverrides(overrides: Overrides): Promise<{ config: ResolvedConfig; stores: AdminStores }> {
  const config = loadConfig(overrides);
  return { config, stores: await openAdminStores(config) };
}
