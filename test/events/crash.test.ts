// Nothing is lost when the process dies between a change and its delivery: a spawned `wharf serve` is
// SIGKILLed right after pushes (once while the receiver is down, once while deliveries are in flight), started
// again on the same data, and the receiver ends with every event of the outbox, each under its first id.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import { buildImage, pushImage } from '../client/helpers.js';
import { spawnWharf, tempDir, removeDir, type SpawnedRegistry } from '../helpers/processes.js';
import { startReceiver } from './receiver.js';
import { quick, readWholeFeed } from './helpers.js';

const dir = tempDir('wharf-events-crash-');
let running: SpawnedRegistry | undefined;
after(async () => {
  await running?.kill();
  removeDir(dir);
});

async function pushSome(url: string, round: string, images: number): Promise<void> {
  const client = new RegistryClient(url);
  try {
    for (let i = 0; i < images; i++) await pushImage(client, `crash/${round}${i % 3}`, buildImage(), `t${i}`);
  } finally {
    await client.close();
  }
}

test('events survive SIGKILL and a restart: the receiver ends with every one', async () => {
  const secret = 'crash-secret';
  const receiver = await startReceiver(secret);
  try {
    const config = join(dir, 'wharf.yaml');
    writeFileSync(config, JSON.stringify({ events: { ...quick, endpoints: [{ name: 'hook', url: receiver.url, secret }] } }));
    const data = join(dir, 'data');
    const serve = () => spawnWharf({ data, args: ['--config', config] });

    // Round 1: the receiver is down, so nothing is delivered before the kill.
    receiver.down = true;
    running = await serve();
    await pushSome(running.url, 'a', 6);
    await running.kill();
    running = undefined;
    assert.equal(receiver.deliveries.length, 0, 'nothing was delivered while the receiver was down');
    receiver.down = false;

    // Round 2: deliveries are flowing when the process dies.
    running = await serve();
    await pushSome(running.url, 'b', 6);
    await running.kill();
    running = undefined;

    running = await serve();
    const feed = await readWholeFeed(running.url);
    assert.equal(feed.length, 12 * 4, 'the outbox holds every change of both rounds (2 blobs, a manifest and a tag per image)');
    const wanted = feed.map((e) => e.id);
    await receiver.waitFor(() => wanted.every((id) => receiver.ids().includes(id)), `all ${wanted.length} events after the restarts`, 60_000);
    assert.equal(receiver.ids().length, wanted.length, 'no event the outbox does not hold');
    for (const d of receiver.deliveries) assert.ok(d.signatureValid, `delivery of ${d.event.id} is signed`);
    const seqOf = new Map(feed.map((e) => [e.id, e.wharfseq]));
    const order = receiver.ids().map((id) => seqOf.get(id)!);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'first deliveries follow the outbox order');
    await running.stop();
    running = undefined;
  } finally {
    await receiver.close();
  }
});
