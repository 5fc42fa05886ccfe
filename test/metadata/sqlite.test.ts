import { join } from 'node:path';
import { runMetadataSuite } from '../suites/metadata.suite.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite.js';
import { tempDir, removeDir } from '../helpers/processes.js';

const dir = tempDir('wharf-sqlite-');
const file = join(dir, 'wharf.db');
runMetadataSuite({
  name: 'sqlite',
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
});
