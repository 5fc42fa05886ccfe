// OCI layouts between Wharf's layout store and real umoci, both ways: layouts umoci builds open and resolve by
// tag with every blob verified; layouts we write are listed, inspected and unpacked by umoci (real gzip
// layers); umoci's edits (new config, retag, gc) of our layout are read back, and our later pushes keep them.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MediaType, type Descriptor } from '../../src/oci/index.js';
import { openLayout, type ContentSource } from '../../src/client/index.js';
import { readAll } from '../client/helpers.js';
import { requireTools, run } from './run.js';
import { buildMultiArchIndex, buildMultiLayerImage, type LayoutImage, type MultiArchImage } from './images.js';
import { resolveRef } from './layout.js';
import { buildTarGzImage, pushToSink } from './layout-fixtures.js';
import { useTempDir } from './registries.js';

const TIMEOUT = 120_000;

async function umoci(args: string[]): Promise<string> {
  return (await run('umoci', args, { timeoutMs: 60_000 })).stdout;
}

/** Reads the image manifest `ref` and every blob it names through `source` (each verified while it streams). */
async function readImage(source: ContentSource, ref: string): Promise<{ digest: string; blobs: number }> {
  const m = await source.resolve(ref);
  const doc = JSON.parse(m.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
  for (const d of [doc.config, ...doc.layers]) {
    const bytes = await readAll(await source.fetchBlob(d));
    assert.equal(bytes.length, d.size, `${ref}: ${d.digest}`);
  }
  return { digest: m.digest, blobs: 1 + doc.layers.length };
}

describe('OCI layouts with umoci', () => {
  const work = useTempDir('wharf-interop-layout-umoci-');
  let multilayer: LayoutImage;
  let multiarch: MultiArchImage;

  before(async () => {
    requireTools('umoci');
    multilayer = await buildMultiLayerImage(join(work(), 'umoci-image'));
    multiarch = await buildMultiArchIndex(join(work(), 'umoci-index'));
  }, { timeout: TIMEOUT });

  test('a layout umoci built opens, resolves by tag and digest, and every blob verifies', { timeout: TIMEOUT }, async () => {
    const layout = await openLayout(multilayer.layout);
    assert.ok((await layout.tags()).includes('multilayer'), 'umoci tag listed');
    const read = await readImage(layout, 'multilayer');
    assert.equal(read.digest, multilayer.descriptor.digest);
    assert.equal(read.blobs, 4);
    assert.deepEqual((await layout.resolve(multilayer.descriptor.digest)).digest, multilayer.descriptor.digest);
  });

  test('an index in a umoci layout resolves by tag and its platform manifests by digest', { timeout: TIMEOUT }, async () => {
    const layout = await openLayout(multiarch.layout);
    const index = await layout.resolve(multiarch.ref);
    assert.equal(index.mediaType, MediaType.ociIndex);
    assert.equal(index.digest, multiarch.descriptor.digest);
    for (const p of multiarch.platforms) {
      const m = await layout.fetchManifest(p);
      assert.equal(m.digest, p.digest);
      await readImage(layout, p.digest);
    }
    assert.deepEqual(await layout.tags(), ['amd64', 'arm64', 'multiarch', 's390x']);
  });

  test('a layout we write is listed, inspected and unpacked by umoci', { timeout: TIMEOUT }, async () => {
    const dir = join(work(), 'ours');
    const layout = await openLayout(dir, { create: true });
    const image = await buildTarGzImage([{ 'hello.txt': 'hello from a wharf layout\n' }, { 'etc/app.conf': 'port = 8080\n', 'usr/share/doc/readme': 'second layer\n' }]);
    await pushToSink(layout, image, { tag: 'v1', root: true });
    await pushToSink(layout, await buildTarGzImage([{ 'other.txt': 'x\n' }]), { tag: 'v2', root: true });
    await layout.close();

    const listed = (await umoci(['ls', '--layout', dir])).split('\n').filter(Boolean).sort();
    assert.deepEqual(listed, ['v1', 'v2']);
    const stat = await umoci(['stat', '--image', `${dir}:v1`, '--json']);
    assert.ok(stat.includes('wharf layout interop test'), `umoci stat shows the history: ${stat.slice(0, 300)}`);
    const bundle = join(work(), 'bundle');
    await umoci(['unpack', '--rootless', '--image', `${dir}:v1`, bundle]);
    assert.equal(readFileSync(join(bundle, 'rootfs', 'hello.txt'), 'utf8'), 'hello from a wharf layout\n');
    assert.equal(readFileSync(join(bundle, 'rootfs', 'etc', 'app.conf'), 'utf8'), 'port = 8080\n');
    assert.equal(readFileSync(join(bundle, 'rootfs', 'usr', 'share', 'doc', 'readme'), 'utf8'), 'second layer\n');
  });

  test("umoci's edits of our layout (new config, retag, gc) are read back, and our next push keeps them", { timeout: TIMEOUT }, async () => {
    const dir = join(work(), 'edited');
    const layout = await openLayout(dir, { create: true });
    const image = await buildTarGzImage([{ 'a.txt': 'a\n' }]);
    await pushToSink(layout, image, { tag: 'base', root: true });
    await layout.close();

    await umoci(['config', '--image', `${dir}:base`, '--tag', 'edited', '--config.cmd', '/a.txt']);
    await umoci(['gc', '--layout', dir]);
    const reopened = await openLayout(dir);
    assert.deepEqual(await reopened.tags(), ['base', 'edited']);
    assert.equal((await reopened.resolve('base')).digest, image.digest);
    const edited = await readImage(reopened, 'edited');
    assert.equal(edited.digest, resolveRef(dir, 'edited').digest);
    assert.notEqual(edited.digest, image.digest);
    const config = JSON.parse((await readAll(await reopened.fetchBlob((JSON.parse((await reopened.resolve('edited')).bytes.toString()) as { config: Descriptor }).config))).toString()) as {
      config: { Cmd?: string[] };
    };
    assert.deepEqual(config.config.Cmd, ['/a.txt']);

    await pushToSink(reopened, await buildTarGzImage([{ 'b.txt': 'b\n' }]), { tag: 'later', root: true });
    await reopened.close();
    const listed = (await umoci(['ls', '--layout', dir])).split('\n').filter(Boolean).sort();
    assert.deepEqual(listed, ['base', 'edited', 'later']);
    await umoci(['gc', '--layout', dir]);
    const last = await openLayout(dir);
    for (const tag of ['base', 'edited', 'later']) await readImage(last, tag);
  });
});
