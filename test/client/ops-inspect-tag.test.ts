// inspect (image, index with and without a platform, artifact) and tag (several tags, unchanged bytes) on
// MemoryStore, Wharf and the reference registry.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { attach, createIndex, inspect, InvalidTagError, isNotFound, MediaType, tag } from '../../src/client/index.js';
import { PlatformNotFoundError } from '../../src/client/ops/platform.js';
import { pushPlatformImage, places, type Place } from './ops-places.js';
import { randomData } from './helpers.js';

for (const { name, start } of places) {
  describe(`inspect and tag on ${name}`, () => {
    let place: Place;

    before(async () => {
      place = await start();
    });

    after(async () => {
      await place?.close();
    });

    test('inspect an image: config (platform, created, labels), layers and their total size', async () => {
      const store = await place.store();
      const image = await pushPlatformImage(store, {
        architecture: 'arm64',
        variant: 'v8',
        labels: { 'org.opencontainers.image.source': 'https://example.com/app' },
        created: '2025-05-06T07:08:09Z',
        layers: [randomData(1234), randomData(4321)],
        tag: 'v1',
      });
      const r = await inspect(store, 'v1');
      assert.equal(r.reference, 'v1');
      assert.equal(r.kind, 'image');
      assert.equal(r.digest, image.digest);
      assert.equal(r.mediaType, MediaType.ociManifest);
      assert.equal(r.size, image.size);
      assert.deepEqual(r.config?.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
      assert.equal(r.config?.mediaType, MediaType.ociConfig);
      assert.equal(r.config?.created, '2025-05-06T07:08:09Z');
      assert.deepEqual(r.config?.labels, { 'org.opencontainers.image.source': 'https://example.com/app' });
      assert.deepEqual(r.config?.cmd, ['/bin/sh']);
      assert.deepEqual(r.layers, image.layers);
      assert.equal(r.layersSize, 1234 + 4321);
      assert.deepEqual(r.platforms, []);
      assert.equal(r.artifactType, undefined, 'an image is not an artifact');
      assert.equal((await inspect(store, 'v1', { platform: 'linux/arm64' })).digest, image.digest, 'an image matches its own platform');
      await assert.rejects(inspect(store, 'v1', { platform: 'linux/amd64' }), PlatformNotFoundError);
    });

    test('inspect an index: its platforms, and with a platform the child for it', async () => {
      const store = await place.store();
      const amd = await pushPlatformImage(store, { architecture: 'amd64', layers: [randomData(100)] });
      const arm = await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8', layers: [randomData(200), randomData(300)] });
      const index = await createIndex(store, { tag: 'multi', manifests: [amd.digest, arm.digest] });
      const r = await inspect(store, 'multi');
      assert.equal(r.kind, 'index');
      assert.equal(r.digest, index.digest);
      assert.equal(r.mediaType, MediaType.ociIndex);
      assert.equal(r.config, undefined);
      assert.deepEqual(r.layers, []);
      assert.equal(r.layersSize, 0);
      assert.deepEqual(r.platforms, [
        { platform: { architecture: 'amd64', os: 'linux' }, digest: amd.digest, mediaType: MediaType.ociManifest, size: amd.size },
        { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' }, digest: arm.digest, mediaType: MediaType.ociManifest, size: arm.size },
      ]);

      const child = await inspect(store, 'multi', { platform: 'linux/arm64' });
      assert.equal(child.digest, arm.digest);
      assert.equal(child.layersSize, 500);
      assert.deepEqual(child.index, index);
      assert.deepEqual(child.config?.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
      await assert.rejects(inspect(store, 'multi', { platform: 'windows/amd64' }), (e: unknown) => e instanceof PlatformNotFoundError && /linux\/amd64, linux\/arm64\/v8/.test((e as Error).message));
      await assert.rejects(inspect(store, 'multi', { platform: 'nonsense' }), /invalid platform/);
    });

    test('inspect an artifact: artifactType, subject, annotations', async () => {
      const store = await place.store();
      const image = await pushPlatformImage(store, { architecture: 'amd64', tag: 'app' });
      const art = await attach(store, 'app', {
        files: [{ bytes: Buffer.from('sbom'), title: 'sbom.json', mediaType: 'application/spdx+json' }],
        artifactType: 'application/spdx+json',
        annotations: { 'org.example.k': 'v' },
      });
      const r = await inspect(store, art.digest);
      assert.equal(r.artifactType, 'application/spdx+json');
      assert.deepEqual(r.subject, { mediaType: image.mediaType, digest: image.digest, size: image.size });
      assert.equal(r.annotations?.['org.example.k'], 'v');
      assert.deepEqual(r.config, { digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', mediaType: MediaType.ociEmpty, size: 2 });
      assert.equal(r.layers[0]?.annotations?.['org.opencontainers.image.title'], 'sbom.json');
      assert.equal(r.layersSize, 4);
      await assert.rejects(inspect(store, 'missing'), (e: unknown) => isNotFound(e));
    });

    test('tag a manifest with several tags: the same bytes under each', async () => {
      const store = await place.store();
      const image = await pushPlatformImage(store, { architecture: 'amd64', tag: 'v1' });
      const original = await store.resolve('v1');
      const tagged: string[] = [];
      const d = await tag(store, 'v1', ['latest', 'stable', '1.0.0', 'stable'], { onTag: (t) => tagged.push(t) });
      assert.deepEqual(d, { mediaType: image.mediaType, digest: image.digest, size: image.size });
      assert.deepEqual(tagged, ['latest', 'stable', '1.0.0'], 'a repeated tag is pushed once');
      for (const t of ['latest', 'stable', '1.0.0']) {
        const m = await store.resolve(t);
        assert.equal(m.digest, image.digest);
        assert.ok(m.bytes.equals(original.bytes), `${t} serves the exact bytes`);
      }
      // By digest, and an index keeps its media type.
      const index = await createIndex(store, { tag: 'multi', manifests: ['v1'] });
      await tag(store, index.digest, ['multi-2']);
      assert.equal((await store.resolve('multi-2')).mediaType, MediaType.ociIndex);

      const before = (await store.tags()).slice();
      await assert.rejects(tag(store, 'v1', ['ok', 'bad tag']), InvalidTagError);
      await assert.rejects(tag(store, 'v1', ['.hidden']), InvalidTagError);
      await assert.rejects(tag(store, 'v1', ['x'.repeat(129)]), InvalidTagError);
      await assert.rejects(tag(store, 'v1', []), /no tags given/);
      await assert.rejects(tag(store, 'missing', ['new']), (e: unknown) => isNotFound(e));
      assert.deepEqual(await store.tags(), before, 'refused calls pushed no tag');
    });
  });
}
