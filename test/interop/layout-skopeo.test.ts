// OCI layouts and archives between Wharf's stores and real skopeo, both ways: skopeo copies images from a
// Wharf registry into `oci:DIR:TAG` / `oci-archive:FILE:TAG` and our stores read them digest-identically;
// our stores write layouts and archives that skopeo inspects (same bytes) and copies into a registry; and a
// layout written by both keeps every tag.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MediaType } from '../../src/oci/index.js';
import { RegistryClient, openArchive, openLayout, type ContentSource } from '../../src/client/index.js';
import { pushImage, readAll, sha256, type Image } from '../client/helpers.js';
import { buildTarGzImage, descriptorOf, gzipLayerType, pushToSink } from './layout-fixtures.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { requireTools } from './run.js';
import { Skopeo, dockerRef } from './skopeo.js';
import { useTempDir } from './registries.js';

const TIMEOUT = 120_000;

/** Two images and an OCI index of them (platforms amd64 and arm64). */
async function buildIndex(): Promise<{ images: Image[]; index: Buffer; digest: string }> {
  const images = [await buildTarGzImage([{ 'arch.txt': 'amd64\n' }], 'amd64'), await buildTarGzImage([{ 'arch.txt': 'arm64\n' }], 'arm64')];
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: images.map((im, i) => ({
        ...descriptorOf(im.manifest, MediaType.ociManifest),
        platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
      })),
    }),
  );
  return { images, index, digest: sha256(index) };
}

/** Checks that `source` holds `image` under `ref`: the same manifest bytes and every blob, verified. */
async function assertHolds(source: ContentSource, ref: string, image: Image): Promise<void> {
  const m = await source.resolve(ref);
  assert.equal(m.digest, image.digest, `${source.name}:${ref} digest`);
  assert.deepEqual(m.bytes, image.manifest, `${source.name}:${ref} bytes`);
  assert.deepEqual(await readAll(await source.fetchBlob(descriptorOf(image.config, MediaType.ociConfig))), image.config);
  for (const l of image.layers) assert.deepEqual(await readAll(await source.fetchBlob(descriptorOf(l, gzipLayerType))), l);
}

describe('OCI layouts and archives with skopeo', () => {
  const work = useTempDir('wharf-interop-layout-skopeo-');
  let skopeo: Skopeo;
  let registry: TestRegistry;
  let client: RegistryClient;
  let host: string;
  let image: Image;
  let multi: Awaited<ReturnType<typeof buildIndex>>;

  before(async () => {
    requireTools('skopeo');
    skopeo = new Skopeo(join(work(), 'skopeo'));
    registry = await startTestRegistry();
    host = new URL(registry.url).host;
    client = new RegistryClient(host);
    image = await buildTarGzImage([{ 'big.bin': randomBytes(300_000) }, { 'etc/app.conf': 'a second layer\n' }]);
    multi = await buildIndex();
    await pushImage(client, 'src/app', image, 'v1');
    for (const im of multi.images) await pushImage(client, 'src/multi', im);
    await client.putManifest('src/multi', 'all', multi.index);
  }, { timeout: TIMEOUT });

  after(async () => {
    await client?.close();
    await registry?.close();
  });

  test('skopeo copy → oci:DIR:TAG is read by openLayout, digest-identical, and by tag after a second copy', { timeout: TIMEOUT }, async () => {
    const dir = join(work(), 'from-skopeo');
    const digest = await skopeo.copy(dockerRef(host, 'src/app', 'v1'), `oci:${dir}:v1`);
    assert.equal(digest, image.digest);
    await assertHolds(await openLayout(dir), 'v1', image);
    await skopeo.copy(dockerRef(host, 'src/app', 'v1'), `oci:${dir}:again`);
    const layout = await openLayout(dir);
    assert.deepEqual(await layout.tags(), ['again', 'v1']);
    await assertHolds(layout, 'again', image);
    await assertHolds(layout, image.digest, image);
  });

  test('skopeo copy → oci-archive:FILE:TAG is read by openArchive', { timeout: TIMEOUT }, async () => {
    const file = join(work(), 'from-skopeo.tar');
    await skopeo.copy(dockerRef(host, 'src/app', 'v1'), `oci-archive:${file}:v1`);
    const archive = await openArchive(file, { mode: 'read' });
    try {
      assert.deepEqual(await archive.tags(), ['v1']);
      await assertHolds(archive, 'v1', image);
    } finally {
      await archive.close();
    }
  });

  test('skopeo copy --all of an index: the index is a root in index.json, its children blobs', { timeout: TIMEOUT }, async () => {
    const dir = join(work(), 'from-skopeo-all');
    await skopeo.copy(dockerRef(host, 'src/multi', 'all'), `oci:${dir}:all`, ['--all']);
    const layout = await openLayout(dir);
    assert.deepEqual(layout.roots().map((d) => [d.digest, d.mediaType]), [[multi.digest, MediaType.ociIndex]]);
    const m = await layout.resolve('all');
    assert.deepEqual(m.bytes, multi.index);
    assert.equal(m.mediaType, MediaType.ociIndex);
    for (const im of multi.images) {
      const child = await layout.fetchManifest(descriptorOf(im.manifest, MediaType.ociManifest));
      assert.deepEqual(child.bytes, im.manifest);
      await assertHolds(layout, im.digest, im);
    }
  });

  test('a layout we write: skopeo inspect --raw gives our bytes; skopeo copies it (single image and --all index) into a registry', { timeout: TIMEOUT }, async () => {
    const dir = join(work(), 'ours');
    const layout = await openLayout(dir, { create: true });
    await pushToSink(layout, image, { tag: 'ours', root: true });
    for (const im of multi.images) await pushToSink(layout, im, { root: false });
    await layout.pushManifest({ digest: multi.digest, mediaType: MediaType.ociIndex, bytes: multi.index }, { root: true, tag: 'idx' });
    await layout.close();

    assert.deepEqual(await skopeo.inspectRaw(`oci:${dir}:ours`), image.manifest);
    assert.deepEqual(await skopeo.inspectRaw(`oci:${dir}:idx`), multi.index);
    const config = JSON.parse((await skopeo.inspectConfig(`oci:${dir}:ours`)).toString()) as { architecture: string };
    assert.equal(config.architecture, 'amd64');

    assert.equal(await skopeo.copy(`oci:${dir}:ours`, dockerRef(host, 'dest/app', 'ours')), image.digest);
    assert.deepEqual(await skopeo.inspectRaw(dockerRef(host, 'dest/app', 'ours')), image.manifest);
    await skopeo.copy(`oci:${dir}:idx`, dockerRef(host, 'dest/multi', 'idx'), ['--all']);
    assert.deepEqual(await skopeo.inspectRaw(dockerRef(host, 'dest/multi', 'idx')), multi.index);
    assert.deepEqual(await skopeo.inspectRaw(dockerRef(host, 'dest/multi', multi.images[1]!.digest)), multi.images[1]!.manifest);
  });

  test('an archive we write: skopeo inspects it and copies it into a layout and a registry', { timeout: TIMEOUT }, async () => {
    const file = join(work(), 'ours.tar');
    const archive = await openArchive(file, { mode: 'write' });
    await pushToSink(archive, image, { tag: 'arch', root: true });
    await archive.close();
    assert.deepEqual(await skopeo.inspectRaw(`oci-archive:${file}:arch`), image.manifest);
    const dir = join(work(), 'from-our-archive');
    await skopeo.copy(`oci-archive:${file}:arch`, `oci:${dir}:arch`);
    await assertHolds(await openLayout(dir), 'arch', image);
    assert.equal(await skopeo.copy(`oci-archive:${file}:arch`, dockerRef(host, 'dest/archived', 'arch')), image.digest);
  });

  test('a layout written by both keeps every tag; retagging by either side is seen by the other', { timeout: TIMEOUT }, async () => {
    const dir = join(work(), 'shared');
    const ours = await openLayout(dir, { create: true });
    const other = await buildTarGzImage([{ 'other.txt': 'ours\n' }]);
    await pushToSink(ours, other, { tag: 'mine', root: true });
    await ours.close();
    await skopeo.copy(dockerRef(host, 'src/app', 'v1'), `oci:${dir}:theirs`);
    const reopened = await openLayout(dir);
    assert.deepEqual(await reopened.tags(), ['mine', 'theirs']);
    await assertHolds(reopened, 'theirs', image);
    // we move "theirs" onto our image; skopeo sees the move and still reads "mine"
    await reopened.pushManifest({ digest: other.digest, mediaType: MediaType.ociManifest, bytes: other.manifest }, { root: true, tag: 'theirs' });
    await reopened.close();
    assert.deepEqual(await skopeo.inspectRaw(`oci:${dir}:theirs`), other.manifest);
    assert.deepEqual(await skopeo.inspectRaw(`oci:${dir}:mine`), other.manifest);
    // skopeo moves "mine" back onto the registry image; we read its index.json
    await skopeo.copy(dockerRef(host, 'src/app', 'v1'), `oci:${dir}:mine`);
    const last = await openLayout(dir);
    assert.equal((await last.resolve('mine')).digest, image.digest);
    assert.equal((await last.resolve('theirs')).digest, other.digest);
  });
});
