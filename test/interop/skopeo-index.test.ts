// skopeo pushes a multi-arch OCI index (3 platforms + an unknown/unknown attestation) and pulls it back digest-identical.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requireTools } from './run.js';
import { buildMultiArchIndex, type MultiArchImage } from './images.js';
import { readBlob, resolveRef, type ImageIndex } from './layout.js';
import { Skopeo, dockerRef, ociRef } from './skopeo.js';
import { assertSameBlobs, assertServedManifest } from './assertions.js';
import { registries, useRegistry, useTempDir } from './registries.js';

const TIMEOUT = 120_000;

describe('skopeo: multi-arch OCI index', () => {
  const work = useTempDir('wharf-interop-index-');
  let skopeo: Skopeo;
  let image: MultiArchImage;

  before(async () => {
    requireTools('skopeo', 'umoci', 'docker-registry');
    skopeo = new Skopeo(join(work(), 'skopeo'));
    image = await buildMultiArchIndex(join(work(), 'image'));
  }, { timeout: TIMEOUT });

  for (const kind of registries()) {
    describe(kind.name, () => {
      const registry = useRegistry(kind);

      test('push --all keeps the index and every platform manifest byte-identical', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        const ref = dockerRef(host, 'interop/multiarch', 'v1');
        const pushed = await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--all', '--preserve-digests']);
        assert.equal(pushed, image.descriptor.digest);
        await assertServedManifest(skopeo, ref, readBlob(image.layout, image.descriptor.digest));
        for (const child of [...image.platforms, image.attestation]) {
          await assertServedManifest(skopeo, dockerRef(host, 'interop/multiarch', child.digest), readBlob(image.layout, child.digest));
        }
      });

      test('the served index lists the platforms and the attestation in order', { timeout: TIMEOUT }, async () => {
        const ref = dockerRef(registry.get().host, 'interop/platforms', 'v1');
        await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--all', '--preserve-digests']);
        const index = JSON.parse((await skopeo.inspectRaw(ref)).toString()) as ImageIndex;
        const platforms = index.manifests.map((d) => `${d.platform?.os}/${d.platform?.architecture}`);
        assert.deepEqual(platforms, ['linux/amd64', 'linux/arm64', 'linux/s390x', 'unknown/unknown']);
        assert.equal(index.manifests[3]?.annotations?.['vnd.docker.reference.type'], 'attestation-manifest');
      });

      test('pull --all into a new OCI layout gives the same index, manifests and blobs', { timeout: TIMEOUT }, async () => {
        const ref = dockerRef(registry.get().host, 'interop/multiarch-roundtrip', 'v1');
        await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--all', '--preserve-digests']);
        const out = join(work(), `pulled-${kind.name}`);
        const pulled = await skopeo.copy(ref, ociRef(out, 'v1'), ['--all', '--preserve-digests']);
        assert.equal(pulled, image.descriptor.digest);
        assert.equal(resolveRef(out, 'v1').digest, image.descriptor.digest);
        assertSameBlobs(image.layout, out, image.descriptor);
      });

      test('pull of a single platform selects the arm64 manifest', { timeout: TIMEOUT }, async () => {
        const ref = dockerRef(registry.get().host, 'interop/multiarch-select', 'v1');
        await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--all', '--preserve-digests']);
        const arm64 = image.platforms[1]!;
        const out = join(work(), `arm64-${kind.name}`);
        const pulled = await skopeo.copy(ref, ociRef(out, 'arm64'), ['--override-arch', 'arm64', '--preserve-digests']);
        assert.equal(pulled, arm64.digest);
        assertSameBlobs(image.layout, out, arm64);
      });
    });
  }
});
