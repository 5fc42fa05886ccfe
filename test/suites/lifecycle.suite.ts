// The content-lifecycle part of the shared metadata suite (tag history, tag immutability, tag records, usage),
// called from metadata.suite.ts so that every MetadataStore runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TagImmutableError, type MetadataStore, type ManifestWrite } from '../../src/metadata/store.js';

const dg = (c: string) => 'sha256:' + c.repeat(64).slice(0, 64);

function manifest(digest: string, extra: Partial<ManifestWrite> = {}): ManifestWrite {
  const body = Buffer.from(`{"m":"${digest}"}`);
  return { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: body.length, body, createdAt: 1, blobs: [], manifests: [], ...extra };
}

export function runLifecycleTests(store: () => MetadataStore): void {
  test('tag history: create, move, re-push (no entry), multi-tag push, delete by tag and by manifest', async () => {
    const s = store();
    await s.putManifest('life/h', manifest(dg('1')), ['v1'], { by: 'alice' });
    await s.putManifest('life/h', manifest(dg('2')), ['v1', 'latest']);
    await s.putManifest('life/h', manifest(dg('2')), ['v1']); // same digest: not a move
    assert.equal(await s.deleteTag('life/h', 'latest', { by: 'bob' }), true);
    assert.equal(await s.deleteTag('life/h', 'latest'), false);
    assert.equal(await s.deleteManifest('life/h', dg('2'), { by: 'carol' }), true);
    const v1 = await s.tagHistory('life/h', 'v1', { limit: 10 });
    assert.deepEqual(
      v1.map((c) => [c.oldDigest, c.newDigest, c.by]),
      [
        [dg('2'), undefined, 'carol'],
        [dg('1'), dg('2'), undefined],
        [undefined, dg('1'), 'alice'],
      ],
    );
    assert.ok(v1[0]!.id > v1[1]!.id && v1[1]!.id > v1[2]!.id, 'newest first, ids increasing with time');
    assert.ok(v1.every((c) => c.tag === 'v1' && c.at > 0), 'every entry names the tag and a time');
    const latest = await s.tagHistory('life/h', 'latest', { limit: 10 });
    assert.deepEqual(latest.map((c) => [c.oldDigest, c.newDigest, c.by]), [[dg('2'), undefined, 'bob'], [undefined, dg('2'), undefined]]);
    const page = await s.tagHistory('life/h', 'v1', { limit: 2 });
    assert.equal(page.length, 2);
    const rest = await s.tagHistory('life/h', 'v1', { limit: 2, before: page[1]!.id });
    assert.deepEqual(rest.map((c) => c.newDigest), [dg('1')]);
    assert.deepEqual(await s.tagHistory('life/none', 'v1', { limit: 5 }), []);
  });

  test('immutable tags: created and re-pushed, never moved; a refused push changes nothing', async () => {
    const s = store();
    await s.putManifest('life/imm', manifest(dg('a')), ['v1'], { immutable: ['v1'] });
    await s.putManifest('life/imm', manifest(dg('a')), ['v1', 'extra'], { immutable: ['v1'] });
    await assert.rejects(
      s.putManifest('life/imm', manifest(dg('b')), ['v1', 'other'], { immutable: ['v1'] }),
      (e: unknown) => e instanceof TagImmutableError && e.tag === 'v1' && e.current === dg('a'),
    );
    assert.equal((await s.getManifestByTag('life/imm', 'v1'))?.digest, dg('a'));
    assert.equal(await s.getManifestByTag('life/imm', 'other'), undefined, 'the refused push set no tag');
    assert.equal(await s.getManifest('life/imm', dg('b')), undefined, 'nor stored its manifest');
  });

  test('tag records and usage', async () => {
    const s = store();
    await s.linkBlob('life/u1', { digest: dg('e1'), size: 100 });
    await s.linkBlob('life/u1', { digest: dg('e2'), size: 1000 });
    await s.linkBlob('life/u1', { digest: dg('e3'), size: 7 }); // linked, referenced by nothing
    await s.linkBlob('life/u2', { digest: dg('e2'), size: 1000 });
    const m1 = manifest(dg('5'), { blobs: [dg('e1'), dg('e2')] });
    const m2 = manifest(dg('6'), { blobs: [dg('e2')] });
    const m3 = manifest(dg('7'), { blobs: [dg('e2')] });
    await s.putManifest('life/u1', m1, ['a']);
    await s.putManifest('life/u1', m2, ['b', 'c']);
    await s.putManifest('life/u2', m3, []);
    const records = await s.listTagRecords('life/u1', { limit: 2 });
    assert.deepEqual(records.map((r) => [r.name, r.digest]), [['a', dg('5')], ['b', dg('6')]]);
    assert.ok(records.every((r) => r.updatedAt > 0), 'push times are recorded');
    assert.deepEqual((await s.listTagRecords('life/u1', { limit: 5, last: 'b' })).map((r) => r.name), ['c']);
    const mb = m1.size + m2.size;
    assert.deepEqual(await s.repositoryUsage('life/u1'), {
      repository: 'life/u1',
      manifests: 2,
      tags: 3,
      manifestBytes: mb,
      logicalBytes: mb + 100 + 1000 + 1000,
      uniqueBytes: mb + 1100,
      storedBytes: mb + 1107,
    });
    const u2 = await s.repositoryUsage('life/u2');
    assert.equal(u2?.uniqueBytes, m3.size + 1000);
    assert.equal(await s.repositoryUsage('life/none'), undefined);
    const total = await s.totalUsage();
    assert.ok(total.blobs >= 2 && total.blobBytes >= 1100, `the shared blob counts once registry-wide (${JSON.stringify(total)})`);
  });
}
