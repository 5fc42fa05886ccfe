// skopeo list-tags and skopeo delete.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requireTools } from './run.js';
import { buildMultiLayerImage, buildVariant, type LayoutImage } from './images.js';
import { readBlob } from './layout.js';
import { Skopeo, dockerRef, ociRef } from './skopeo.js';
import { assertServedManifest } from './assertions.js';
import { registries, useRegistry, useTempDir } from './registries.js';

const TIMEOUT = 120_000;

describe('skopeo: list-tags and delete', () => {
  const work = useTempDir('wharf-interop-tags-');
  let skopeo: Skopeo;
  let first: LayoutImage;
  let second: LayoutImage;

  before(async () => {
    requireTools('skopeo', 'umoci', 'docker-registry');
    skopeo = new Skopeo(join(work(), 'skopeo'));
    first = await buildMultiLayerImage(join(work(), 'image'), 'first');
    second = await buildVariant(first, 'second', 'wharf.test.variant=second');
    assert.notEqual(first.descriptor.digest, second.descriptor.digest);
  }, { timeout: TIMEOUT });

  /** Pushes `image` to host/repo under each tag. */
  async function pushTags(host: string, repo: string, image: LayoutImage, tags: string[]): Promise<void> {
    for (const tag of tags) {
      await skopeo.copy(ociRef(image.layout, image.ref), dockerRef(host, repo, tag), ['--preserve-digests']);
    }
  }

  for (const kind of registries()) {
    describe(kind.name, () => {
      const registry = useRegistry(kind);

      test('list-tags returns every pushed tag', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        await pushTags(host, 'interop/tags', first, ['v1', 'latest', 'v1.0.0-rc.1']);
        await pushTags(host, 'interop/tags', second, ['v2', 'Release_2']);
        assert.deepEqual(await skopeo.listTags(host, 'interop/tags'), ['Release_2', 'latest', 'v1', 'v1.0.0-rc.1', 'v2']);
      });

      test('list-tags of a repository that was never pushed fails with 404', { timeout: TIMEOUT }, async () => {
        const err = await skopeo.listTagsFails(registry.get().host, 'interop/never-pushed');
        assert.match(err.stderr, /404|name unknown/i);
      });

      test('delete by tag removes that manifest and keeps the others', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        const repo = 'interop/delete-tag';
        await pushTags(host, repo, first, ['keep']);
        await pushTags(host, repo, second, ['gone']);
        await skopeo.delete(dockerRef(host, repo, 'gone'));
        assert.match((await skopeo.inspectRawFails(dockerRef(host, repo, 'gone'))).stderr, /manifest unknown/i);
        assert.match((await skopeo.inspectRawFails(dockerRef(host, repo, second.descriptor.digest))).stderr, /manifest unknown/i);
        await assertServedManifest(skopeo, dockerRef(host, repo, 'keep'), readBlob(first.layout, first.descriptor.digest));
        assert.deepEqual(await skopeo.listTags(host, repo), ['keep']);
      });

      test('delete by digest removes the manifest and the tags that pointed to it', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        const repo = 'interop/delete-digest';
        await pushTags(host, repo, first, ['a', 'b']);
        await pushTags(host, repo, second, ['c']);
        await skopeo.delete(dockerRef(host, repo, first.descriptor.digest));
        assert.match((await skopeo.inspectRawFails(dockerRef(host, repo, first.descriptor.digest))).stderr, /manifest unknown/i);
        assert.match((await skopeo.inspectRawFails(dockerRef(host, repo, 'a'))).stderr, /manifest unknown/i);
        assert.deepEqual(await skopeo.listTags(host, repo), ['c']);
      });

      test('an image can be pushed again after it was deleted', { timeout: TIMEOUT }, async () => {
        const host = registry.get().host;
        const repo = 'interop/delete-repush';
        await pushTags(host, repo, first, ['v1']);
        await skopeo.delete(dockerRef(host, repo, 'v1'));
        await pushTags(host, repo, first, ['v1']);
        await assertServedManifest(skopeo, dockerRef(host, repo, 'v1'), readBlob(first.layout, first.descriptor.digest));
      });
    });
  }
});
