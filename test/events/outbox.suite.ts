// The outbox part of the MetadataStore contract, run by every store (outbox-sqlite.test.ts,
// outbox-postgres.test.ts): which changes each write records, nothing for a write that fails, actors, positions
// in commit order, cursor leases between two holders, retention up to the slowest cursor, durability.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManifestWrite, MetadataStore } from '../../src/metadata/store.js';
import { MissingBlobsError } from '../../src/metadata/store.js';
import { runAs } from '../../src/events/actor.js';
import type { StoredChange } from '../../src/events/model.js';
import type { MetadataFactory } from '../suites/metadata.suite.js';

const dg = (c: string | number) => 'sha256:' + String(c).repeat(64).slice(0, 64);

function manifest(digest: string, extra: Partial<ManifestWrite> = {}): ManifestWrite {
  const body = Buffer.from(`{"m":"${digest}"}`);
  return { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: body.length, body, createdAt: 1, blobs: [], manifests: [], ...extra };
}

/** Kind, repository, subject-ish fields of changes, compact for deepEqual. */
function brief(changes: StoredChange[]): string[] {
  return changes.map((c) => [c.kind, c.repository, c.tag ?? '', c.digest, c.previousDigest ?? '', c.from ?? '', c.actor ?? ''].join(' ').trimEnd());
}

export function runOutboxSuite(factory: MetadataFactory): void {
  describe(`event outbox: ${factory.name}`, () => {
    let s: MetadataStore;
    let seen = 0;
    /** Changes since the last call. */
    async function fresh(): Promise<StoredChange[]> {
      const out = await s.listEvents(seen, 1000);
      if (out.length > 0) seen = out[out.length - 1]!.seq;
      return out;
    }
    before(async () => {
      s = await factory.create();
    });
    after(async () => {
      await factory.destroy(s);
    });

    test('every write records its changes', async () => {
      await s.linkBlob('ev/a', { digest: dg('a'), size: 3 });
      assert.deepEqual(await s.mountBlob('ev/b', 'ev/a', dg('a')), { digest: dg('a'), size: 3 });
      await s.putManifest('ev/a', manifest(dg(1), { blobs: [dg('a')] }), ['v1', 'latest']);
      await s.putManifest('ev/a', manifest(dg(1), { blobs: [dg('a')] }), ['v1']); // the same again: a push, no tag change
      await s.putManifest('ev/a', manifest(dg(2)), ['latest']);
      assert.equal(await s.deleteTag('ev/a', 'latest'), true);
      assert.equal(await s.deleteTag('ev/a', 'latest'), false);
      assert.equal(await s.deleteManifest('ev/a', dg(1)), true);
      assert.equal(await s.deleteManifest('ev/a', dg(1)), false);
      assert.equal(await s.unlinkBlob('ev/b', dg('a')), true);
      assert.equal(await s.unlinkBlob('ev/b', dg('a')), false);
      const changes = await fresh();
      assert.deepEqual(brief(changes), [
        `blob.uploaded ev/a  ${dg('a')}`,
        `blob.mounted ev/b  ${dg('a')}  ev/a`,
        `manifest.pushed ev/a v1 ${dg(1)}`,
        `tag.created ev/a v1 ${dg(1)}`,
        `tag.created ev/a latest ${dg(1)}`,
        `manifest.pushed ev/a v1 ${dg(1)}`,
        `manifest.pushed ev/a latest ${dg(2)}`,
        `tag.moved ev/a latest ${dg(2)} ${dg(1)}`,
        `tag.deleted ev/a latest ${dg(2)}`,
        `manifest.deleted ev/a  ${dg(1)}`,
        `tag.deleted ev/a v1 ${dg(1)}`,
        `blob.deleted ev/b  ${dg('a')}`,
      ]);
      const pushed = changes[2]!;
      assert.equal(pushed.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(pushed.size, manifest(dg(1)).size);
      assert.equal(changes[0]!.size, 3);
      assert.equal(changes[9]!.mediaType, 'application/vnd.oci.image.manifest.v1+json', 'a deleted manifest names its media type');
      assert.equal(new Set(changes.map((c) => c.id)).size, changes.length, 'ids are unique');
      for (let i = 1; i < changes.length; i++) assert.ok(changes[i]!.seq > changes[i - 1]!.seq, 'positions increase');
      for (const c of changes) assert.ok(Math.abs(Date.now() - c.time) < 600_000, `time ${c.time} is a recent timestamp`);
    });

    test('a write that fails records nothing; writes of one batch record only their own changes', async () => {
      await assert.rejects(s.putManifest('ev/c', manifest(dg(3), { blobs: [dg('z')] }), ['v1']), MissingBlobsError);
      assert.deepEqual(await fresh(), []);
      await s.linkBlob('ev/c', { digest: dg('c'), size: 1 });
      await fresh();
      // Issued in one turn of the event loop (one SQLite group commit): the failing one leaves no trace.
      const results = await Promise.allSettled([
        s.putManifest('ev/c', manifest(dg(4), { blobs: [dg('c')] }), ['ok']),
        s.putManifest('ev/c', manifest(dg(5), { blobs: [dg('y')] }), ['bad']),
        s.deleteTag('ev/c', 'none'),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.deepEqual(brief(await fresh()), [`manifest.pushed ev/c ok ${dg(4)}`, `tag.created ev/c ok ${dg(4)}`]);
    });

    test('the actor: the request user (runAs), or options.by', async () => {
      await runAs('alice', () => s.linkBlob('ev/d', { digest: dg('d'), size: 1 }));
      await runAs('alice', () => s.putManifest('ev/d', manifest(dg(6), { blobs: [dg('d')] }), ['v1']));
      await s.deleteTag('ev/d', 'v1', { by: 'bob' });
      await runAs(undefined, () => s.unlinkBlob('ev/d', dg('d')));
      assert.deepEqual(
        (await fresh()).map((c) => `${c.kind} ${c.actor ?? '-'}`),
        ['blob.uploaded alice', 'manifest.pushed alice', 'tag.created alice', 'tag.deleted bob', 'blob.deleted -'],
      );
    });

    test('appendEvents (pulls) and paging through listEvents', async () => {
      await s.appendEvents([
        { kind: 'manifest.pulled', repository: 'ev/e', digest: dg(7), tag: 'v1', actor: 'carol' },
        { kind: 'manifest.pulled', repository: 'ev/e', digest: dg(7) },
      ]);
      const start = seen;
      const both = await fresh();
      assert.deepEqual(brief(both), [`manifest.pulled ev/e v1 ${dg(7)}   carol`, `manifest.pulled ev/e  ${dg(7)}`]);
      assert.deepEqual(await s.listEvents(start, 1), [both[0]]);
      assert.deepEqual(await s.listEvents(both[0]!.seq, 5), [both[1]]);
      assert.deepEqual(await s.listEvents(both[1]!.seq, 5), []);
    });

    test('cursor leases: one holder at a time, advancing only while holding, release and expiry', async () => {
      const end = seen;
      assert.equal(await s.leaseEventCursor('hook', 'p1', 60_000), end, 'a new cursor starts at the end of the outbox');
      assert.equal(await s.leaseEventCursor('hook', 'p2', 60_000), undefined, 'another holder waits');
      assert.equal(await s.leaseEventCursor('hook', 'p1', 60_000), end, 'the holder renews');
      assert.equal(await s.advanceEventCursor('hook', 'p2', end + 5), false);
      assert.equal(await s.advanceEventCursor('hook', 'p1', end + 1), true);
      assert.equal(await s.advanceEventCursor('hook', 'p1', end), true, 'never backwards (and still held)');
      await s.releaseEventCursor('hook', 'p1');
      assert.equal(await s.leaseEventCursor('hook', 'p2', 30), end + 1, 'after a release another holder continues where it stopped');
      await new Promise((r) => setTimeout(r, 80));
      assert.equal(await s.leaseEventCursor('hook', 'p1', 60_000), end + 1, 'an expired lease is taken over');
      assert.equal(await s.advanceEventCursor('hook', 'p2', end + 9), false, 'the old holder may not move it any more');
      await s.releaseEventCursor('hook', 'p1');
    });

    test('retention removes old events only up to the slowest listed cursor', async () => {
      // The slow endpoint's cursor is created before the three events and has delivered none of them.
      assert.equal(await s.leaseEventCursor('slow', 'p1', 60_000), seen);
      await s.releaseEventCursor('slow', 'p1');
      await s.appendEvents([1, 2, 3].map((i) => ({ kind: 'manifest.pulled' as const, repository: 'ev/f', digest: dg(i) })));
      const f = await fresh();
      assert.equal(f.length, 3);
      // Nothing is old enough yet.
      assert.equal(await s.pruneEvents(0, ['slow']), 0);
      const cut = Date.now() + 1000;
      await s.pruneEvents(cut, ['slow', 'unknown-endpoint']);
      assert.equal((await s.listEvents(f[0]!.seq - 1, 10)).length, 3, 'the slow cursor holds its undelivered events back');
      assert.equal((await s.listEvents(0, 1000)).every((c) => c.seq >= f[0]!.seq), true, 'older delivered events are gone');
      assert.equal(await s.pruneEvents(cut, []), 3, 'without endpoints, age alone decides');
      assert.deepEqual(await s.listEvents(0, 10), []);
      // Positions are never reused after the newest rows were removed.
      await s.appendEvents([{ kind: 'manifest.pulled', repository: 'ev/f', digest: dg(4) }]);
      const after = await s.listEvents(0, 10);
      assert.ok(after[0]!.seq > f[2]!.seq, `a new position (${after[0]!.seq}) follows the removed ones (${f[2]!.seq})`);
      seen = after[0]!.seq;
    });

    test('events and cursors survive a reopen', async () => {
      assert.equal(await s.leaseEventCursor('durable', 'p1', 60_000), seen);
      await s.appendEvents([8, 9].map((i) => ({ kind: 'manifest.pulled' as const, repository: 'ev/g', digest: dg(i) })));
      const before = await s.listEvents(0, 1000);
      const delivered = before[before.length - 2]!.seq;
      assert.equal(await s.advanceEventCursor('durable', 'p1', delivered), true);
      s = await factory.reopen(s);
      assert.deepEqual(await s.listEvents(0, 1000), before);
      assert.equal(await s.leaseEventCursor('durable', 'p1', 60_000), delivered, 'the cursor is where it was moved to');
    });
  });
}
