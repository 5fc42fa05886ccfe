// Two `wharf serve` processes sharing PostgreSQL and one storage directory, seen by a real client: skopeo pushes
// through one process and copies out through the other, byte-identically (a multi-arch index with its
// attestation, and a multi-layer image pushed the other way round).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnWharf, tempDir, removeDir, type SpawnedRegistry } from '../helpers/processes.js';
import { createPostgresDatabase, sharedPostgres, type PostgresDatabase } from '../helpers/services.js';
import { requireTools } from '../interop/run.js';
import { buildMultiArchIndex, buildMultiLayerImage, type LayoutImage, type MultiArchImage } from '../interop/images.js';
import { Skopeo, dockerRef, ociRef } from '../interop/skopeo.js';
import { assertSameBlobs } from '../interop/assertions.js';

const TIMEOUT = 180_000;

describe('skopeo through two wharf processes sharing PostgreSQL and storage', () => {
  let db: PostgresDatabase;
  let work: string;
  let a: SpawnedRegistry;
  let b: SpawnedRegistry;
  let skopeo: Skopeo;
  let index: MultiArchImage;
  let image: LayoutImage;

  before(async () => {
    requireTools('skopeo', 'umoci');
    work = tempDir('wharf-multi-skopeo-');
    db = await createPostgresDatabase(await sharedPostgres(), 'wharf_multi_skopeo');
    const storage = pathToFileURL(join(work, 'shared-blobs')).href;
    const start = (name: string) => spawnWharf({ data: join(work, name), args: ['--metadata', db.url, '--storage', storage] });
    [a, b] = await Promise.all([start('data-a'), start('data-b')]);
    skopeo = new Skopeo(join(work, 'skopeo'));
    index = await buildMultiArchIndex(join(work, 'multiarch'));
    image = await buildMultiLayerImage(join(work, 'image'), 'schema2');
  }, { timeout: TIMEOUT });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
    if (work) removeDir(work);
  });

  test('a multi-arch index pushed through A is pulled through B with the same digests and bytes', { timeout: TIMEOUT }, async () => {
    const repo = 'scale/index';
    const pushed = await skopeo.copy(ociRef(index.layout, index.ref), dockerRef(a.host, repo, 'v1'), ['--all', '--preserve-digests']);
    assert.equal(pushed, index.descriptor.digest);
    const viaA = await skopeo.inspectRaw(dockerRef(a.host, repo, 'v1'));
    const viaB = await skopeo.inspectRaw(dockerRef(b.host, repo, 'v1'));
    assert.ok(viaA.equals(viaB), 'both processes serve the same index bytes');
    const out = join(work, 'out-index');
    const pulled = await skopeo.copy(dockerRef(b.host, repo, 'v1'), ociRef(out, 'v1'), ['--all', '--preserve-digests']);
    assert.equal(pulled, index.descriptor.digest);
    assertSameBlobs(index.layout, out, index.descriptor);
  });

  test('an image pushed through B is listed and pulled through A', { timeout: TIMEOUT }, async () => {
    const repo = 'scale/image';
    const pushed = await skopeo.copy(ociRef(image.layout, image.ref), dockerRef(b.host, repo, 'latest'), ['--preserve-digests']);
    assert.equal(pushed, image.descriptor.digest);
    assert.deepEqual(await skopeo.listTags(a.host, repo), ['latest']);
    const out = join(work, 'out-image');
    const pulled = await skopeo.copy(dockerRef(a.host, repo, 'latest'), ociRef(out, 'latest'), ['--preserve-digests']);
    assert.equal(pulled, image.descriptor.digest);
    assertSameBlobs(image.layout, out, image.descriptor);
  });
});
