// The event outbox on PostgreSQL (a real server): the shared outbox suite; positions in commit order (a
// reader polling from its cursor while two stores write at once sees every event, none committed behind it);
// two dispatchers on one database (two processes) deliver each event once, in order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { runOutboxSuite } from './outbox.suite.js';
import { EventDispatcher, webhookTarget } from '../../src/events/dispatcher.js';
import { eventsSchema } from '../../src/events/config.js';
import { startReceiver } from './receiver.js';
import { PostgresMetadataStore } from '../../src/metadata/postgres.js';
import { createPostgresDatabase, sharedPostgres } from '../helpers/services.js';
import { postgresStoreFactory } from '../helpers/postgres-store.js';

runOutboxSuite(postgresStoreFactory('postgres', 'wharf_outbox'));

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

test('postgres: two dispatchers on one database deliver each event once, in order', async () => {
  const db = await createPostgresDatabase(await sharedPostgres(), 'wharf_outbox_two');
  const receiver = await startReceiver();
  const stores = [await PostgresMetadataStore.open(db.url), await PostgresMetadataStore.open(db.url)];
  const targets = eventsSchema.parse({ endpoints: [{ name: 'hook', url: receiver.url }] }).endpoints.map(webhookTarget);
  const opts = { source: '/wharf', pollMs: 20, leaseMs: 1500, retry: { initialMs: 20, maxMs: 100 }, retentionMs: 86_400_000, log: pino({ level: 'silent' }) };
  const dispatchers = stores.map((s) => new EventDispatcher(s, targets, opts));
  try {
    for (const d of dispatchers) await d.prepare();
    for (const d of dispatchers) d.start();
    await Promise.all(stores.map((s, k) => Promise.all(Array.from({ length: 20 }, (_, i) => s.linkBlob('two/app', { digest: dg(k * 100 + i), size: i })))));
    await receiver.waitFor(() => receiver.ids().length >= 40, '40 events');
    assert.equal(receiver.deliveries.length, 40, 'each event delivered once');
    const seqs = receiver.deliveries.map((d) => d.event.wharfseq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in outbox order');
  } finally {
    for (const d of dispatchers) await d.stop();
    for (const s of stores) await s.close();
    await receiver.close();
    await db.drop();
  }
});
