// The client's copy next to skopeo: skopeo pushes a multi-arch OCI index and a Docker schema2 image to Wharf,
// `copy` moves them to the reference registry (Distribution 2.8), and skopeo reads both sides byte-identical;
// then the other way round: `copy` pushes from an OCI layout to Wharf and skopeo copies it out with the same
// digests and blobs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import { openLayout } from '../../src/client/layout.js';
import { RegistryStore } from '../../src/client/remote-store.js';
import { copy } from '../../src/client/ops/copy.js';
import { spawnReference, spawnWharf } from '../helpers/processes.js';
import { requireTools } from './run.js';
import { buildMultiArchIndex, buildMultiLayerImage, type LayoutImage, type MultiArchImage } from './images.js';
import { resolveRef, sha256 } from './layout.js';
import { Skopeo, dirRef, dockerRef, ociRef } from './skopeo.js';
import { assertSameBlobs } from './assertions.js';
import { useRegistry, useTempDir } from './registries.js';

const TIMEOUT = 180_000;

describe('client copy with skopeo: Wharf ↔ Distribution', () => {
  const work = useTempDir('wharf-interop-client-');
  const wharf = useRegistry({ name: 'wharf', start: (data) => spawnWharf({ data }) });
  const reference = useRegistry({ name: 'reference', start: (data) => spawnReference({ data }) });
  let skopeo: Skopeo;
  let index: MultiArchImage;
  let image: LayoutImage;
  let wc: RegistryClient;
  let rc: RegistryClient;

  before(async () => {
    requireTools('skopeo', 'umoci', 'docker-registry');
    skopeo = new Skopeo(join(work(), 'skopeo'));
    index = await buildMultiArchIndex(join(work(), 'multiarch'));
    image = await buildMultiLayerImage(join(work(), 'image'), 'schema2');
    wc = new RegistryClient(wharf.get().host, { credentials: false });
    rc = new RegistryClient(reference.get().host, { credentials: false });
  }, { timeout: TIMEOUT });

  after(async () => {
    await wc?.close();
    await rc?.close();
  });

  /** skopeo inspect --raw of `repo@ref` on both registries gives the same bytes; returns them. */
  async function sameOnBoth(repo: string, ref: string): Promise<Buffer> {
    const onWharf = await skopeo.inspectRaw(dockerRef(wharf.get().host, repo, ref));
    const onReference = await skopeo.inspectRaw(dockerRef(reference.get().host, repo, ref));
    assert.ok(onWharf.equals(onReference), `${repo} ${ref}: skopeo reads the same bytes from both registries`);
    return onWharf;
  }

  test('a multi-arch index pushed by skopeo to Wharf, copied to Distribution, is byte-identical there', { timeout: TIMEOUT }, async () => {
    const repo = 'interop/client-index';
    const pushed = await skopeo.copy(ociRef(index.layout, index.ref), dockerRef(wharf.get().host, repo, 'v1'), ['--all', '--preserve-digests']);
    assert.equal(pushed, index.descriptor.digest);
    const r = await copy(new RegistryStore(wc, repo), 'v1', new RegistryStore(rc, repo));
    assert.equal(r.digest, index.descriptor.digest);
    assert.equal(r.manifests, 1 + index.platforms.length + 1, 'the index, its platform images and the attestation');
    assert.equal(sha256(await sameOnBoth(repo, 'v1')), index.descriptor.digest);
    for (const child of [...index.platforms, index.attestation]) assert.equal(sha256(await sameOnBoth(repo, child.digest)), child.digest);
    const again = await copy(new RegistryStore(wc, repo), 'v1', new RegistryStore(rc, repo));
    assert.equal(again.blobsCopied, 0, 'a second copy moves no blob');
  });

  test('a Docker schema2 image pushed by skopeo to Wharf, copied to Distribution, keeps its manifest and blobs', { timeout: TIMEOUT }, async () => {
    const repo = 'interop/client-schema2';
    const pushed = await skopeo.copy(ociRef(image.layout, image.ref), dockerRef(wharf.get().host, repo, 'v1'), ['--format', 'v2s2']);
    const r = await copy(new RegistryStore(wc, repo), 'v1', new RegistryStore(rc, repo));
    assert.equal(r.digest, pushed);
    assert.equal(r.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(sha256(await sameOnBoth(repo, 'v1')), pushed);
    const config = await skopeo.inspectConfig(dockerRef(reference.get().host, repo, 'v1'));
    assert.ok(config.equals(await skopeo.inspectConfig(dockerRef(wharf.get().host, repo, 'v1'))), 'the same config blob');
    // Distribution → Wharf, one platform of the index: skopeo pulls what copy chose.
    const arm64 = index.platforms[1]!;
    await copy(new RegistryStore(rc, 'interop/client-index'), 'v1', new RegistryStore(wc, 'interop/client-arm64'), { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(sha256(await skopeo.inspectRaw(dockerRef(wharf.get().host, 'interop/client-arm64', 'v1'))), arm64.digest);
  });

  test('copy pushes an OCI layout to Wharf; skopeo copies it out to an OCI layout with the same digests', { timeout: TIMEOUT }, async () => {
    const repo = 'interop/client-pushed';
    const layout = await openLayout(index.layout);
    const r = await copy(layout, index.ref, new RegistryStore(wc, repo), { tag: 'v1' });
    await layout.close();
    assert.equal(r.digest, index.descriptor.digest);
    const out = join(work(), 'pulled');
    const pulled = await skopeo.copy(dockerRef(wharf.get().host, repo, 'v1'), ociRef(out, 'v1'), ['--all', '--preserve-digests']);
    assert.equal(pulled, index.descriptor.digest);
    assert.equal(resolveRef(out, 'v1').digest, index.descriptor.digest);
    assertSameBlobs(index.layout, out, index.descriptor);
  });

  test('copy pushes a schema2 image from Distribution to Wharf; skopeo reads it out unchanged', { timeout: TIMEOUT }, async () => {
    const repo = 'interop/client-schema2';
    const pushed = await skopeo.copy(ociRef(image.layout, image.ref), dockerRef(reference.get().host, `${repo}-src`, 'v1'), ['--format', 'v2s2']);
    const r = await copy(new RegistryStore(rc, `${repo}-src`), 'v1', new RegistryStore(wc, `${repo}-back`));
    assert.equal(r.digest, pushed);
    const dir = join(work(), 'schema2-dir');
    await skopeo.copy(dockerRef(wharf.get().host, `${repo}-back`, 'v1'), dirRef(dir), ['--preserve-digests']);
    assert.equal(sha256(readFileSync(join(dir, 'manifest.json'))), pushed, 'skopeo wrote the manifest copy pushed, unchanged');
  });
});
