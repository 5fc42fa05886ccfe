// RegistryStore against Wharf and the reference registry: the ContentStore contract over the real HTTP API
// (resolve, verified fetches, pushes that skip, mount, clear not-found errors) and referrers written through
// the tag schema where the registry has no referrers API.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { RegistryClient, NotFoundError, isNotFound } from '../../src/client/index.js';
import { RegistryStore, registryHost } from '../../src/client/remote-store.js';
import { buildImage, pushImage, readAll, sha256, targets, uniqueRepo, type Target } from './helpers.js';

const bytesSource = (bytes: Buffer) => async (offset: number) => Readable.from([bytes.subarray(offset)]);

describe('registryHost', () => {
  test('strips the scheme and trailing slashes', () => {
    assert.equal(registryHost('http://127.0.0.1:5000/'), '127.0.0.1:5000');
    assert.equal(registryHost('localhost:5000'), 'localhost:5000');
    assert.equal(registryHost('HTTPS://Registry.Example.com'), 'registry.example.com');
  });
});

for (const { name, start } of targets) {
  describe(`RegistryStore on ${name}`, () => {
    let target: Target;
    let client: RegistryClient;

    before(async () => {
      target = await start();
      client = new RegistryClient(target.url, { credentials: false });
    });

    after(async () => {
      await client?.close();
      await target?.close();
    });

    test('name, registry and repository', () => {
      const store = new RegistryStore(client, 'a/b');
      assert.equal(store.kind, 'registry');
      assert.equal(store.registry, target.host);
      assert.equal(store.repository, 'a/b');
      assert.equal(store.name, `${target.host}/a/b`);
    });

    test('resolve, fetchManifest and fetchBlob return the pushed bytes', async () => {
      const repo = uniqueRepo('store');
      const image = buildImage();
      await pushImage(client, repo, image, 'v1');
      const store = new RegistryStore(client, repo);
      const m = await store.resolve('v1');
      assert.equal(m.digest, image.digest);
      assert.ok(m.bytes.equals(image.manifest), 'manifest bytes are byte-identical');
      const byDigest = await store.fetchManifest({ mediaType: m.mediaType, digest: image.digest, size: image.manifest.length });
      assert.ok(byDigest.bytes.equals(image.manifest), 'fetchManifest bytes');
      const layer = image.layers[0]!;
      const blob = await readAll(await store.fetchBlob({ mediaType: 'application/octet-stream', digest: sha256(layer), size: layer.length }));
      assert.ok(blob.equals(layer), 'blob bytes');
      const tail = await readAll(await store.fetchBlobFrom({ mediaType: 'application/octet-stream', digest: sha256(layer), size: layer.length }, 100));
      assert.ok(tail.equals(layer.subarray(100)), 'fetchBlobFrom gives the bytes from the offset');
      assert.deepEqual(await store.tags(), ['v1']);
      assert.equal(await store.hasManifest({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }), true);
    });

    test('a missing tag is a NotFoundError naming the store and the tag', async () => {
      const repo = uniqueRepo('store');
      await pushImage(client, repo, buildImage(), 'v1');
      const store = new RegistryStore(client, repo);
      await assert.rejects(store.resolve('nope'), (e: unknown) => {
        assert.ok(e instanceof NotFoundError, `NotFoundError, got ${String(e)}`);
        assert.ok(isNotFound(e), 'isNotFound');
        assert.match((e as Error).message, new RegExp(`${repo}: tag nope not found`));
        return true;
      });
    });

    test('pushBlob uploads, then skips a blob that is there, and mounts from another repository', async () => {
      const repo = uniqueRepo('store');
      const other = uniqueRepo('store');
      const data = Buffer.from(`blob ${Date.now()} ${Math.random()}`);
      const d = { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };
      const store = new RegistryStore(client, repo);
      assert.equal(await store.hasBlob(d), false);
      const progress: number[] = [];
      assert.deepEqual(await store.pushBlob(d, bytesSource(data), { onProgress: (b) => progress.push(b) }), { existed: false, mounted: false });
      assert.equal(progress.at(-1), data.length, 'progress reaches the size');
      assert.deepEqual(await store.pushBlob(d, bytesSource(data)), { existed: true, mounted: false });
      const second = new RegistryStore(client, other);
      assert.deepEqual(await second.pushBlob(d, bytesSource(data), { mountFrom: [repo] }), { existed: false, mounted: true });
      assert.equal(await second.hasBlob(d), true);
    });

    test('pushBlob in chunks above the threshold', async () => {
      const store = new RegistryStore(client, uniqueRepo('store'), { chunkThreshold: 1000, chunkSize: 700 });
      const data = Buffer.alloc(2500, 7);
      const d = { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };
      assert.deepEqual(await store.pushBlob(d, bytesSource(data)), { existed: false, mounted: false });
      assert.ok((await readAll(await store.fetchBlob(d))).equals(data), 'chunked blob reads back');
    });

    test('pushManifest with a subject is listed by referrers (API or tag schema)', async () => {
      const repo = uniqueRepo('store');
      const store = new RegistryStore(client, repo);
      const image = buildImage();
      await pushImage(client, repo, image, 'v1');
      const sig = buildImage({ subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.digest, size: image.manifest.length }, artifactType: 'application/vnd.example.sig' });
      await client.uploadBlob(repo, sig.config);
      for (const l of sig.layers) await client.uploadBlob(repo, l);
      await store.pushManifest({ digest: sig.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: sig.manifest }, { root: true });
      // Pushing twice does not list it twice.
      await store.pushManifest({ digest: sig.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: sig.manifest }, { root: true });
      const refs = await store.referrers(image.digest);
      assert.deepEqual(refs.map((r) => r.digest), [sig.digest]);
      assert.equal(refs[0]!.artifactType, 'application/vnd.example.sig');
      assert.deepEqual(await store.referrers(image.digest, { artifactType: 'application/other' }), []);
    });
  });
}
