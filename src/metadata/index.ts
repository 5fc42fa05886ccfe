// Metadata store selection by URL: `sqlite:PATH` (the embedded default) or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
// (also `postgresql://`), which several Wharf processes can share. Each driver is imported only when chosen, so `pg`
// is never loaded on the default path.
import { resolve } from 'node:path';
import type { MetadataStore } from './store.js';

export type { MetadataStore, BlobRecord, ManifestRecord, ManifestWrite, Referrer, UploadRecord, Page } from './store.js';

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
  throw new Error(`unknown metadata store ${JSON.stringify(value.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'))}: supported are sqlite:PATH and postgres://USER@HOST/DB`);
}
