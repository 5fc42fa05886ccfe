// pushArtifact, pullArtifact, attach and listReferrers on MemoryStore, Wharf and the reference registry
// (Distribution 2.8: no referrers API, so referrers go through the tag schema both ways).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import {
  attach,
  DigestMismatchError,
  FileExistsError,
  InvalidContentError,
  isNotFound,
  listReferrers,
  MediaType,
  MemoryStore,
  openLayout,
  pullArtifact,
  pushArtifact,
  UnsafeTitleError,
  type ContentStore,
} from '../../src/client/index.js';
import { emptyDescriptor } from '../../src/client/ops/build.js';
import type { TransferEvent } from '../../src/client/ops/events.js';
import { pushBlobBytes, pushPlatformImage, pushRawManifest, places, type Place } from './ops-places.js';
import { randomData, removeDir, sha256, tempDir } from './helpers.js';

/** Writes `size` random bytes to `path` in 1 MiB pieces (never the whole file in memory) and returns its digest. */
async function writeBigFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0; written < size; ) {
    const piece = randomData(Math.min(1024 * 1024, size - written));
    hash.update(piece);
    if (!out.write(piece)) await once(out, 'drain');
    written += piece.length;
  }
  out.end();
  await once(out, 'finish');
  return `sha256:${hash.digest('hex')}`;
}

function manifestDoc(bytes: Buffer): Record<string, any> {
  return JSON.parse(bytes.toString('utf8'));
}

for (const { name, start } of places) {
  describe(`artifact operations on ${name}`, () => {
    let place: Place;
    let dir: string;

    before(async () => {
      place = await start();
      dir = tempDir('wharf-ops-artifact-');
    });

    after(async () => {
      await place?.close();
      removeDir(dir);
    });

    test('push three files (one of 20 MiB, streamed from disk), pull them back byte-identical', async () => {
      const store = await place.store();
      const src = join(dir, 'src-roundtrip');
      mkdirSync(src);
      writeFileSync(join(src, 'readme.txt'), 'hello artifact\n');
      writeFileSync(join(src, 'data.json'), JSON.stringify({ a: 1 }));
      const bigDigest = await writeBigFile(join(src, 'big.bin'), 20 * 1024 * 1024);
      const events: TransferEvent[] = [];
      const pushed = await pushArtifact(store, {
        files: [{ path: join(src, 'readme.txt') }, { path: join(src, 'data.json'), mediaType: 'application/json' }, { path: join(src, 'big.bin'), title: 'payload.bin' }],
        artifactType: 'application/vnd.example.bundle',
        annotations: { 'org.example.note': 'three files' },
        tag: 'v1',
        onEvent: (e) => events.push(e),
      });
      assert.equal(pushed.mediaType, MediaType.ociManifest);
      assert.equal(pushed.artifactType, 'application/vnd.example.bundle');
      const done = events.filter((e) => e.type === 'blob-done' || e.type === 'manifest-done');
      assert.deepEqual(
        done.map((e) => `${e.type}:${'descriptor' in e ? (e.descriptor.annotations?.['org.opencontainers.image.title'] ?? e.descriptor.mediaType) : ''}`),
        ['blob-done:application/vnd.oci.empty.v1+json', 'blob-done:readme.txt', 'blob-done:data.json', 'blob-done:payload.bin', `manifest-done:${MediaType.ociManifest}`],
      );
      const bigProgress = events.filter((e) => e.type === 'blob-progress' && e.descriptor.digest === bigDigest).map((e) => (e as { bytes: number }).bytes);
      assert.equal(bigProgress.at(-1), 20 * 1024 * 1024, 'progress of the big file reaches its size');

      const stored = await store.resolve('v1');
      assert.equal(stored.digest, pushed.digest);
      const doc = manifestDoc(stored.bytes);
      assert.equal(doc.mediaType, MediaType.ociManifest);
      assert.equal(doc.artifactType, 'application/vnd.example.bundle');
      assert.deepEqual(doc.config, { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2, data: 'e30=' });
      assert.deepEqual(doc.layers.map((l: any) => [l.annotations['org.opencontainers.image.title'], l.mediaType]), [
        ['readme.txt', 'application/octet-stream'],
        ['data.json', 'application/json'],
        ['payload.bin', 'application/octet-stream'],
      ]);
      assert.equal(doc.layers[2].digest, bigDigest);
      assert.equal(doc.layers[2].size, 20 * 1024 * 1024);
      assert.equal(doc.annotations['org.example.note'], 'three files');
      assert.match(doc.annotations['org.opencontainers.image.created'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(await store.hasBlob(emptyDescriptor), 'the empty config blob is pushed');

      const out = join(dir, 'out-roundtrip');
      const pulled = await pullArtifact(store, 'v1', out);
      assert.equal(pulled.descriptor.digest, pushed.digest);
      assert.deepEqual(pulled.files, ['readme.txt', 'data.json', 'payload.bin'].map((f) => join(out, f)));
      assert.ok(readFileSync(join(out, 'readme.txt')).equals(readFileSync(join(src, 'readme.txt'))), 'readme.txt is identical');
      assert.ok(readFileSync(join(out, 'data.json')).equals(readFileSync(join(src, 'data.json'))), 'data.json is identical');
      assert.equal(sha256(readFileSync(join(out, 'payload.bin'))), bigDigest);
      assert.deepEqual(readdirSync(out).sort(), ['data.json', 'payload.bin', 'readme.txt'], 'no temporary files are left');

      // Pulling again refuses to replace anything and writes nothing; overwrite replaces.
      writeFileSync(join(out, 'readme.txt'), 'changed');
      await assert.rejects(pullArtifact(store, pushed.digest, out), FileExistsError);
      assert.equal(readFileSync(join(out, 'readme.txt'), 'utf8'), 'changed');
      await pullArtifact(store, pushed.digest, out, { overwrite: true });
      assert.equal(readFileSync(join(out, 'readme.txt'), 'utf8'), 'hello artifact\n');
      assert.deepEqual(readdirSync(out).sort(), ['data.json', 'payload.bin', 'readme.txt'], 'still no temporary files');
    });

    test('bytes inputs, a config media type, and an artifact without files carries the empty layer', async () => {
      const store = await place.store();
      const withBytes = await pushArtifact(store, {
        files: [{ bytes: Buffer.from('signature'), title: 'sig.bin', mediaType: 'application/vnd.example.sig' }],
        artifactType: 'application/vnd.example.signed',
        configMediaType: 'application/vnd.example.config.v1+json',
      });
      const doc = manifestDoc((await store.resolve(withBytes.digest)).bytes);
      assert.deepEqual(doc.config, { mediaType: 'application/vnd.example.config.v1+json', digest: emptyDescriptor.digest, size: 2 });
      assert.equal(doc.layers[0].mediaType, 'application/vnd.example.sig');

      const empty = await pushArtifact(store, { files: [], artifactType: 'application/vnd.example.note', annotations: { 'org.opencontainers.image.created': '2020-01-01T00:00:00Z' }, tag: 'note' });
      const emptyDoc = manifestDoc((await store.resolve('note')).bytes);
      assert.deepEqual(emptyDoc.layers, [{ mediaType: emptyDescriptor.mediaType, digest: emptyDescriptor.digest, size: 2, data: 'e30=' }]);
      assert.equal(emptyDoc.annotations['org.opencontainers.image.created'], '2020-01-01T00:00:00Z', 'a given created annotation is kept');
      // Same input, same bytes: the digest is reproducible.
      const again = await pushArtifact(store, { files: [], artifactType: 'application/vnd.example.note', annotations: { 'org.opencontainers.image.created': '2020-01-01T00:00:00Z' } });
      assert.equal(again.digest, empty.digest);
    });

    test('attach two artifacts to an image, list its referrers with and without an artifactType filter', async () => {
      const store = await place.store();
      const image = await pushPlatformImage(store, { architecture: 'amd64', tag: 'app' });
      const sbom = await attach(store, 'app', { files: [{ bytes: Buffer.from('{"spdx":true}'), title: 'sbom.spdx.json', mediaType: 'application/spdx+json' }], artifactType: 'application/spdx+json' });
      const sig = await attach(store, image.digest, { files: [{ bytes: Buffer.from('sig'), title: 'sig' }], artifactType: 'application/vnd.example.sig', annotations: { 'org.example.signer': 'me' } });
      const sbomDoc = manifestDoc((await store.resolve(sbom.digest)).bytes);
      assert.deepEqual(sbomDoc.subject, { mediaType: image.mediaType, digest: image.digest, size: image.size });

      const all = await listReferrers(store, 'app');
      assert.deepEqual(all.subject, { mediaType: image.mediaType, digest: image.digest, size: image.size });
      assert.deepEqual(all.referrers.map((d) => d.digest), [sbom.digest, sig.digest].sort());
      const sigEntry = all.referrers.find((d) => d.digest === sig.digest)!;
      assert.equal(sigEntry.artifactType, 'application/vnd.example.sig');
      assert.equal(sigEntry.annotations?.['org.example.signer'], 'me');

      const onlySbom = await listReferrers(store, image.digest, { artifactType: 'application/spdx+json' });
      assert.deepEqual(onlySbom.referrers.map((d) => d.digest), [sbom.digest]);
      assert.deepEqual((await listReferrers(store, 'app', { artifactType: 'application/vnd.none' })).referrers, []);

      // Referrers of the referrer: none yet, then one (chains work).
      assert.deepEqual((await listReferrers(store, sig.digest)).referrers, []);
      const counter = await attach(store, sig.digest, { files: [], artifactType: 'application/vnd.example.countersig' });
      assert.deepEqual((await listReferrers(store, sig.digest)).referrers.map((d) => d.digest), [counter.digest]);

      if (name === 'reference') {
        // Distribution 2.8 has no referrers API: the store kept the referrers tag schema up to date.
        const tags = await store.tags();
        assert.ok(tags.includes(`sha256-${image.digest.slice(7)}`), `the referrers tag of the image is there (${tags.join(', ')})`);
      }
    });

    test('error paths: bad titles, untitled layers, missing references, an index, a bad artifactType or tag', async () => {
      const store = await place.store();
      for (const title of ['a/b', '..', '.', '', 'x\0y', '/etc/passwd', 'dir\\file']) {
        await assert.rejects(pushArtifact(store, { files: [{ bytes: Buffer.from('x'), title }], artifactType: 'application/vnd.example' }), UnsafeTitleError, `title ${JSON.stringify(title)}`);
      }
      await assert.rejects(
        pushArtifact(store, { files: [{ bytes: Buffer.from('x'), title: 'same' }, { bytes: Buffer.from('y'), title: 'same' }], artifactType: 'application/vnd.example' }),
        /two files would have the title "same"/,
      );
      await assert.rejects(pushArtifact(store, { files: [], artifactType: 'not a media type' }), /artifactType "not a media type" is not a media type/);
      await assert.rejects(pushArtifact(store, { files: [], artifactType: 'application/x', tag: 'bad tag' }), /invalid tag "bad tag"/);
      await assert.rejects(pushArtifact(store, { files: [{ path: join(dir, 'does-not-exist') }], artifactType: 'application/x' }), /ENOENT/);

      // Manifests written by someone else: a title that escapes, and a layer without a title.
      const evil = await pushBlobBytes(store, Buffer.from('evil'), 'application/octet-stream', { 'org.opencontainers.image.title': '../evil' });
      const plain = await pushBlobBytes(store, Buffer.from('untitled'), 'application/octet-stream');
      const config = await pushBlobBytes(store, Buffer.from('{}'), MediaType.ociEmpty);
      await pushRawManifest(store, { schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: 'application/x', config, layers: [evil] }, 'evil');
      await pushRawManifest(store, { schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: 'application/x', config, layers: [plain] }, 'plain');
      const out = join(dir, `out-errors-${name}`);
      await assert.rejects(pullArtifact(store, 'evil', out), UnsafeTitleError);
      assert.ok(!existsSync(join(dir, 'evil')), 'nothing escaped the output directory');
      await assert.rejects(pullArtifact(store, 'plain', out), (e: unknown) => e instanceof InvalidContentError && /no org.opencontainers.image.title/.test((e as Error).message));
      const all = await pullArtifact(store, 'plain', out, { allLayers: true });
      assert.deepEqual(all.files, [join(out, plain.digest.replace(':', '-'))]);
      assert.equal(readFileSync(all.files[0]!, 'utf8'), 'untitled');

      await assert.rejects(pullArtifact(store, 'missing', out), (e: unknown) => isNotFound(e));
      await assert.rejects(attach(store, 'missing', { files: [], artifactType: 'application/x' }), (e: unknown) => isNotFound(e));
      await assert.rejects(listReferrers(store, 'missing'), (e: unknown) => isNotFound(e));

      const image = await pushPlatformImage(store, { architecture: 'amd64' });
      await pushRawManifest(store, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: image.mediaType, digest: image.digest, size: image.size }] }, 'idx');
      await assert.rejects(pullArtifact(store, 'idx', out), /is an index/);
    });
  });
}

test('a file that changes between hashing and pushing is refused by the sink', async () => {
  const dir = tempDir('wharf-ops-artifact-change-');
  try {
    const path = join(dir, 'f.bin');
    writeFileSync(path, 'before');
    const store: ContentStore = new MemoryStore();
    let hashed = false;
    // The first event comes after every file was hashed and before any layer is pushed.
    await assert.rejects(
      pushArtifact(store, {
        files: [{ path }],
        artifactType: 'application/x',
        onEvent: (e) => {
          if (!hashed && e.type === 'blob-done') {
            hashed = true;
            writeFileSync(path, 'after!');
          }
        },
      }),
      /digest mismatch/,
    );
    assert.deepEqual(await store.tags(), []);
  } finally {
    removeDir(dir);
  }
});

test('a layer whose stored bytes are corrupt fails the pull at its end and leaves no file behind', async () => {
  const dir = tempDir('wharf-ops-artifact-corrupt-');
  try {
    const layout = await openLayout(join(dir, 'layout'), { create: true });
    const good = randomData(300_000);
    await pushArtifact(layout, { files: [{ bytes: Buffer.from('fine'), title: 'a.txt' }, { bytes: good, title: 'b.bin' }], artifactType: 'application/x', tag: 'v1' });
    await layout.close();
    const bad = Buffer.from(good);
    bad[150_000] = bad[150_000]! ^ 0xff;
    writeFileSync(layout.blobPath(sha256(good)), bad);
    const out = join(dir, 'out');
    await assert.rejects(pullArtifact(await openLayout(join(dir, 'layout')), 'v1', out), DigestMismatchError);
    assert.deepEqual(readdirSync(out), ['a.txt'], 'the corrupt file was neither moved into place nor left as a temporary file');
  } finally {
    removeDir(dir);
  }
});

test('an aborted push stops and tags nothing', async () => {
  const store = new MemoryStore();
  const controller = new AbortController();
  controller.abort(new Error('stop'));
  await assert.rejects(pushArtifact(store, { files: [{ bytes: Buffer.from('x'), title: 'x' }], artifactType: 'application/x', tag: 'v1', signal: controller.signal }), /stop/);
  assert.deepEqual(await store.tags(), []);
});
