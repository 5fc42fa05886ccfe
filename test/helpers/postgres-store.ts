// A MetadataFactory (test/suites/metadata.suite.ts) for PostgreSQL stores: each store in a fresh database on the
// shared test server, reopened against the same database, and the database dropped when the store is destroyed.
import { PostgresMetadataStore } from '../../src/metadata/postgres.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { MetadataFactory } from '../suites/metadata.suite.js';
import { createPostgresDatabase, sharedPostgres, type PostgresDatabase } from './services.js';

/** `prefix` names the databases; `createOptions` is appended to CREATE DATABASE (e.g. a locale). */
export function postgresStoreFactory(name: string, prefix: string, createOptions = ''): MetadataFactory {
  const databases = new Map<MetadataStore, PostgresDatabase>();
  return {
    name,
    async create() {
      const db = await createPostgresDatabase(await sharedPostgres(), prefix, createOptions);
      const store = await PostgresMetadataStore.open(db.url);
      databases.set(store, db);
      return store;
    },
    async reopen(store) {
      const db = databases.get(store)!;
      await store.close();
      const again = await PostgresMetadataStore.open(db.url);
      databases.set(again, db);
      return again;
    },
    async destroy(store) {
      const db = databases.get(store)!;
      await store.close();
      await db.drop();
    },
  };
}
