// createIndex, addToIndex and removeFromIndex on MemoryStore, Wharf and the reference registry: platforms read
// from configs, OCI index vs Docker manifest list, replacing a platform, removing by platform and digest.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  addToIndex,
  attach,
  createIndex,
  DuplicateManifestError,
  isNotFound,
  MediaType,
  NothingMatchedError,
  removeFromIndex,
  type ContentStore,
} from '../../src/client/index.js';
import { pushPlatformImage, places, type Place } from './ops-places.js';

function children(bytes: Buffer): any[] {
  return JSON.parse(bytes.toString('utf8')).manifests;
}

async function indexDoc(store: ContentStore, ref: string): Promise<Record<string, any>> {
  return JSON.parse((await store.resolve(ref)).bytes.toString('utf8'));
}

for (const { name, start } of places) {
  describe(`index operations on ${name}`, () => {
    let place: Place;

    before(async () => {
      place = await start();
    });

    after(async () => {
      await place?.close();
    });

    test('create an index from two per-platform images: platforms come from their configs', async () => {
      const store = await place.store();
      const amd = await pushPlatformImage(store, { architecture: 'amd64', tag: 'amd64' });
      const arm = await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8', tag: 'arm64' });
      const index = await createIndex(store, { tag: 'multi', manifests: ['amd64', arm.digest], annotations: { 'org.example.k': 'v' } });
      assert.equal(index.mediaType, MediaType.ociIndex);
      const stored = await store.resolve('multi');
      assert.equal(stored.digest, index.digest);
      assert.equal(stored.mediaType, MediaType.ociIndex);
      const doc = JSON.parse(stored.bytes.toString('utf8'));
      assert.equal(doc.schemaVersion, 2);
      assert.deepEqual(doc.annotations, { 'org.example.k': 'v' });
      assert.deepEqual(doc.manifests, [
        { mediaType: MediaType.ociManifest, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: MediaType.ociManifest, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      ]);
    });

    test('Docker schema2 children make a Docker manifest list; mixed children an OCI index', async () => {
      const store = await place.store();
      const a = await pushPlatformImage(store, { architecture: 'amd64', docker: true });
      const b = await pushPlatformImage(store, { architecture: 'arm', variant: 'v7', docker: true });
      const list = await createIndex(store, { tag: 'list', manifests: [a.digest, b.digest] });
      assert.equal(list.mediaType, MediaType.dockerManifestList);
      assert.equal((await store.resolve('list')).mediaType, MediaType.dockerManifestList);
      const oci = await pushPlatformImage(store, { architecture: 'ppc64le' });
      const mixed = await createIndex(store, { tag: 'mixed', manifests: [a.digest, oci.digest] });
      assert.equal(mixed.mediaType, MediaType.ociIndex);
      // Adding an OCI manifest to a Docker list turns it into an OCI index.
      const grown = await addToIndex(store, 'list', [oci.digest]);
      assert.equal(grown.mediaType, MediaType.ociIndex);
      assert.equal((await indexDoc(store, 'list')).mediaType, MediaType.ociIndex);
    });

    test('an index and an artifact may be children (without a platform); duplicates are refused', async () => {
      const store = await place.store();
      const amd = await pushPlatformImage(store, { architecture: 'amd64', tag: 'amd' });
      const inner = await createIndex(store, { tag: 'inner', manifests: ['amd'] });
      const art = await attach(store, 'amd', { files: [], artifactType: 'application/vnd.example.att' });
      const outer = await createIndex(store, { tag: 'outer', manifests: ['inner', art.digest] });
      const doc = await indexDoc(store, 'outer');
      assert.deepEqual(doc.manifests, [
        { mediaType: MediaType.ociIndex, digest: inner.digest, size: inner.size },
        { mediaType: MediaType.ociManifest, digest: art.digest, size: art.size, artifactType: 'application/vnd.example.att' },
      ]);
      assert.equal(outer.mediaType, MediaType.ociIndex);

      await assert.rejects(createIndex(store, { tag: 'dup', manifests: ['amd', amd.digest] }), DuplicateManifestError);
      const amd2 = await pushPlatformImage(store, { architecture: 'amd64' });
      await assert.rejects(createIndex(store, { tag: 'dup', manifests: ['amd', amd2.digest] }), /both for linux\/amd64/);
      await assert.rejects(createIndex(store, { tag: 'dup', manifests: [] }), /at least one manifest/);
      await assert.rejects(createIndex(store, { tag: 'bad tag', manifests: ['amd'] }), /invalid tag/);
      await assert.rejects(createIndex(store, { tag: 'x', manifests: ['missing'] }), (e: unknown) => isNotFound(e));
      assert.ok(!(await store.tags()).includes('dup'), 'nothing was tagged by the refused calls');
    });

    test('add replaces the child of the same platform (unless keepExisting), adds new platforms, moves the tag', async () => {
      const store = await place.store();
      const amd = await pushPlatformImage(store, { architecture: 'amd64' });
      const arm = await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8' });
      const first = await createIndex(store, { tag: 'multi', manifests: [amd.digest, arm.digest] });

      const armNew = await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8', tag: 'arm-new' });
      const s390 = await pushPlatformImage(store, { architecture: 's390x' });
      const second = await addToIndex(store, 'multi', ['arm-new', s390.digest]);
      assert.notEqual(second.digest, first.digest);
      assert.equal((await store.resolve('multi')).digest, second.digest, 'the tag moved');
      assert.deepEqual(children((await store.resolve('multi')).bytes).map((c) => c.digest), [amd.digest, armNew.digest, s390.digest]);

      // keepExisting keeps both children of a platform.
      const armOther = await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8' });
      await addToIndex(store, 'multi', [armOther.digest], { keepExisting: true });
      assert.deepEqual(children((await store.resolve('multi')).bytes).map((c) => c.digest), [amd.digest, armNew.digest, s390.digest, armOther.digest]);

      // By digest with another tag: the old tag stays where it was; adding a child already there changes nothing.
      const before = (await store.resolve('multi')).digest;
      const third = await addToIndex(store, before, [amd.digest], { tag: 'copy' });
      assert.equal(third.digest, before, 'a manifest already in the index is not added twice');
      assert.equal((await store.resolve('copy')).digest, before);
      assert.equal((await store.resolve(first.digest)).digest, first.digest, 'old indexes stay readable by digest');

      await assert.rejects(addToIndex(store, amd.digest, [s390.digest]), /is an image manifest/);
      await assert.rejects(addToIndex(store, 'missing', [s390.digest]), (e: unknown) => isNotFound(e));
      await assert.rejects(addToIndex(store, 'multi', []), /nothing to add/);
    });

    test('remove by platform and by digest; unmatched selectors and emptying are refused', async () => {
      const store = await place.store();
      const amd = await pushPlatformImage(store, { architecture: 'amd64' });
      const arm = await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8' });
      const armv7 = await pushPlatformImage(store, { architecture: 'arm', variant: 'v7' });
      const ppc = await pushPlatformImage(store, { architecture: 'ppc64le' });
      await createIndex(store, { tag: 'multi', manifests: [amd.digest, arm.digest, armv7.digest, ppc.digest], annotations: { keep: 'me' } });

      const afterPlatform = await removeFromIndex(store, 'multi', { platforms: ['linux/arm64'] });
      assert.deepEqual(children((await store.resolve('multi')).bytes).map((c) => c.digest), [amd.digest, armv7.digest, ppc.digest]);
      assert.equal((await store.resolve('multi')).digest, afterPlatform.digest);
      assert.deepEqual((await indexDoc(store, 'multi')).annotations, { keep: 'me' }, 'other fields of the index are kept');

      await removeFromIndex(store, 'multi', { digests: [ppc.digest], platforms: [{ os: 'linux', architecture: 'arm', variant: 'v7' }] });
      assert.deepEqual(children((await store.resolve('multi')).bytes).map((c) => c.digest), [amd.digest]);

      const unchanged = (await store.resolve('multi')).digest;
      await assert.rejects(removeFromIndex(store, 'multi', { platforms: ['linux/riscv64'] }), NothingMatchedError);
      await assert.rejects(removeFromIndex(store, 'multi', { digests: [arm.digest] }), NothingMatchedError);
      await assert.rejects(removeFromIndex(store, 'multi', {}), /nothing to remove/);
      await assert.rejects(removeFromIndex(store, 'multi', { platforms: ['linux'] }), /invalid platform/);
      await assert.rejects(removeFromIndex(store, 'multi', { digests: ['sha256:nope'] }), /invalid digest/);
      await assert.rejects(removeFromIndex(store, 'multi', { platforms: ['linux/amd64'] }), /leave multi empty/);
      assert.equal((await store.resolve('multi')).digest, unchanged, 'refused removals change nothing');
      const empty = await removeFromIndex(store, 'multi', { platforms: ['linux/amd64'], allowEmpty: true });
      assert.deepEqual(children((await store.resolve(empty.digest)).bytes), []);
    });
  });
}
