// The event outbox on PostgreSQL (a real server): the shared outbox suite, and positions in commit order: a
// reader polling from its cursor while two stores write at once sees every event (none committed behind it).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runOutboxSuite } from './outbox.suite.js';
import { PostgresMetadataStore } from '../../src/metadata/postgres.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import { createPostgresDatabase, sharedPostgres, type PostgresDatabase } from '../helpers/services.js';

const databases = new Map<MetadataStore, PostgresDatabase>();

runOutboxSuite({
  name: 'postgres',
  async create() {
    const db = await createPostgresDatabase(await sharedPostgres(), 'wharf_outbox');
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
});

const dg = (n: number) => 'sha256:' + n.toString(16).padStart(64, '0');

test('postgres: a reader following its cursor during concurrent writes from two stores misses nothing', async () => {
  const db = await createPostgresDatabase(await sharedPostgres(), 'wharf_outbox_order');
  const writers = [await PostgresMetadataStore.open(`${db.url}?pool_max=6`), await PostgresMetadataStore.open(`${db.url}?pool_max=6`)];
  const reader = await PostgresMetadataStore.open(db.url);
  after(async () => {
    for (const s of [...writers, reader]) await s.close();
    await db.drop();
  });
  let done = false;
  const seen: string[] = [];
  const follow = (async () => {
    let cursor = 0;
    for (let i = 0; i < 100_000; i++) {
      const page = await reader.listEvents(cursor, 50);
      for (const c of page) seen.push(c.id);
      if (page.length > 0) cursor = page[page.length - 1]!.seq;
      else if (done) return;
    }
  })();
  const perWriter = 60;
  await Promise.all(
    writers.map(async (w, k) => {
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < perWriter; i++) {
        batch.push(w.linkBlob(`order/r${i % 4}`, { digest: dg(k * 1000 + i), size: i }));
        if (batch.length >= 6) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
    }),
  );
  done = true;
  await follow;
  const all = await reader.listEvents(0, 10_000);
  assert.equal(all.length, perWriter * 2);
  assert.deepEqual(seen, all.map((c) => c.id), 'the follower saw every event, in order, exactly once');
});
