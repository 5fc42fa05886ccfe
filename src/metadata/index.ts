// Metadata store selection by URL: `sqlite:PATH` (the embedded default). PostgreSQL joins in the scale-out work.
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
  throw new Error(`unknown metadata store ${JSON.stringify(value)}: supported is sqlite:PATH`);
}
