// OciLayoutStore on real directories: opening and creating layouts, blob and manifest pushes (verified,
// atomic, concurrent), index.json rules (tags, replacement, untagged roots, unknown fields), referrers,
// corruption detected on read, and a round trip through MemoryStore.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType, type Descriptor } from '../../src/oci/index.js';
import {
  ClientError,
  ContentNotFoundError,
  DigestMismatchError,
  MemoryStore,
  isNotFound,
  openLayout,
  type ContentSink,
  type ContentSource,
  type ManifestBytes,
} from '../../src/client/index.js';
import { buildImage, readAll, removeDir, sha256, tempDir, type Image } from './helpers.js';

const REF = 'org.opencontainers.image.ref.name';

function blobDescriptor(data: Buffer, mediaType = 'application/octet-stream'): Descriptor {
  return { mediaType, digest: sha256(data), size: data.length };
}

function source(data: Buffer): (offset: number) => Promise<Readable> {
  return async (offset) => Readable.from([data.subarray(offset)]);
}

function manifestOf(image: Image): ManifestBytes {
  return { digest: image.digest, mediaType: MediaType.ociManifest, bytes: image.manifest };
}

async function pushImage(sink: ContentSink, image: Image, opts: { tag?: string; root?: boolean } = {}): Promise<void> {
  await sink.pushBlob(blobDescriptor(image.config, MediaType.ociConfig), source(image.config));
  for (const l of image.layers) await sink.pushBlob(blobDescriptor(l), source(l));
  await sink.pushManifest(manifestOf(image), { root: opts.root ?? true, ...(opts.tag !== undefined ? { tag: opts.tag } : {}) });
}

function indexJson(dir: string): { manifests: Record<string, unknown>[] } & Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
}

function blobFiles(dir: string): string[] {
  const root = join(dir, 'blobs', 'sha256');
  return existsSync(root) ? readdirSync(root).sort() : [];
}

/** Files a push may leave behind by mistake: temp files in the layout root. */
function strayFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => !['blobs', 'index.json', 'oci-layout'].includes(n));
}

async function rejectsWith(p: Promise<unknown>, cls: new (...args: never[]) => Error, pattern?: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${String(caught)}`);
  if (pattern) assert.match((caught as Error).message, pattern);
  return caught as Error;
}

describe('openLayout', () => {
  let work: string;
  before(() => {
    work = tempDir('wharf-layout-open-');
  });
  after(() => removeDir(work));

  test('creates a layout in a missing directory only when asked', async () => {
    const dir = join(work, 'new');
    await rejectsWith(openLayout(dir), ClientError, /does not exist/);
    assert.equal(existsSync(dir), false);
    const store = await openLayout(dir, { create: true });
    assert.equal(store.kind, 'layout');
    assert.equal(store.name, `oci:${dir}`);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    assert.deepEqual(indexJson(dir).manifests, []);
    assert.equal(indexJson(dir).schemaVersion, 2);
    assert.ok(existsSync(join(dir, 'blobs')), 'blobs/ exists');
    assert.deepEqual(await store.tags(), []);
  });

  test('creates a layout in an empty directory with create, refuses without', async () => {
    const dir = join(work, 'empty');
    mkdirSync(dir);
    await rejectsWith(openLayout(dir), ClientError, /empty directory, not an OCI image layout/);
    await openLayout(dir, { create: true });
    assert.ok(existsSync(join(dir, 'oci-layout')), 'oci-layout written');
  });

  test('refuses a directory that holds other things, even with create', async () => {
    const dir = join(work, 'other');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    await rejectsWith(openLayout(dir, { create: true }), ClientError, /is not an OCI image layout: it has no oci-layout file/);
    assert.deepEqual(readdirSync(dir), ['notes.txt']);
  });

  test('refuses a file, a wrong layout version, a missing or corrupt index.json (naming the file)', async () => {
    const file = join(work, 'file');
    writeFileSync(file, 'x');
    await rejectsWith(openLayout(file, { create: true }), ClientError, /is not a directory/);

    const v2 = join(work, 'v2');
    mkdirSync(v2);
    writeFileSync(join(v2, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    writeFileSync(join(v2, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    await rejectsWith(openLayout(v2), ClientError, /unsupported imageLayoutVersion "2\.0\.0"/);

    const noIndex = join(work, 'no-index');
    mkdirSync(noIndex);
    writeFileSync(join(noIndex, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await rejectsWith(openLayout(noIndex), ClientError, /index\.json is missing/);

    for (const [name, text, why] of [
      ['not-json', '{"schemaVersion":2,', /not JSON/],
      ['array', '[]', /not a JSON object/],
      ['schema', '{"schemaVersion":1,"manifests":[]}', /schemaVersion must be 2/],
      ['manifests', '{"schemaVersion":2,"manifests":{}}', /manifests must be an array/],
      ['entry', '{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"sha256:../../etc/passwd","size":1}]}', /digest/],
    ] as const) {
      const dir = join(work, `corrupt-${name}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      writeFileSync(join(dir, 'index.json'), text);
      const e = await rejectsWith(openLayout(dir), ClientError, why);
      assert.ok(e.message.includes(join(dir, 'index.json')), `the message names the file: ${e.message}`);
    }
  });
});

describe('OciLayoutStore blobs', () => {
  let work: string;
  before(() => {
    work = tempDir('wharf-layout-blobs-');
  });
  after(() => removeDir(work));

  test('pushBlob stores verified bytes at blobs/<alg>/<hex>; a second push says it existed', async () => {
    const dir = join(work, 'a');
    const store = await openLayout(dir, { create: true });
    const data = Buffer.from('some blob content');
    const d = blobDescriptor(data);
    assert.equal(await store.hasBlob(d), false);
    const progress: number[] = [];
    assert.deepEqual(await store.pushBlob(d, source(data), { onProgress: (n) => progress.push(n) }), { existed: false, mounted: false });
    assert.deepEqual(progress, [data.length]);
    assert.deepEqual(readFileSync(join(dir, 'blobs', 'sha256', d.digest.slice(7))), data);
    assert.equal(await store.hasBlob(d), true);
    assert.deepEqual(await readAll(await store.fetchBlob(d)), data);
    let opened = 0;
    const again = await store.pushBlob(d, async () => {
      opened += 1;
      return Readable.from([data]);
    });
    assert.deepEqual(again, { existed: true, mounted: false });
    assert.equal(opened, 0);
    assert.deepEqual(strayFiles(dir), []);
  });

  test('a push of wrong bytes fails and leaves nothing, in blobs/ or beside them', async () => {
    const dir = join(work, 'b');
    const store = await openLayout(dir, { create: true });
    const data = Buffer.from('the real content');
    const d = blobDescriptor(data);
    await rejectsWith(store.pushBlob(d, source(Buffer.from('the fake content'))), DigestMismatchError);
    await rejectsWith(store.pushBlob(d, source(Buffer.from('short'))), ClientError, /size mismatch/);
    await rejectsWith(store.pushBlob(d, source(Buffer.concat([data, Buffer.from('more')]))), ClientError, /size mismatch/);
    assert.deepEqual(blobFiles(dir), []);
    assert.deepEqual(strayFiles(dir), []);
    assert.equal(await store.hasBlob(d), false);
  });

  test('an aborted push and a failing source leave no file', async () => {
    const dir = join(work, 'c');
    const store = await openLayout(dir, { create: true });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const total = Buffer.concat(Array.from({ length: 8 }, () => chunk));
    const d = blobDescriptor(total);
    const controller = new AbortController();
    const slow = async () =>
      Readable.from(
        (async function* () {
          for (let i = 0; i < 8; i += 1) {
            if (i === 3) controller.abort();
            yield chunk;
          }
        })(),
      );
    await assert.rejects(store.pushBlob(d, slow, { signal: controller.signal }), (e: Error) => e.name === 'AbortError');
    const failing = async () =>
      Readable.from(
        (async function* () {
          yield chunk;
          throw new Error('connection reset');
        })(),
      );
    await assert.rejects(store.pushBlob(d, failing), /connection reset/);
    assert.deepEqual(blobFiles(dir), []);
    assert.deepEqual(strayFiles(dir), []);
  });

  test('two pushes of the same blob at once both succeed', async () => {
    const dir = join(work, 'd');
    const store = await openLayout(dir, { create: true });
    const data = Buffer.alloc(300 * 1024, 3);
    const d = blobDescriptor(data);
    const chunked = async () => Readable.from(Array.from({ length: 30 }, (_, i) => data.subarray(i * 10240, (i + 1) * 10240)));
    const results = await Promise.all([store.pushBlob(d, chunked), store.pushBlob(d, chunked), store.pushBlob(d, chunked)]);
    assert.equal(results.length, 3);
    assert.deepEqual(blobFiles(dir), [d.digest.slice(7)]);
    assert.deepEqual(await readAll(await store.fetchBlob(d)), data);
    assert.deepEqual(strayFiles(dir), []);
  });

  test('fetchBlob: missing is ContentNotFoundError, corrupt content fails the stream', async () => {
    const dir = join(work, 'e');
    const store = await openLayout(dir, { create: true });
    const data = Buffer.from('content to be corrupted');
    const d = blobDescriptor(data);
    const e = await rejectsWith(store.fetchBlob(d), ContentNotFoundError, /no blob/);
    assert.ok(isNotFound(e), 'isNotFound');
    await store.pushBlob(d, source(data));
    writeFileSync(join(dir, 'blobs', 'sha256', d.digest.slice(7)), Buffer.from('content to be CORRUPTED'));
    await rejectsWith(readAll(await store.fetchBlob(d)), DigestMismatchError);
    await rejectsWith(readAll(await store.fetchBlob({ ...d, size: d.size - 1 })), ClientError, /size mismatch/);
  });

  test('digests that are not digests never become paths', async () => {
    const store = await openLayout(join(work, 'f'), { create: true });
    for (const digest of ['sha256:../../../etc/passwd', 'md5:abc', 'sha256:' + 'A'.repeat(64), '../x']) {
      await rejectsWith(store.fetchBlob({ mediaType: 'a/b', digest, size: 1 }), ClientError);
      await rejectsWith(store.hasBlob({ mediaType: 'a/b', digest, size: 1 }), ClientError);
    }
  });
});

describe('OciLayoutStore manifests and index.json', () => {
  let work: string;
  before(() => {
    work = tempDir('wharf-layout-manifests-');
  });
  after(() => removeDir(work));

  test('a tagged root is listed with ref.name and its platform; resolve by tag and by digest give the exact bytes', async () => {
    const dir = join(work, 'a');
    const store = await openLayout(dir, { create: true });
    const image = buildImage({ annotations: { 'org.example.note': 'hi' } });
    await pushImage(store, image, { tag: 'v1' });
    const entries = indexJson(dir).manifests;
    assert.deepEqual(entries, [
      {
        mediaType: MediaType.ociManifest,
        digest: image.digest,
        size: image.manifest.length,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'org.example.note': 'hi', [REF]: 'v1' },
      },
    ]);
    const byTag = await store.resolve('v1');
    assert.deepEqual(byTag, { digest: image.digest, mediaType: MediaType.ociManifest, bytes: image.manifest });
    const byDigest = await store.resolve(image.digest);
    assert.deepEqual(byDigest.bytes, image.manifest);
    assert.equal(byDigest.mediaType, MediaType.ociManifest);
    const fetched = await store.fetchManifest({ mediaType: MediaType.ociManifest, digest: image.digest, size: image.manifest.length });
    assert.deepEqual(fetched.bytes, image.manifest);
    assert.equal(await store.hasManifest({ mediaType: MediaType.ociManifest, digest: image.digest, size: image.manifest.length }), true);
    assert.deepEqual(readFileSync(join(dir, 'blobs', 'sha256', image.digest.slice(7))), image.manifest);
    assert.deepEqual(await store.tags(), ['v1']);
  });

  test('missing tags and digests are ContentNotFoundError; a layer blob is not a manifest', async () => {
    const store = await openLayout(join(work, 'b'), { create: true });
    const image = buildImage();
    await pushImage(store, image, { tag: 'v1' });
    const e = await rejectsWith(store.resolve('nope'), ContentNotFoundError, /no manifest tagged "nope".*tags: v1/);
    assert.equal((e as ContentNotFoundError).code, 'MANIFEST_UNKNOWN');
    await rejectsWith(store.resolve(sha256('nothing')), ContentNotFoundError);
    await rejectsWith(store.resolve(sha256(image.layers[0]!)), ContentNotFoundError, /is not a manifest/);
    await rejectsWith(store.fetchManifest({ mediaType: MediaType.ociManifest, digest: sha256('x'), size: 1 }), ContentNotFoundError);
  });

  test('a corrupt manifest blob is detected on read', async () => {
    const dir = join(work, 'c');
    const store = await openLayout(dir, { create: true });
    const image = buildImage();
    await pushImage(store, image, { tag: 'v1' });
    writeFileSync(join(dir, 'blobs', 'sha256', image.digest.slice(7)), Buffer.from(image.manifest.toString().replace('"schemaVersion":2', '"schemaVersion":3')));
    await rejectsWith(store.resolve('v1'), DigestMismatchError);
    await rejectsWith(store.resolve(image.digest), DigestMismatchError);
    await rejectsWith(store.fetchManifest({ mediaType: MediaType.ociManifest, digest: image.digest, size: image.manifest.length }), DigestMismatchError);
  });

  test('pushManifest refuses bytes that do not match the digest, invalid tags and invalid root manifests', async () => {
    const dir = join(work, 'd');
    const store = await openLayout(dir, { create: true });
    const image = buildImage();
    await rejectsWith(store.pushManifest({ ...manifestOf(image), digest: sha256('other') }, { root: true }), DigestMismatchError);
    await rejectsWith(store.pushManifest(manifestOf(image), { root: true, tag: '../evil' }), ClientError, /invalid tag/);
    await rejectsWith(store.pushManifest(manifestOf(image), { root: true, tag: '' }), ClientError, /invalid tag/);
    const junk = Buffer.from('{"hello":"world"}');
    await rejectsWith(store.pushManifest({ digest: sha256(junk), mediaType: MediaType.ociManifest, bytes: junk }, { root: true, tag: 'x' }), ClientError, /is invalid/);
    assert.deepEqual(indexJson(dir).manifests, []);
    assert.deepEqual(strayFiles(dir), []);
  });

  test('retagging replaces the entry that held the tag; an entry keeps living under its other tags', async () => {
    const dir = join(work, 'e');
    const store = await openLayout(dir, { create: true });
    const a = buildImage();
    const b = buildImage();
    await pushImage(store, a, { tag: 'latest' });
    await pushImage(store, a, { tag: 'v1' });
    await pushImage(store, b, { tag: 'latest' });
    const entries = indexJson(dir).manifests.map((e) => [e.digest, (e.annotations as Record<string, string>)[REF]]);
    assert.deepEqual(entries, [
      [b.digest, 'latest'],
      [a.digest, 'v1'],
    ]);
    assert.equal((await store.resolve('latest')).digest, b.digest);
    assert.equal((await store.resolve('v1')).digest, a.digest);
    // moving v1 onto b: a is no longer a root; its blobs stay
    await pushImage(store, b, { tag: 'v1' });
    assert.deepEqual(
      indexJson(dir).manifests.map((e) => [e.digest, (e.annotations as Record<string, string>)[REF]]),
      [
        [b.digest, 'latest'],
        [b.digest, 'v1'],
      ],
    );
    assert.equal((await store.resolve(a.digest)).digest, a.digest);
    // pushing the same tag again changes nothing
    const before = readFileSync(join(dir, 'index.json'));
    await pushImage(store, b, { tag: 'v1' });
    assert.deepEqual(readFileSync(join(dir, 'index.json')), before);
    assert.deepEqual(await store.tags(), ['latest', 'v1']);
    // untag drops the entry; the manifest stays resolvable by digest
    assert.equal(await store.untag('latest'), true);
    assert.equal(await store.untag('latest'), false);
    assert.deepEqual(await store.tags(), ['v1']);
    assert.deepEqual(indexJson(dir).manifests.map((e) => (e.annotations as Record<string, string>)[REF]), ['v1']);
    assert.equal((await store.resolve(b.digest)).digest, b.digest);
  });

  test('untagged roots are listed once, without ref.name; tagging one replaces its untagged entry', async () => {
    const dir = join(work, 'f');
    const store = await openLayout(dir, { create: true });
    const a = buildImage();
    await pushImage(store, a);
    await pushImage(store, a);
    assert.deepEqual(indexJson(dir).manifests, [{ mediaType: MediaType.ociManifest, digest: a.digest, size: a.manifest.length, platform: { architecture: 'amd64', os: 'linux' } }]);
    await pushImage(store, a, { tag: 't' });
    assert.deepEqual(
      indexJson(dir).manifests.map((e) => e.annotations),
      [{ [REF]: 't' }],
    );
    await pushImage(store, a);
    assert.equal(indexJson(dir).manifests.length, 1);
    assert.deepEqual(await store.tags(), ['t']);
  });

  test('children (root: false) are blobs only and resolve by digest', async () => {
    const dir = join(work, 'g');
    const store = await openLayout(dir, { create: true });
    const child = buildImage();
    await pushImage(store, child, { root: false });
    assert.deepEqual(indexJson(dir).manifests, []);
    assert.deepEqual((await store.resolve(child.digest)).bytes, child.manifest);
    // a manifest without a mediaType field, pushed as a child and read by a fresh store: its shape tells
    const bare = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: MediaType.ociConfig, digest: sha256(child.config), size: child.config.length }, layers: [] }));
    await store.pushManifest({ digest: sha256(bare), mediaType: MediaType.ociManifest, bytes: bare }, { root: false });
    const reopened = await openLayout(dir);
    assert.equal((await reopened.resolve(sha256(bare))).mediaType, MediaType.ociManifest);
  });

  test('an index root lists its children as blobs; artifactType and annotations reach index.json', async () => {
    const dir = join(work, 'h');
    const store = await openLayout(dir, { create: true });
    const amd = buildImage();
    await pushImage(store, amd, { root: false });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        artifactType: 'application/vnd.example.bundle',
        manifests: [{ mediaType: MediaType.ociManifest, digest: amd.digest, size: amd.manifest.length, platform: { architecture: 'amd64', os: 'linux' } }],
        annotations: { [REF]: 'must-not-become-a-tag', 'org.example': 'x' },
      }),
    );
    await store.pushManifest({ digest: sha256(index), mediaType: MediaType.ociIndex, bytes: index }, { root: true, tag: 'multi' });
    assert.deepEqual(indexJson(dir).manifests, [
      {
        mediaType: MediaType.ociIndex,
        digest: sha256(index),
        size: index.length,
        artifactType: 'application/vnd.example.bundle',
        annotations: { 'org.example': 'x', [REF]: 'multi' },
      },
    ]);
    assert.deepEqual(await store.tags(), ['multi']);
    assert.equal((await store.resolve('multi')).mediaType, MediaType.ociIndex);
  });

  test('unknown fields of an existing index.json and its entries are kept', async () => {
    const dir = join(work, 'i');
    const store = await openLayout(dir, { create: true });
    const a = buildImage();
    await pushImage(store, a, { tag: 'keep' });
    const doc = indexJson(dir);
    doc['org.example.top'] = { any: 1 };
    doc.annotations = { 'org.example.index': 'yes' };
    doc.manifests[0]!['x-extra'] = true;
    writeFileSync(join(dir, 'index.json'), JSON.stringify(doc));
    const reopened = await openLayout(dir);
    await pushImage(reopened, a, { tag: 'keep' });
    await pushImage(reopened, buildImage(), { tag: 'other' });
    await reopened.close();
    const after = indexJson(dir);
    assert.deepEqual(after['org.example.top'], { any: 1 });
    assert.deepEqual(after.annotations, { 'org.example.index': 'yes' });
    assert.equal(after.manifests[0]!['x-extra'], true);
    assert.equal(after.manifests.length, 2);
    assert.deepEqual(strayFiles(dir), []);
  });

  test('ref names written by other tools (wider than registry tags) are read', async () => {
    const dir = join(work, 'j');
    const store = await openLayout(dir, { create: true });
    const a = buildImage();
    await pushImage(store, a, { tag: 'v1' });
    const doc = indexJson(dir);
    doc.manifests.push({ ...doc.manifests[0]!, annotations: { [REF]: 'example.com/app:1.0' } });
    writeFileSync(join(dir, 'index.json'), JSON.stringify(doc));
    const reopened = await openLayout(dir);
    assert.deepEqual(await reopened.tags(), ['example.com/app:1.0', 'v1']);
    assert.equal((await reopened.resolve('example.com/app:1.0')).digest, a.digest);
  });

  test('a tag listed in index.json whose manifest blob is missing is ContentNotFoundError naming the problem', async () => {
    const dir = join(work, 'k');
    const store = await openLayout(dir, { create: true });
    const a = buildImage();
    await pushImage(store, a, { tag: 'gone' });
    removeDir(join(dir, 'blobs', 'sha256', a.digest.slice(7)));
    await rejectsWith(store.resolve('gone'), ContentNotFoundError, /lists it as "gone" but blobs\/ lacks it/);
  });
});

describe('OciLayoutStore referrers', () => {
  let work: string;
  before(() => {
    work = tempDir('wharf-layout-referrers-');
  });
  after(() => removeDir(work));

  test('untagged artifacts with a subject are roots without ref.name and are found, with the artifactType filter', async () => {
    const dir = join(work, 'a');
    const store = await openLayout(dir, { create: true });
    const image = buildImage();
    await pushImage(store, image, { tag: 'app' });
    const subject = { mediaType: MediaType.ociManifest, digest: image.digest, size: image.manifest.length };
    const sbom = buildImage({ subject, artifactType: 'application/vnd.example.sbom', annotations: { 'org.example.kind': 'sbom' } });
    const sig = buildImage({ subject, artifactType: 'application/vnd.example.sig' });
    await pushImage(store, sbom);
    await pushImage(store, sig);
    const listed = indexJson(dir).manifests;
    assert.equal(listed.length, 3);
    const sbomEntry = listed.find((e) => e.digest === sbom.digest)!;
    assert.deepEqual(sbomEntry.annotations, { 'org.example.kind': 'sbom' });
    assert.equal(sbomEntry.artifactType, 'application/vnd.example.sbom');
    assert.deepEqual(await store.tags(), ['app']);

    const all = await store.referrers(image.digest);
    const expected = [
      { mediaType: MediaType.ociManifest, digest: sbom.digest, size: sbom.manifest.length, artifactType: 'application/vnd.example.sbom', annotations: { 'org.example.kind': 'sbom' } },
      { mediaType: MediaType.ociManifest, digest: sig.digest, size: sig.manifest.length, artifactType: 'application/vnd.example.sig' },
    ].sort((x, y) => (x.digest < y.digest ? -1 : 1));
    assert.deepEqual(all, expected);
    assert.deepEqual(
      (await store.referrers(image.digest, { artifactType: 'application/vnd.example.sig' })).map((d) => d.digest),
      [sig.digest],
    );
    assert.deepEqual(await store.referrers(sbom.digest), []);
  });

  test('referrers reached through an index root are found; unreachable blobs are not scanned', async () => {
    const dir = join(work, 'b');
    const store = await openLayout(dir, { create: true });
    const image = buildImage();
    await pushImage(store, image, { root: false });
    const subject = { mediaType: MediaType.ociManifest, digest: image.digest, size: image.manifest.length };
    const att = buildImage({ subject, artifactType: 'application/vnd.example.att' });
    await pushImage(store, att, { root: false });
    const loose = buildImage({ subject, artifactType: 'application/vnd.example.loose' });
    await pushImage(store, loose, { root: false });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [subject, { mediaType: MediaType.ociManifest, digest: att.digest, size: att.manifest.length }],
      }),
    );
    await store.pushManifest({ digest: sha256(index), mediaType: MediaType.ociIndex, bytes: index }, { root: true, tag: 'idx' });
    assert.deepEqual((await store.referrers(image.digest)).map((d) => d.digest), [att.digest]);
  });
});

/** Copies `ref` (an image manifest) from one store to another, the way copy ops will. */
async function copyImage(from: ContentSource, to: ContentSink, ref: string, tag: string): Promise<string> {
  const m = await from.resolve(ref);
  const doc = JSON.parse(m.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
  for (const d of [doc.config, ...doc.layers]) await to.pushBlob(d, async () => from.fetchBlob(d));
  await to.pushManifest(m, { root: true, tag });
  await to.close();
  return m.digest;
}

describe('OciLayoutStore and MemoryStore', () => {
  let work: string;
  before(() => {
    work = tempDir('wharf-layout-memory-');
  });
  after(() => removeDir(work));

  test('memory → layout → (reopened) → memory keeps every byte and digest', async () => {
    const mem = new MemoryStore();
    const image = buildImage({ layers: [Buffer.alloc(200_000, 1), Buffer.from('second layer')] });
    await pushImage(mem, image, { tag: 'src' });
    const dir = join(work, 'rt');
    const layout = await openLayout(dir, { create: true });
    assert.equal(await copyImage(mem, layout, 'src', 'copied'), image.digest);
    const reopened = await openLayout(dir);
    const back = new MemoryStore();
    assert.equal(await copyImage(reopened, back, 'copied', 'back'), image.digest);
    const m = await back.resolve('back');
    assert.deepEqual(m.bytes, image.manifest);
    for (const [i, l] of image.layers.entries()) {
      assert.deepEqual(await readAll(await back.fetchBlob(blobDescriptor(l))), l, `layer ${i}`);
    }
    assert.deepEqual(await readAll(await back.fetchBlob(blobDescriptor(image.config))), image.config);
  });
});
