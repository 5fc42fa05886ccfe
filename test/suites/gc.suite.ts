// The garbage-collection primitives of a MetadataStore (docs/gc.md), run by every store from metadata.suite.ts:
// upload claims, deleting marks and their takeover, atomic mounts, and putManifest re-checking its blob links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobBusyError, MissingBlobsError, type ManifestWrite, type MetadataStore } from '../../src/metadata/store.js';

const dg = (c: string) => 'sha256:' + c.repeat(64).slice(0, 64);

function manifest(digest: string, blobs: string[]): ManifestWrite {
  const body = Buffer.from(`{"gc":"${digest}"}`);
  return { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: body.length, body, createdAt: 1, blobs, manifests: [] };
}

export function runCollectionTests(store: () => MetadataStore): void {
  test('gc: unreferenced links are listed and swept; referenced ones stay', async () => {
    const s = store();
    const [kept, loose] = [dg('9a'), dg('9b')];
    await s.linkBlob('gc/links', { digest: kept, size: 3 });
    await s.linkBlob('gc/links', { digest: loose, size: 4 });
    await s.putManifest('gc/links', manifest(dg('9c'), [kept]), ['v1']);
    const now = Date.now();
    const mine = (await s.listUnreferencedLinks(now, 10_000)).filter((l) => l.repository === 'gc/links');
    assert.deepEqual(mine.map((l) => [l.digest, l.size]), [[loose, 4]]);
    assert.deepEqual(await s.listUnreferencedLinks(now - 3_600_000, 10_000).then((l) => l.filter((x) => x.repository === 'gc/links')), [], 'a fresh link is inside the grace period');
    assert.equal(await s.sweepLink('gc/links', kept, now), false, 'a referenced link is never swept');
    assert.equal(await s.sweepLink('gc/links', loose, now - 3_600_000), false, 'a link younger than the cutoff is not swept');
    assert.equal(await s.sweepLink('gc/links', loose, now), true);
    assert.equal(await s.sweepLink('gc/links', loose, now), false, 'sweeping twice is harmless');
    assert.equal(await s.getRepositoryBlob('gc/links', loose), undefined);
    assert.ok(await s.getRepositoryBlob('gc/links', kept), 'the referenced link is still there');
  });

  test('gc: putManifest refuses blobs the repository no longer links, in its own transaction', async () => {
    const s = store();
    await assert.rejects(s.putManifest('gc/put', manifest(dg('8a'), [dg('8b')]), ['t']), (e: unknown) => {
      assert.ok(e instanceof MissingBlobsError, `expected MissingBlobsError, got ${String(e)}`);
      assert.deepEqual(e.digests, [dg('8b')]);
      return true;
    });
    assert.equal(await s.getManifest('gc/put', dg('8a')), undefined, 'nothing was stored');
    assert.equal(await s.getManifestByTag('gc/put', 't'), undefined, 'no tag was moved');
  });

  test('gc: a blob is marked only without links, references and claims; a mark blocks claims, links and mounts', async () => {
    const s = store();
    const b = dg('7a');
    const now = () => Date.now();
    await s.linkBlob('gc/mark', { digest: b, size: 5 });
    assert.equal(await s.markBlobDeleting(b, now(), 'c1', 0), undefined, 'a linked blob is not marked');
    assert.equal(await s.sweepLink('gc/mark', b, now()), true);
    const upload = { id: '00000000-0000-4000-8000-0000000007a1', repository: 'gc/mark', createdAt: now() };
    await s.claimBlob(upload, b);
    assert.equal(await s.markBlobDeleting(b, now(), 'c1', 0), undefined, 'a claimed blob is not marked');
    const listed = (await s.listCollectableBlobs(now(), 10_000, { withoutLinks: true })).map((x) => x.digest);
    assert.ok(!listed.includes(b), 'a claimed blob is not listed');
    assert.equal(await s.deleteUpload(upload.id), true);
    assert.ok((await s.listCollectableBlobs(now(), 10_000, { withoutLinks: true })).some((x) => x.digest === b), 'unclaimed: listed');
    assert.equal(await s.markBlobDeleting(b, now() - 3_600_000, 'c1', 0), undefined, 'a blob younger than the cutoff is not marked');
    assert.deepEqual(await s.markBlobDeleting(b, now(), 'c1', 0), { digest: b, size: 5 });
    await assert.rejects(s.claimBlob({ ...upload, id: '00000000-0000-4000-8000-0000000007a2' }, b), BlobBusyError);
    await assert.rejects(s.linkBlob('gc/mark', { digest: b, size: 5 }), BlobBusyError);
    assert.equal(await s.mountBlob('gc/other', 'gc/mark', b), undefined, 'a marked blob cannot be mounted');
    assert.equal(await s.getUpload('00000000-0000-4000-8000-0000000007a2'), undefined, 'a refused claim leaves no upload');
    // Another collector: not while the mark is fresh; then takes it over once stale, and the first loses it.
    assert.equal(await s.markBlobDeleting(b, now(), 'c2', now() - 60_000), undefined, 'a fresh mark of another collector is respected');
    assert.deepEqual(await s.markBlobDeleting(b, now(), 'c2', now() + 1000), { digest: b, size: 5 }, 'a stale mark is taken over');
    assert.equal(await s.deleteMarkedBlob(b, 'c1'), false, 'the collector that lost its mark deletes nothing');
    assert.equal(await s.deleteMarkedBlob(b, 'c2'), true);
    assert.equal(await s.getBlob(b), undefined);
    await s.claimBlob(upload, b);
    await s.linkBlob('gc/mark', { digest: b, size: 5 }, upload.id);
    assert.ok(await s.getRepositoryBlob('gc/mark', b), 'the digest can be uploaded again once the row is gone');
    assert.equal(await s.getUpload(upload.id), undefined, 'completion removed the claim');
  });

  test('gc: a referenced blob is never marked, even without a link in that repository', async () => {
    const s = store();
    const b = dg('6a');
    await s.linkBlob('gc/ref', { digest: b, size: 1 });
    await s.putManifest('gc/ref', manifest(dg('6b'), [b]), []);
    await s.unlinkBlob('gc/ref', b); // DELETE on the blob endpoint while a manifest still needs it
    assert.equal(await s.markBlobDeleting(b, Date.now(), 'c1', 0), undefined);
    assert.ok(!(await s.listCollectableBlobs(Date.now(), 10_000, { withoutLinks: true })).some((x) => x.digest === b), 'not listed');
  });

  test('gc: mounts are atomic and restart the grace period of the link', async () => {
    const s = store();
    const b = dg('5a');
    await s.linkBlob('gc/src', { digest: b, size: 2 });
    assert.equal(await s.mountBlob('gc/dst', 'gc/none', b), undefined, 'nothing to mount from');
    const justBefore = Date.now() - 1;
    assert.deepEqual(await s.mountBlob('gc/dst', 'gc/src', b), { digest: b, size: 2 });
    assert.ok(await s.getRepositoryBlob('gc/dst', b), 'mounted');
    assert.ok(!(await s.listUnreferencedLinks(justBefore, 10_000)).some((l) => l.repository === 'gc/dst' && l.digest === b), 'a new link is younger than the cutoff');
    assert.deepEqual(await s.mountBlob('gc/dst', 'gc/none', b), { digest: b, size: 2 }, 'a repository may mount what it holds itself');
  });

  test('gc: listing collectable blobs for a dry run counts links that would go first', async () => {
    const s = store();
    const b = dg('4a');
    await s.linkBlob('gc/dry', { digest: b, size: 9 });
    const now = Date.now();
    assert.ok((await s.listCollectableBlobs(now, 10_000, { withoutLinks: false })).some((x) => x.digest === b), 'old unreferenced link: would go');
    assert.ok(!(await s.listCollectableBlobs(now, 10_000, { withoutLinks: true })).some((x) => x.digest === b), 'not yet without links');
    assert.ok(!(await s.listCollectableBlobs(now - 3_600_000, 10_000, { withoutLinks: false })).some((x) => x.digest === b), 'inside the grace');
    const page = await s.listCollectableBlobs(now, 1, { withoutLinks: false, after: dg('49') });
    assert.ok(page.length <= 1 && (page[0]?.digest ?? dg('ff')) > dg('49'), 'pages start after the cursor');
  });

  test('gc: old upload sessions are listed by id', async () => {
    const s = store();
    const ids = ['00000000-0000-4000-8000-0000000003a1', '00000000-0000-4000-8000-0000000003a2'];
    for (const id of ids) await s.createUpload({ id, repository: 'gc/up', createdAt: 1000 });
    await s.createUpload({ id: '00000000-0000-4000-8000-0000000003a3', repository: 'gc/up', createdAt: Date.now() });
    const old = (await s.listUploadsBefore(2000, 100)).filter((u) => u.repository === 'gc/up');
    assert.deepEqual(old, ids.map((id) => ({ id, repository: 'gc/up', createdAt: 1000 })));
    assert.deepEqual((await s.listUploadsBefore(2000, 1, ids[0])).map((u) => u.id), [ids[1]]);
  });
}
