// Webhook delivery from a real in-process Wharf to a loopback receiver: every event of pushes, tag moves,
// deletes and mounts arrives at least once, with its stable id, the endpoint's headers and a valid HMAC
// signature; an endpoint that is down gets the events later; pull events only when enabled.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient } from '../../src/client/index.js';
import { buildImage, pushImage, sha256, uniqueRepo } from '../client/helpers.js';
import type { TestRegistry } from '../helpers/registry.js';
import { startReceiver, type Receiver } from './receiver.js';
import { quick, readWholeFeed, startEventsRegistry } from './helpers.js';

const secret = 'receiver-secret';

describe('webhook delivery', () => {
  let receiver: Receiver;
  let reg: TestRegistry;
  let client: RegistryClient;

  before(async () => {
    receiver = await startReceiver(secret);
    reg = await startEventsRegistry({
      events: { ...quick, endpoints: [{ name: 'hook', url: receiver.url, secret, headers: { 'X-Team': 'platform' } }] },
    });
    client = new RegistryClient(reg.url);
  });
  after(async () => {
    await client.close();
    await reg.close();
    await receiver.close();
  });

  test('every change reaches the receiver with a stable id, its headers and a valid signature', async () => {
    const repo = uniqueRepo('events');
    const other = uniqueRepo('events');
    const one = buildImage();
    const two = buildImage();
    await pushImage(client, repo, one, 'v1');
    await pushImage(client, repo, two, 'v1'); // moves v1
    await client.putManifest(repo, 'stable', one.manifest); // a second tag on the first image
    await client.deleteManifest(repo, 'v1'); // tag delete
    await client.deleteManifest(repo, one.digest); // manifest delete, takes `stable` with it
    const config = sha256(two.config);
    const mounted = await client.mountBlob(other, config, repo);
    assert.equal(mounted.mounted, true, 'the config blob mounts into the other repository');
    await client.deleteBlob(other, config);

    const feed = await readWholeFeed(reg.url);
    const kinds = feed.filter((e) => e.data.repository === repo || e.data.repository === other).map((e) => e.type);
    for (const t of ['blob.uploaded', 'manifest.pushed', 'tag.created', 'tag.moved', 'tag.deleted', 'manifest.deleted', 'blob.mounted', 'blob.deleted']) {
      assert.ok(kinds.includes(`io.wharf.${t}`), `the feed has an io.wharf.${t} event (has ${kinds.join(', ')})`);
    }
    const moved = feed.find((e) => e.type === 'io.wharf.tag.moved' && e.data.repository === repo)!;
    assert.equal(moved.subject, `${repo}:v1`);
    assert.equal(moved.data.digest, two.digest);
    assert.equal(moved.data.previousDigest, one.digest);
    const deleted = feed.filter((e) => e.type === 'io.wharf.tag.deleted' && e.data.repository === repo).map((e) => e.data.tag);
    assert.deepEqual(deleted.sort(), ['stable', 'v1'], 'the tag delete and the tag that went with the manifest');
    const pushed = feed.find((e) => e.type === 'io.wharf.manifest.pushed' && e.data.digest === one.digest)!;
    assert.equal(pushed.subject, `${repo}:v1`);
    assert.equal(pushed.data.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(pushed.data.size, one.manifest.length);

    const wanted = feed.map((e) => e.id);
    await receiver.waitFor(() => wanted.every((id) => receiver.ids().includes(id)), `all ${wanted.length} events`);
    const seqs = feed.map((e) => e.wharfseq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'the feed is in outbox order');
    for (const d of receiver.deliveries) {
      assert.ok(d.signatureValid, `delivery ${d.event.id} carries a valid HMAC-SHA256 signature`);
      assert.equal(d.headers['x-team'], 'platform');
      assert.match(String(d.headers['content-type']), /^application\/cloudevents\+json/);
      assert.equal(d.headers['x-wharf-event-id'], d.event.id);
      assert.equal(d.event.specversion, '1.0');
      assert.equal(d.event.source, '/wharf');
      assert.equal(d.event.datacontenttype, 'application/json');
      assert.ok(!Number.isNaN(Date.parse(d.event.time)), `time ${d.event.time} is a timestamp`);
    }
    // Stable ids: what the receiver got is what the feed says, field for field.
    const byId = new Map(feed.map((e) => [e.id, e]));
    for (const d of receiver.deliveries) assert.deepEqual(d.event, byId.get(d.event.id));
    // Delivered in order.
    const order = receiver.ids().map((id) => byId.get(id)!.wharfseq);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'deliveries follow the outbox order');
    // No pulls recorded unless enabled.
    await client.getManifest(repo, two.digest);
    assert.equal((await readWholeFeed(reg.url)).filter((e) => e.type === 'io.wharf.manifest.pulled').length, 0, 'no pull events by default');
  });

  test('an endpoint that is down gets the events once it is back', async () => {
    const repo = uniqueRepo('events-down');
    receiver.down = true;
    const refusedBefore = receiver.refused;
    const image = buildImage();
    await pushImage(client, repo, image, 'latest');
    await receiver.waitFor(() => receiver.refused >= refusedBefore + 3, 'three refused attempts');
    receiver.down = false;
    const wanted = (await readWholeFeed(reg.url)).filter((e) => e.data.repository === repo);
    assert.equal(wanted.length, 4, 'two blobs, the manifest and its tag');
    await receiver.waitFor(() => wanted.every((e) => receiver.ids().includes(e.id)), 'the events after the outage');
    const first = receiver.deliveries.find((d) => d.event.id === wanted[0]!.id)!;
    assert.ok(Number(first.headers['x-wharf-delivery-attempt']) >= 4, `delivered on a retry (attempt ${String(first.headers['x-wharf-delivery-attempt'])})`);
  });
});

describe('pull events', () => {
  test('manifest GETs become io.wharf.manifest.pulled when includePulls is on (HEAD does not)', async () => {
    const receiver = await startReceiver(secret);
    const reg = await startEventsRegistry({ events: { ...quick, includePulls: true, endpoints: [{ name: 'pulls', url: receiver.url, include: ['io.wharf.manifest.pulled'] }] } });
    const client = new RegistryClient(reg.url);
    try {
      const repo = uniqueRepo('events-pull');
      const image = buildImage();
      await pushImage(client, repo, image, 'v1');
      await client.getManifest(repo, 'v1');
      await client.headManifest(repo, 'v1');
      await client.getManifest(repo, image.digest);
      const pulls = (await readWholeFeed(reg.url)).filter((e) => e.type === 'io.wharf.manifest.pulled');
      assert.deepEqual(pulls.map((e) => e.subject), [`${repo}:v1`, `${repo}@${image.digest}`]);
      assert.equal(pulls[0]!.data.digest, image.digest);
      await receiver.waitFor(() => receiver.ids().length >= 2, 'the two pull events');
      assert.deepEqual(receiver.deliveries.map((d) => d.event.type), ['io.wharf.manifest.pulled', 'io.wharf.manifest.pulled'], 'include: only pulls reach this endpoint');
      assert.equal(receiver.deliveries[0]!.headers['x-wharf-signature'], undefined, 'no secret, no signature');
    } finally {
      await client.close();
      await reg.close();
      await receiver.close();
    }
  });
});
