// podman push/pull against each registry. podman re-serialises manifests, so these tests compare the config
// and layer digests, and check that podman pushes the same digests to Wharf as to the reference registry.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requireTools } from './run.js';
import { buildMultiLayerImage, type LayoutImage } from './images.js';
import { readJsonBlob, sha256, type ImageManifest } from './layout.js';
import { ContainerStorage, type LocalImage } from './podman.js';
import { Skopeo, dockerRef, ociRef } from './skopeo.js';
import { imageDigests } from './assertions.js';
import { registries, useRegistry, useTempDir, type RegistryHandle } from './registries.js';

const TIMEOUT = 120_000;
const BASE = 'localhost/wharf-interop/base:v1';
const IMAGE = 'localhost/wharf-interop/app:v1';

interface ImageConfig {
  rootfs: { diff_ids: string[] };
}

describe('podman: push and pull', () => {
  const work = useTempDir('wharf-interop-podman-');
  const handles = registries().map((kind) => useRegistry(kind));
  let skopeo: Skopeo;
  let storage: ContainerStorage;
  let built: LocalImage;
  let umociImage: LayoutImage;

  before(async () => {
    requireTools('podman', 'buildah', 'skopeo', 'umoci', 'docker-registry');
    skopeo = new Skopeo(join(work(), 'skopeo'));
    storage = newStorage('storage');
    await storage.addLayer('scratch', BASE, { 'etc/motd': 'base layer\n' });
    await storage.addLayer(BASE, IMAGE, { 'srv/hello.txt': 'app layer\n', 'srv/conf/app.ini': '[app]\nname=wharf\n' });
    built = await storage.inspect(IMAGE);
    assert.equal(built.diffIds.length, 2, 'buildah built two layers');
    umociImage = await buildMultiLayerImage(join(work(), 'umoci'));
  }, { timeout: TIMEOUT });

  const storages: ContainerStorage[] = [];
  after(() => storages.forEach((s) => s.removeRunroot()));

  /** A new, empty containers-storage under the work dir. */
  function newStorage(name: string): ContainerStorage {
    const s = new ContainerStorage(join(work(), name));
    storages.push(s);
    return s;
  }

  /** Pushes the buildah image to host/repo:v1 and returns the manifest the registry then serves. */
  async function pushBuilt(registry: RegistryHandle, repo: string): Promise<Buffer> {
    const ref = dockerRef(registry.get().host, repo, 'v1');
    const digest = await storage.push(IMAGE, ref);
    const served = await skopeo.inspectRaw(ref);
    assert.equal(sha256(served), digest, `${registry.name} serves the manifest digest podman pushed`);
    return served;
  }

  for (const registry of handles) {
    describe(registry.name, () => {
      test('podman push: the served manifest and config match the local image', { timeout: TIMEOUT }, async () => {
        const served = await pushBuilt(registry, 'interop/podman-push');
        const digests = imageDigests(served);
        assert.equal(digests.config, built.id, 'config digest = image ID');
        assert.equal(digests.layers.length, 2);
        const config = await skopeo.inspectConfig(dockerRef(registry.get().host, 'interop/podman-push', 'v1'));
        assert.equal(sha256(config), built.id, 'config blob bytes');
        assert.deepEqual((JSON.parse(config.toString()) as ImageConfig).rootfs.diff_ids, built.diffIds);
      });

      test('podman pull into a fresh storage gives the same image', { timeout: TIMEOUT }, async () => {
        const served = await pushBuilt(registry, 'interop/podman-pull');
        const name = `${registry.get().host}/interop/podman-pull:v1`;
        const pulling = newStorage(`pull-${registry.name}`);
        assert.equal('sha256:' + (await pulling.pull(name)), built.id);
        const local = await pulling.inspect(name);
        assert.deepEqual(local, { id: built.id, digest: sha256(served), diffIds: built.diffIds });
      });

      test('podman pulls a multi-layer image that skopeo pushed from an umoci layout', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        await skopeo.copy(ociRef(umociImage.layout, umociImage.ref), dockerRef(host, 'interop/umoci', 'v1'), ['--preserve-digests']);
        const manifest = readJsonBlob<ImageManifest>(umociImage.layout, umociImage.descriptor.digest);
        const config = readJsonBlob<ImageConfig>(umociImage.layout, manifest.config.digest);
        const name = `${host}/interop/umoci:v1`;
        const pulling = newStorage(`pull-umoci-${registry.name}`);
        await pulling.pull(name);
        const local = await pulling.inspect(name);
        assert.deepEqual(local, { id: manifest.config.digest, digest: umociImage.descriptor.digest, diffIds: config.rootfs.diff_ids });
      });
    });
  }

  // Only defined when both registries run (WHARF_INTEROP_REGISTRIES unset, as in CI).
  const wharf = handles.find((h) => h.name === 'wharf');
  const reference = handles.find((h) => h.name === 'reference');
  if (wharf && reference) {
    test('podman pushes the same config and layer digests to Wharf and to the reference', { timeout: TIMEOUT }, async () => {
      const toReference = imageDigests(await pushBuilt(reference, 'interop/podman-compare'));
      const toWharf = imageDigests(await pushBuilt(wharf, 'interop/podman-compare'));
      assert.deepEqual(toWharf, toReference);
    });
  }
});
