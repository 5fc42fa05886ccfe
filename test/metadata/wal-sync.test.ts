// WalSync: commits are made durable by fdatasync of the -wal file off the event loop; callers that arrive while
// one runs share the next one, and a replaced or missing -wal file is handled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WalSync } from '../../src/metadata/wal-sync.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite.js';
import { removeDir, tempDir } from '../helpers/processes.js';

test('an in-memory database has nothing to sync', async () => {
  const wal = new WalSync(undefined);
  await wal.sync();
  await wal.end();
});

test('callers during a running fdatasync share the next one, which starts after it', async () => {
  const dir = tempDir('wharf-wal-');
  try {
    const file = join(dir, 'db-wal');
    writeFileSync(file, 'frames');
    const wal = new WalSync(file);
    const first = wal.sync();
    const second = wal.sync();
    const third = wal.sync();
    assert.notEqual(first, second, 'a caller after a running sync waits for a later one');
    assert.equal(second, third, 'callers during the same running sync share the next one');
    await Promise.all([first, second, third]);
    assert.notEqual(wal.sync(), second, 'after both finished, a new caller starts a new sync');
    await wal.end();
  } finally {
    removeDir(dir);
  }
});

test('a missing -wal file resolves; a replaced one is reopened', async () => {
  const dir = tempDir('wharf-wal-');
  try {
    const file = join(dir, 'db-wal');
    const wal = new WalSync(file);
    await wal.sync();
    writeFileSync(file, 'one');
    await wal.sync();
    rmSync(file);
    writeFileSync(file, 'two');
    await wal.sync();
    rmSync(file);
    await wal.sync();
    await wal.end();
  } finally {
    removeDir(dir);
  }
});

test('the store answers writes only after their commit, and many concurrent writes all land', async () => {
  const dir = tempDir('wharf-wal-');
  const store = new SqliteMetadataStore(join(dir, 'meta.db'));
  try {
    const blobs = Array.from({ length: 200 }, (_, i) => ({ digest: `sha256:${i.toString(16).padStart(64, '0')}`, size: i }));
    await Promise.all(blobs.map((b) => store.linkBlob('r', b)));
    for (const b of blobs) assert.deepEqual(await store.getRepositoryBlob('r', b.digest), b, `blob ${b.size} is linked`);
    await store.close();
    const reopened = new SqliteMetadataStore(join(dir, 'meta.db'));
    assert.deepEqual(await reopened.getRepositoryBlob('r', blobs[199]!.digest), blobs[199], 'the last write is there after a reopen');
    await reopened.close();
  } finally {
    await store.close();
    removeDir(dir);
  }
});
