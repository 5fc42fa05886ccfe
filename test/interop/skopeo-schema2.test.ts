// skopeo pushes a Docker schema2 image (skopeo copy --format v2s2) and a Docker manifest list, and pulls them back
// digest-identical.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools } from './run.js';
import {
  buildDockerManifestList,
  buildMultiArchIndex,
  buildMultiLayerImage,
  dirInstanceManifest,
  type DockerListDir,
  type LayoutImage,
} from './images.js';
import { MediaTypes, readBlob, sha256, type ImageManifest } from './layout.js';
import { Skopeo, dirRef, dockerRef, ociRef } from './skopeo.js';
import { assertServedManifest, imageDigests } from './assertions.js';
import { registries, useRegistry, useTempDir } from './registries.js';

const TIMEOUT = 120_000;

/** The `dir:` transport keeps the manifest as manifest.json and each blob as a file named by its hex digest. */
function dirManifest(dir: string): Buffer {
  return readFileSync(join(dir, 'manifest.json'));
}

function dirBlob(dir: string, digest: string): Buffer {
  return readFileSync(join(dir, digest.slice('sha256:'.length)));
}

describe('skopeo: Docker schema2 image', () => {
  const work = useTempDir('wharf-interop-schema2-');
  let skopeo: Skopeo;
  let image: LayoutImage;
  let oci: ImageManifest;
  let list: DockerListDir;

  before(async () => {
    requireTools('skopeo', 'umoci', 'docker-registry');
    skopeo = new Skopeo(join(work(), 'skopeo'));
    image = await buildMultiLayerImage(join(work(), 'image'), 'schema2');
    oci = JSON.parse(readBlob(image.layout, image.descriptor.digest).toString()) as ImageManifest;
    const multiArch = await buildMultiArchIndex(join(work(), 'multiarch'));
    list = await buildDockerManifestList(multiArch, join(work(), 'multiarch'), skopeo);
  }, { timeout: TIMEOUT });

  for (const kind of registries()) {
    describe(kind.name, () => {
      const registry = useRegistry(kind);

      test('push --format v2s2 is served as a schema2 manifest with the same blobs', { timeout: TIMEOUT }, async () => {
        const ref = dockerRef(registry.get().host, 'interop/schema2', 'v1');
        const pushed = await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--format', 'v2s2']);
        const served = await skopeo.inspectRaw(ref);
        assert.equal(sha256(served), pushed, 'served manifest digest = digest skopeo pushed');
        const manifest = JSON.parse(served.toString()) as ImageManifest;
        assert.equal(manifest.mediaType, MediaTypes.dockerManifest);
        assert.equal(manifest.config.mediaType, MediaTypes.dockerConfig);
        assert.deepEqual(manifest.layers.map((l) => l.mediaType), oci.layers.map(() => MediaTypes.dockerLayer));
        assert.deepEqual(imageDigests(served), { config: oci.config.digest, layers: oci.layers.map((l) => l.digest) });
        await assertServedManifest(skopeo, dockerRef(registry.get().host, 'interop/schema2', pushed), served);
      });

      test('pull into dir: and push again keep the schema2 digest', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        const ref = dockerRef(host, 'interop/schema2-roundtrip', 'v1');
        const pushed = await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--format', 'v2s2']);
        const out = join(work(), `pulled-${kind.name}`);
        await skopeo.copy(ref, dirRef(out), ['--preserve-digests']);
        assert.equal(sha256(dirManifest(out)), pushed, 'pulled manifest digest');
        for (const blob of [oci.config, ...oci.layers]) {
          assert.ok(dirBlob(out, blob.digest).equals(readBlob(image.layout, blob.digest)), `blob ${blob.digest}`);
        }
        const again = dockerRef(host, 'interop/schema2-again', 'v1');
        assert.equal(await skopeo.copy(dirRef(out), again, ['--preserve-digests']), pushed);
        await assertServedManifest(skopeo, again, dirManifest(out));
      });

      test('push --all of a Docker manifest list keeps the list and its schema2 manifests', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        const ref = dockerRef(host, 'interop/manifest-list', 'v1');
        const pushed = await skopeo.copy(dirRef(list.dir), ref, ['--all', '--preserve-digests']);
        assert.equal(pushed, list.list.digest);
        const served = await skopeo.inspectRaw(ref);
        assert.equal((JSON.parse(served.toString()) as { mediaType: string }).mediaType, MediaTypes.dockerManifestList);
        await assertServedManifest(skopeo, ref, dirManifest(list.dir));
        for (const instance of list.instances) {
          const instanceRef = dockerRef(host, 'interop/manifest-list', instance.digest);
          await assertServedManifest(skopeo, instanceRef, dirInstanceManifest(list.dir, instance.digest));
        }
      });

      test('pull --all of a Docker manifest list into dir: gives the same list, manifests and blobs', { timeout: TIMEOUT }, async () => {
        const ref = dockerRef(registry.get().host, 'interop/manifest-list-roundtrip', 'v1');
        await skopeo.copy(dirRef(list.dir), ref, ['--all', '--preserve-digests']);
        const out = join(work(), `list-${kind.name}`);
        assert.equal(await skopeo.copy(ref, dirRef(out), ['--all', '--preserve-digests']), list.list.digest);
        assert.ok(dirManifest(out).equals(dirManifest(list.dir)), 'manifest list bytes');
        for (const instance of list.instances) {
          const manifest = dirInstanceManifest(out, instance.digest);
          assert.ok(manifest.equals(dirInstanceManifest(list.dir, instance.digest)), `manifest ${instance.digest}`);
          const { config, layers } = imageDigests(manifest);
          for (const blob of [config, ...layers]) assert.ok(dirBlob(out, blob).equals(dirBlob(list.dir, blob)), `blob ${blob}`);
        }
      });
    });
  }
});
