// The change feed at /v2/_wharf/events: replays from any cursor, pages with `n` and a Link header, rejects a
// bad cursor, and with authentication on shows each caller only the repositories it may pull.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient } from '../../src/client/index.js';
import { buildImage, pushImage, writeHtpasswd } from '../client/helpers.js';
import type { TestRegistry } from '../helpers/registry.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import { basic, getFeed, readWholeFeed, startEventsRegistry } from './helpers.js';

describe('change feed', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startEventsRegistry({ events: { endpoints: [] } });
    const client = new RegistryClient(reg.url);
    try {
      for (let i = 0; i < 5; i++) await pushImage(client, `feed/app${i}`, buildImage(), 'v1'); // 4 events each
    } finally {
      await client.close();
    }
  });
  after(async () => {
    await reg.close();
  });

  test('replays from the beginning and from any cursor, in pages with a Link to the next', async () => {
    const all = await readWholeFeed(reg.url);
    assert.equal(all.length, 20);
    assert.equal(new Set(all.map((e) => e.id)).size, 20, 'ids are unique');
    const first = await getFeed(reg.url, '?n=7');
    assert.equal(first.status, 200);
    assert.equal(first.body.events.length, 7);
    assert.equal(first.body.next, String(first.body.events[6]!.wharfseq), 'next is the position of the last event shown');
    assert.equal(first.link, `</v2/_wharf/events?since=${first.body.next}&n=7>; rel="next"`);
    const second = await getFeed(reg.url, `?since=${first.body.next}&n=7`);
    assert.deepEqual(second.body.events.map((e) => e.id), all.slice(7, 14).map((e) => e.id), 'the second page continues the first');
    // Replaying the same cursor gives the same events (the feed does not consume anything).
    const again = await getFeed(reg.url, `?since=${first.body.next}&n=7`);
    assert.deepEqual(again.body, second.body);
    // The end: no Link, next stays put so that a poller can ask again later.
    const tail = await getFeed(reg.url, `?since=${all[19]!.wharfseq}`);
    assert.deepEqual(tail.body, { events: [], next: String(all[19]!.wharfseq) });
    assert.equal(tail.link, null);
    // New changes appear after the cursor a poller holds.
    const client = new RegistryClient(reg.url);
    try {
      await client.deleteManifest('feed/app0', 'v1');
    } finally {
      await client.close();
    }
    const later = await getFeed(reg.url, `?since=${tail.body.next}`);
    assert.deepEqual(later.body.events.map((e) => [e.type, e.subject]), [['io.wharf.tag.deleted', 'feed/app0:v1']]);
  });

  test('a cursor that is not a position is a 400', async () => {
    for (const bad of ['abc', '-1', '1.5', '99999999999999999999']) {
      const r = await getFeed(reg.url, `?since=${bad}`);
      assert.equal(r.status, 400, `since=${bad}`);
    }
    const r = await fetch(`${reg.url}/v2/_wharf/events`, { method: 'POST' });
    await r.arrayBuffer();
    assert.equal(r.status, 405);
  });
});

describe('change feed with authentication', () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => {
    dir = tempDir('wharf-events-auth-');
    const htpasswd = writeHtpasswd(dir, { alice: 'alice-pw', bob: 'bob-pw' });
    reg = await startEventsRegistry({
      auth: {
        realm: 'wharf',
        htpasswd,
        policies: [
          { repositories: ['alice/**'], users: ['alice'], actions: ['pull', 'push'] },
          { repositories: ['shared/**'], users: ['alice', 'bob'], actions: ['pull', 'push'] },
        ],
      },
      events: { endpoints: [] },
    });
    const alice = new RegistryClient(reg.url, { credentials: { username: 'alice', password: 'alice-pw' } });
    try {
      await pushImage(alice, 'alice/private', buildImage(), 'v1');
      await pushImage(alice, 'shared/app', buildImage(), 'v1');
    } finally {
      await alice.close();
    }
  });
  after(async () => {
    await reg.close();
    removeDir(dir);
  });

  test('each caller sees only what it may pull; anonymous callers must authenticate', async () => {
    const anon = await getFeed(reg.url, '');
    assert.equal(anon.status, 401);
    const aliceSees = new Set((await readWholeFeed(reg.url, basic('alice', 'alice-pw'))).map((e) => e.data.repository));
    assert.deepEqual([...aliceSees].sort(), ['alice/private', 'shared/app']);
    const bobEvents = await readWholeFeed(reg.url, basic('bob', 'bob-pw'));
    assert.deepEqual([...new Set(bobEvents.map((e) => e.data.repository))], ['shared/app']);
    assert.equal(bobEvents.length, 4);
    assert.equal(bobEvents[0]!.data.actor, 'alice', 'events name who made the change');
    // A page of one for bob skips alice's events without showing them; its cursor moves past them.
    const page = await getFeed(reg.url, '?n=1', basic('bob', 'bob-pw'));
    assert.equal(page.body.events[0]!.data.repository, 'shared/app');
    assert.ok(Number(page.body.next) > 4, `the cursor (${page.body.next}) is past alice's four events`);
    const wrong = await getFeed(reg.url, '', basic('bob', 'nope'));
    assert.equal(wrong.status, 401);
  });
});
