// skopeo pushes a multi-layer OCI image (built with umoci) and pulls it back digest-identical.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requireTools } from './run.js';
import { buildMultiLayerImage, type LayoutImage } from './images.js';
import { readBlob, resolveRef, type ImageManifest } from './layout.js';
import { Skopeo, dockerRef, ociRef } from './skopeo.js';
import { assertSameBlobs, assertServedManifest } from './assertions.js';
import { registries, useRegistry, useTempDir } from './registries.js';

const TIMEOUT = 120_000;

describe('skopeo: multi-layer OCI image', () => {
  const work = useTempDir('wharf-interop-image-');
  let skopeo: Skopeo;
  let image: LayoutImage;
  let manifestBytes: Buffer;

  before(async () => {
    requireTools('skopeo', 'umoci', 'docker-registry');
    skopeo = new Skopeo(join(work(), 'skopeo'));
    image = await buildMultiLayerImage(join(work(), 'image'));
    manifestBytes = readBlob(image.layout, image.descriptor.digest);
    const manifest = JSON.parse(manifestBytes.toString()) as ImageManifest;
    assert.equal(manifest.layers.length, 3, 'umoci built three layers');
  }, { timeout: TIMEOUT });

  for (const kind of registries()) {
    describe(kind.name, () => {
      const registry = useRegistry(kind);

      test('push keeps the manifest digest and bytes', { timeout: TIMEOUT }, async () => {
        const ref = dockerRef(registry.get().host, 'interop/image', 'v1');
        const pushed = await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--preserve-digests']);
        assert.equal(pushed, image.descriptor.digest);
        await assertServedManifest(skopeo, ref, manifestBytes);
        await assertServedManifest(skopeo, dockerRef(registry.get().host, 'interop/image', pushed), manifestBytes);
      });

      test('pull into a new OCI layout gives the same manifest and blobs', { timeout: TIMEOUT }, async () => {
        const ref = dockerRef(registry.get().host, 'interop/roundtrip', 'v1');
        await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--preserve-digests']);
        const out = join(work(), `pulled-${kind.name}`);
        const pulled = await skopeo.copy(ref, ociRef(out, 'v1'), ['--preserve-digests']);
        assert.equal(pulled, image.descriptor.digest);
        assert.equal(resolveRef(out, 'v1').digest, image.descriptor.digest);
        assertSameBlobs(image.layout, out, image.descriptor);
      });

      test('copy between repositories of the same registry (blob mount or re-upload)', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        const first = dockerRef(host, 'interop/mount-src', 'v1');
        const second = dockerRef(host, 'interop/other/mount-dst', 'copied');
        await skopeo.copy(ociRef(image.layout, image.ref), first, ['--preserve-digests']);
        const copied = await skopeo.copy(first, second, ['--preserve-digests']);
        assert.equal(copied, image.descriptor.digest);
        await assertServedManifest(skopeo, second, manifestBytes);
        const config = await skopeo.inspectConfig(second);
        const manifest = JSON.parse(manifestBytes.toString()) as ImageManifest;
        assert.ok(config.equals(readBlob(image.layout, manifest.config.digest)), 'config blob bytes');
      });
    });
  }
});
