// Metadata store selection by URL: `sqlite:PATH` (the embedded default) or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
// (also `postgresql://`), which several Wharf processes can share. Each driver is imported only when chosen, so `pg`
// is never loaded on the default path.
import { resolve } from 'node:path';
import type { MetadataStore } from './store.js';

export type { MetadataStore, BlobRecord, ManifestRecord, ManifestWrite, Referrer, UploadRecord, Page } from './store.js';

/** Schemes served by plugins (plugins/loader.ts), in the form `name:`. */
const pluginStores = new Map<string, (url: string) => Promise<MetadataStore>>();
const builtInSchemes = ['sqlite:', 'postgres:', 'postgresql:'];

/** Lets a plugin serve metadata URLs of a scheme (`name:`); registering the same scheme again replaces it. */
export function registerMetadataScheme(scheme: string, factory: (url: string) => Promise<MetadataStore>): void {
  if (builtInSchemes.includes(scheme)) throw new Error(`metadata scheme ${scheme} is built in and cannot be replaced`);
  pluginStores.set(scheme, factory);
}

export function isBuiltInMetadataScheme(scheme: string): boolean {
  return builtInSchemes.includes(scheme);
}

export async function openMetadata(value: string): Promise<MetadataStore> {
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length);
    if (path === '') throw new Error('metadata URL sqlite: needs a path, e.g. sqlite:./data/wharf.db');
    const { SqliteMetadataStore } = await import('./sqlite.js');
    return new SqliteMetadataStore(path === ':memory:' ? path : resolve(path));
  }
  if (value.startsWith('postgres://') || value.startsWith('postgresql://')) {
    const { PostgresMetadataStore } = await import('./postgres.js');
    return PostgresMetadataStore.open(value);
  }
  const fromPlugin = pluginStores.get(/^[a-z][a-z0-9+.-]*:/i.exec(value)?.[0].toLowerCase() ?? '');
  if (fromPlugin) return fromPlugin(value);
  throw new Error(`unknown metadata store ${JSON.stringify(value.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'))}: supported are sqlite:PATH and postgres://USER@HOST/DB`);
}
