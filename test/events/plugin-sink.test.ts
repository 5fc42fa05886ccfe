// Event sinks supplied by plugins get every event like a webhook endpoint does: in order, at least once,
// retried after a failure, under their own cursor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import { buildImage, pushImage } from '../client/helpers.js';
import { quick, readWholeFeed, startEventsRegistry } from './helpers.js';

test('a plugin event sink receives every event, after a refused first delivery', async () => {
  const reg = await startEventsRegistry({ plugins: [join(import.meta.dirname, 'fixtures', 'memory-sink-plugin.ts')], events: { ...quick } });
  const client = new RegistryClient(reg.url);
  try {
    await pushImage(client, 'plugin/app', buildImage(), 'v1');
    const feed = await readWholeFeed(reg.url);
    assert.equal(feed.length, 4);
    const got = () => (globalThis as { wharfSinkEvents?: { id: string }[] }).wharfSinkEvents ?? [];
    const deadline = Date.now() + 30_000;
    while (got().length < feed.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(got().map((e) => e.id), feed.map((e) => e.id), 'every event, in order, the refused one included');
  } finally {
    await client.close();
    await reg.close();
  }
});
