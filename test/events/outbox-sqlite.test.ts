// The event outbox on SQLite, and the shared metadata suite (which the outbox changes must keep passing).
import { join } from 'node:path';
import { runOutboxSuite } from './outbox.suite.js';
import { runMetadataSuite, type MetadataFactory } from '../suites/metadata.suite.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite.js';
import { tempDir, removeDir } from '../helpers/processes.js';

function factory(name: string): MetadataFactory {
  const dir = tempDir('wharf-outbox-sqlite-');
  const file = join(dir, 'wharf.db');
  return {
    name,
    async create() {
      return new SqliteMetadataStore(file);
    },
    async reopen(store) {
      await store.close();
      return new SqliteMetadataStore(file);
    },
    async destroy(store) {
      await store.close();
      removeDir(dir);
    },
  };
}

runOutboxSuite(factory('sqlite'));
runMetadataSuite(factory('sqlite (with the outbox)'));
