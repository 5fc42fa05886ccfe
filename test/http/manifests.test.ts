// PUT / GET / HEAD / DELETE /v2/<name>/manifests/<reference>: the four manifest formats, byte-exact storage,
// validation errors, content negotiation, multi-tag pushes, deletion by tag and by digest, and subject.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_VERSION,
  MT,
  absentDigest,
  buildImage,
  buildIndex,
  call,
  useTestRegistry,
  descriptorOf,
  expectError,
  expectRawError,
  expectStatus,
  getJSON,
  header,
  headValue,
  locationOf,
  pushBlob,
  pushImage,
  pushManifest,
  putManifest,
  randomData,
  raw,
  rawExchange,
  sha256,
  sha512,
  uniqueName,
  uniqueTag,
  type PushedImage,
} from './helpers.js';

let base = '';
useTestRegistry((url) => (base = url));

/** GET a manifest, asserting 200 with exactly `body`, its media type and digest. */
async function assertServed(name: string, reference: string, body: Buffer, mediaType: string, digest = sha256(body)): Promise<void> {
  const res = await call(base, 'GET', `/v2/${name}/manifests/${reference}`, { headers: { Accept: mediaType } });
  await expectStatus(res, 200, `GET ${name}:${reference}`);
  assert.equal(res.headers.get('content-type'), mediaType, `Content-Type of ${name}:${reference}`);
  assert.equal(res.headers.get('docker-content-digest'), digest, `Docker-Content-Digest of ${name}:${reference}`);
  assert.equal(res.headers.get('content-length'), String(body.length), `Content-Length of ${name}:${reference}`);
  const got = Buffer.from(await res.arrayBuffer());
  assert.ok(got.equals(body), `${name}:${reference} is served byte for byte`);
}

async function assertNoManifest(name: string, reference: string): Promise<void> {
  await expectError(await call(base, 'GET', `/v2/${name}/manifests/${reference}`), 404, 'MANIFEST_UNKNOWN', `GET ${name}:${reference}`);
}

async function tagsOf(name: string): Promise<string[]> {
  const { body } = await getJSON<{ tags: string[] }>(base, `/v2/${name}/tags/list`);
  return body.tags ?? [];
}

describe('PUT then GET, each manifest format', () => {
  test('OCI image manifest by tag: 201 with Location and Docker-Content-Digest; served by tag, digest and Location', async () => {
    const name = uniqueName('oci');
    const image = buildImage();
    await pushBlob(base, name, image.configData);
    await pushBlob(base, name, image.layerData[0]!);
    const res = await putManifest(base, name, 'v1', image.body, MT.ociManifest);
    await expectStatus(res, 201, 'PUT manifest');
    assert.equal(res.headers.get('docker-content-digest'), image.digest);
    const loc = locationOf(base, res);
    await res.arrayBuffer();
    await assertServed(name, 'v1', image.body, MT.ociManifest);
    await assertServed(name, image.digest, image.body, MT.ociManifest);
    const viaLocation = await call(base, 'GET', loc, { headers: { Accept: MT.ociManifest } });
    await expectStatus(viaLocation, 200, 'GET the returned Location');
    assert.ok(Buffer.from(await viaLocation.arrayBuffer()).equals(image.body), 'Buffer.from(await viaLocation.arrayBuffer()).equals(image.body)');
  });

  test('OCI image manifest by digest', async () => {
    const name = uniqueName('oci-digest');
    const image = await pushImage(base, name);
    await assertServed(name, image.digest, image.body, MT.ociManifest);
  });

  test('Docker schema2 manifest', async () => {
    const name = uniqueName('docker');
    const image = await pushImage(base, name, { docker: true, tag: 'latest', layers: 2 });
    await assertServed(name, 'latest', image.body, MT.dockerManifest);
    await assertServed(name, image.digest, image.body, MT.dockerManifest);
  });

  test('OCI image index', async () => {
    const name = uniqueName('index');
    const a = await pushImage(base, name);
    const b = await pushImage(base, name);
    const index = buildIndex([a, b]);
    const { digest, res } = await pushManifest(base, name, 'multi', index, MT.ociIndex);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    await assertServed(name, 'multi', index, MT.ociIndex);
    await assertServed(name, digest, index, MT.ociIndex);
  });

  test('Docker manifest list', async () => {
    const name = uniqueName('list');
    const a = await pushImage(base, name, { docker: true });
    const b = await pushImage(base, name, { docker: true });
    const list = buildIndex([a, b], { docker: true });
    const { digest } = await pushManifest(base, name, 'multi', list, MT.dockerManifestList);
    await assertServed(name, 'multi', list, MT.dockerManifestList);
    await assertServed(name, digest, list, MT.dockerManifestList);
  });

  test('an index holding an unknown/unknown attestation manifest is accepted', async () => {
    const name = uniqueName('attest');
    const image = await pushImage(base, name);
    const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2' }));
    const attestation = await pushImage(base, name, {
      layers: [statement],
      annotations: { 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
    });
    const index = buildIndex([
      { ...image, platform: { architecture: 'amd64', os: 'linux' } },
      {
        ...attestation,
        platform: { architecture: 'unknown', os: 'unknown' },
        annotations: { 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      },
    ]);
    await pushManifest(base, name, 'attested', index, MT.ociIndex);
    await assertServed(name, 'attested', index, MT.ociIndex);
  });

  test('an OCI artifact with the empty config and an artifactType', async () => {
    const name = uniqueName('artifact');
    const image = await pushImage(base, name, {
      configMediaType: MT.ociEmpty,
      configData: Buffer.from('{}'),
      artifactType: 'application/vnd.example.thing.v1',
      layers: [Buffer.from('hello')],
    });
    await assertServed(name, image.digest, image.body, MT.ociManifest);
  });

  test('an OCI manifest without a mediaType field is stored with the Content-Type it was pushed with', async () => {
    const name = uniqueName('no-mediatype');
    const config = Buffer.from('{"os":"linux","architecture":"amd64"}');
    await pushBlob(base, name, config);
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, config: descriptorOf(MT.ociConfig, config), layers: [] }));
    const { digest } = await pushManifest(base, name, 'bare', body, MT.ociManifest);
    await assertServed(name, 'bare', body, MT.ociManifest, digest);
  });

  test('Content-Type parameters are ignored', async () => {
    const name = uniqueName('ct-params');
    const image = buildImage();
    await pushBlob(base, name, image.configData);
    await pushBlob(base, name, image.layerData[0]!);
    const res = await putManifest(base, name, 'p', image.body, `${MT.ociManifest}; charset=utf-8`);
    await expectStatus(res, 201, 'PUT with Content-Type parameters');
    await assertServed(name, 'p', image.body, MT.ociManifest);
  });

  test('the bytes are kept exactly: whitespace, key order and escapes', async () => {
    const name = uniqueName('bytes');
    const config = Buffer.from('{"architecture":"arm64","os":"linux"}');
    const layer = randomData(33);
    await pushBlob(base, name, config);
    await pushBlob(base, name, layer);
    const c = descriptorOf(MT.ociConfig, config);
    const l = descriptorOf(MT.ociLayer, layer);
    const text =
      `{\n    "layers" : [ {"size":${l.size},   "digest":"${l.digest}","mediaType":"${l.mediaType}"} ],\n` +
      `\t"config": {"digest": "${c.digest}", "mediaType": "${c.mediaType}", "size": ${c.size}},\r\n` +
      `  "annotations": {"z": "\\u00e9t\\u00e9", "a": "été", "m": "\\/slash"},\n` +
      `  "mediaType":"${MT.ociManifest}",  "schemaVersion" :2\n}\n\n`;
    const body = Buffer.from(text, 'utf8');
    const { digest, res } = await pushManifest(base, name, 'odd', body, MT.ociManifest);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    assert.notEqual(digest, sha256(JSON.stringify(JSON.parse(text))), 'the test body is not canonical JSON');
    await assertServed(name, 'odd', body, MT.ociManifest, digest);
    await assertServed(name, digest, body, MT.ociManifest, digest);
  });

  test('pushing the same manifest again → 201 with the same digest', async () => {
    const name = uniqueName('again');
    const image = await pushImage(base, name, { tag: 'x' });
    const again = await putManifest(base, name, 'x', image.body, MT.ociManifest);
    await expectStatus(again, 201);
    assert.equal(again.headers.get('docker-content-digest'), image.digest);
    await assertServed(name, 'x', image.body, MT.ociManifest);
  });

  test('pushing another manifest to a tag moves the tag; the old manifest stays by digest', async () => {
    const name = uniqueName('retag');
    const first = await pushImage(base, name, { tag: 'moving' });
    const second = await pushImage(base, name, { tag: 'moving' });
    await assertServed(name, 'moving', second.body, MT.ociManifest);
    await assertServed(name, first.digest, first.body, MT.ociManifest);
  });

  test('tags of 1 and 128 characters and the whole tag alphabet', async () => {
    const name = uniqueName('tagchars');
    const image = await pushImage(base, name);
    for (const tag of ['a', 'A', '_', '0', 'v1.2.3-rc_1', 'Z'.repeat(128), `_${'a.b-C_9'.repeat(18)}`.slice(0, 128)]) {
      await pushManifest(base, name, tag, image.body, MT.ociManifest);
      await assertServed(name, tag, image.body, MT.ociManifest);
    }
  });
});

describe('sha512 manifests', () => {
  test('PUT by a sha512 digest → 201 with that digest; served by it', async () => {
    const name = uniqueName('m512');
    const image = buildImage();
    await pushBlob(base, name, image.configData);
    await pushBlob(base, name, image.layerData[0]!);
    const d = sha512(image.body);
    const res = await putManifest(base, name, d, image.body, MT.ociManifest);
    await expectStatus(res, 201, 'PUT by sha512');
    assert.equal(res.headers.get('docker-content-digest'), d);
    assert.equal(locationOf(base, res).pathname, `/v2/${name}/manifests/${d}`);
    await res.arrayBuffer();
    await assertServed(name, d, image.body, MT.ociManifest, d);
  });

  test('a manifest whose config and layers are sha512 blobs', async () => {
    const name = uniqueName('m512-blobs');
    const config = Buffer.from('{"os":"linux","architecture":"amd64"}');
    const layer = randomData(99);
    await pushBlob(base, name, config, 'sha512');
    await pushBlob(base, name, layer, 'sha512');
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: descriptorOf(MT.ociConfig, config, {}, 'sha512'),
        layers: [descriptorOf(MT.ociLayer, layer, {}, 'sha512')],
      }),
    );
    await pushManifest(base, name, 'five-twelve', body, MT.ociManifest);
    await assertServed(name, 'five-twelve', body, MT.ociManifest);
  });

  test('sha512 digest not matching the body → 400 DIGEST_INVALID', async () => {
    const name = uniqueName('m512-bad');
    const image = await pushImage(base, name);
    await expectError(await putManifest(base, name, sha512('other'), image.body, MT.ociManifest), 400, 'DIGEST_INVALID');
  });
});

describe('invalid manifests', () => {
  let name: string;
  let image: PushedImage;
  before(async () => {
    name = uniqueName('invalid');
    image = await pushImage(base, name);
  });

  test('Content-Type not matching the body\'s mediaType → 400 MANIFEST_INVALID', async () => {
    await expectError(await putManifest(base, name, 't1', image.body, MT.dockerManifest), 400, 'MANIFEST_INVALID', 'OCI body as Docker');
    await expectError(await putManifest(base, name, 't2', image.body, MT.ociIndex), 400, 'MANIFEST_INVALID', 'OCI manifest as OCI index');
    const docker = await pushImage(base, name, { docker: true });
    await expectError(await putManifest(base, name, 't3', docker.body, MT.ociManifest), 400, 'MANIFEST_INVALID', 'Docker body as OCI');
    const index = buildIndex([image]);
    await expectError(await putManifest(base, name, 't4', index, MT.ociManifest), 400, 'MANIFEST_INVALID', 'index as manifest');
    await expectError(await putManifest(base, name, 't5', index, MT.dockerManifestList), 400, 'MANIFEST_INVALID', 'OCI index as Docker list');
    await expectError(await putManifest(base, name, 't6', image.body, 'application/json'), 400, 'MANIFEST_INVALID', 'OCI body as application/json');
    await expectError(await putManifest(base, name, 't7', image.body, 'application/octet-stream'), 400, 'MANIFEST_INVALID', 'OCI body as application/octet-stream');
    for (const t of ['t1', 't2', 't3', 't4', 't5', 't6', 't7']) await assertNoManifest(name, t);
  });

  test('a missing config blob → 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const img = buildImage();
    await pushBlob(base, name, img.layerData[0]!);
    await expectError(await putManifest(base, name, 'noconfig', img.body, MT.ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
    await assertNoManifest(name, 'noconfig');
    await assertNoManifest(name, img.digest);
  });

  test('a missing layer blob → 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const img = buildImage({ layers: 3 });
    await pushBlob(base, name, img.configData);
    await pushBlob(base, name, img.layerData[0]!);
    await pushBlob(base, name, img.layerData[2]!);
    await expectError(await putManifest(base, name, 'nolayer', img.body, MT.ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
    await assertNoManifest(name, 'nolayer');
  });

  test('a missing blob in a Docker schema2 manifest → 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const img = buildImage({ docker: true });
    await pushBlob(base, name, img.configData);
    await expectError(await putManifest(base, name, 'dockernolayer', img.body, MT.dockerManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('blobs held only by another repository → 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const other = uniqueName('elsewhere');
    const img = buildImage();
    await pushBlob(base, other, img.configData);
    await pushBlob(base, other, img.layerData[0]!);
    await expectError(await putManifest(base, name, 'foreign', img.body, MT.ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
    // and the same manifest is fine where the blobs are
    await pushManifest(base, other, 'ok', img.body, MT.ociManifest);
  });

  // distribution-spec v1.1 ("Pushing Manifests"): a manifest refused because a descriptor (other than subject)
  // references a missing blob *or manifest* MUST be answered with MANIFEST_BLOB_UNKNOWN errors.
  test('an index whose child manifest is missing → 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const missing = buildImage();
    const index = buildIndex([image, missing]);
    await expectError(await putManifest(base, name, 'orphan', index, MT.ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
    await assertNoManifest(name, 'orphan');
    const list = buildIndex([{ ...missing, mediaType: MT.dockerManifest }], { docker: true });
    await expectError(await putManifest(base, name, 'orphan-list', list, MT.dockerManifestList), 400, 'MANIFEST_BLOB_UNKNOWN');
    await assertNoManifest(name, 'orphan-list');
  });

  test('an index entry typed as a manifest whose digest is only a blob → 400 MANIFEST_BLOB_UNKNOWN', async () => {
    // The entry claims to be an image manifest; the repository holds no manifest with that digest.
    const index = buildIndex([{ mediaType: MT.ociManifest, body: image.configData }]);
    await expectError(await putManifest(base, name, 'child-is-blob', index, MT.ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
    await assertNoManifest(name, 'child-is-blob');
  });

  test('an index whose child is only in another repository → 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const other = uniqueName('child-elsewhere');
    const child = await pushImage(base, other);
    const index = buildIndex([child]);
    await expectError(await putManifest(base, name, 'child-foreign', index, MT.ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('an index entry of a non-manifest media type: accepted when it is a blob of the repository, else MANIFEST_BLOB_UNKNOWN', async () => {
    const blob = Buffer.from('an arbitrary artifact blob');
    await pushBlob(base, name, blob);
    const ok = buildIndex([image, { mediaType: 'application/vnd.example.blob.v1', body: blob }]);
    await pushManifest(base, name, 'with-blob-entry', ok, MT.ociIndex);
    await assertServed(name, 'with-blob-entry', ok, MT.ociIndex);
    const missing = buildIndex([image, { mediaType: 'application/vnd.example.blob.v1', body: Buffer.from('never pushed') }]);
    await expectError(await putManifest(base, name, 'with-missing-entry', missing, MT.ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('schemaVersion 1 → 400 MANIFEST_INVALID mentioning schema1', async () => {
    const v1 = Buffer.from(
      JSON.stringify({ schemaVersion: 1, name, tag: 'old', architecture: 'amd64', fsLayers: [{ blobSum: image.layers[0]!.digest }], history: [{ v1Compatibility: '{}' }] }),
    );
    for (const ct of [MT.dockerSchema1Signed, 'application/vnd.docker.distribution.manifest.v1+json', 'application/json']) {
      const errors = await expectError(await putManifest(base, name, 'old', v1, ct), 400, 'MANIFEST_INVALID', `schema1 as ${ct}`);
      assert.ok(
        errors.some((e) => /schema\s*-?\s*1|schema\s*version\s*1/i.test(e.message ?? '')),
        `the message should mention schema1: ${errors.map((e) => e.message).join(' | ')}`,
      );
    }
    await assertNoManifest(name, 'old');
  });

  const malformed: [string, string][] = [
    ['not JSON', '{"schemaVersion": 2, '],
    ['empty body', ''],
    ['a JSON array', '[]'],
    ['a JSON string', '"manifest"'],
    ['null', 'null'],
    ['no schemaVersion', JSON.stringify({ mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: sha256('x'), size: 1 }, layers: [] })],
    ['schemaVersion 3', JSON.stringify({ schemaVersion: 3, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: sha256('x'), size: 1 }, layers: [] })],
    ['no config', JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, layers: [] })],
    ['layers not an array', JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: sha256('x'), size: 1 }, layers: {} })],
    ['a descriptor with a bad digest', JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: 'sha256:nope', size: 1 }, layers: [] })],
    ['a descriptor with a negative size', JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: sha256('x'), size: -1 }, layers: [] })],
    ['a descriptor without mediaType', JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { digest: sha256('x'), size: 1 }, layers: [] })],
  ];
  for (const [what, text] of malformed) {
    test(`${what} → 400 MANIFEST_INVALID`, async () => {
      const tag = uniqueTag('bad');
      await expectError(await putManifest(base, name, tag, text, MT.ociManifest), 400, 'MANIFEST_INVALID', what);
      await assertNoManifest(name, tag);
    });
  }

  test('ambiguous documents (an image manifest with manifests, an index with config/layers) → 400 MANIFEST_INVALID', async () => {
    // CVE-2021-41190: a document that parses as both an image manifest and an index must be refused.
    const asManifest = { ...image.manifest, manifests: [descriptorOf(MT.ociManifest, image.body)] };
    await expectError(await putManifest(base, name, 'ambiguous-1', JSON.stringify(asManifest), MT.ociManifest), 400, 'MANIFEST_INVALID', 'manifest with manifests');
    const index = JSON.parse(buildIndex([image]).toString()) as Record<string, unknown>;
    const asIndex = { ...index, config: image.config, layers: image.layers };
    await expectError(await putManifest(base, name, 'ambiguous-2', JSON.stringify(asIndex), MT.ociIndex), 400, 'MANIFEST_INVALID', 'index with config and layers');
    await assertNoManifest(name, 'ambiguous-1');
    await assertNoManifest(name, 'ambiguous-2');
  });

  test('an index whose manifests is not an array → 400 MANIFEST_INVALID', async () => {
    await expectError(await putManifest(base, name, 'badindex', JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: {} }), MT.ociIndex), 400, 'MANIFEST_INVALID');
  });

  test('PUT by a digest that does not match the body → 400 DIGEST_INVALID', async () => {
    const img = buildImage();
    await pushBlob(base, name, img.configData);
    await pushBlob(base, name, img.layerData[0]!);
    const wrong = absentDigest();
    await expectError(await putManifest(base, name, wrong, img.body, MT.ociManifest), 400, 'DIGEST_INVALID');
    await assertNoManifest(name, wrong);
    await assertNoManifest(name, img.digest);
  });

  test('PUT by a malformed digest reference → 400 DIGEST_INVALID', async () => {
    await expectError(await putManifest(base, name, 'sha256:abc', image.body, MT.ociManifest), 400, 'DIGEST_INVALID');
  });

  test('invalid tags → 400', async () => {
    for (const tag of ['-dash', '.dot', 'a'.repeat(129), 'a%2Fb', 'a+b', 'ta%20g']) {
      const res = await putManifest(base, name, tag, image.body, MT.ociManifest);
      assert.equal(res.status, 400, `tag ${tag.slice(0, 40)}: expected 400, got ${res.status}`);
      await expectError(res, 400, ['TAG_INVALID', 'MANIFEST_INVALID', 'NAME_INVALID'], `tag ${tag.slice(0, 40)}`);
    }
  });
});

describe('manifest size limit (4 MiB)', () => {
  const limit = 4 * 1024 * 1024;
  let name: string;
  let config: Buffer;

  before(async () => {
    name = uniqueName('size');
    config = Buffer.from('{"os":"linux","architecture":"amd64"}');
    await pushBlob(base, name, config);
  });

  function manifestOfSize(size: number): Buffer {
    const head = `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":${JSON.stringify(descriptorOf(MT.ociConfig, config))},"layers":[],"annotations":{"pad":"`;
    const tail = '"}}';
    const body = Buffer.from(head + 'x'.repeat(size - head.length - tail.length) + tail);
    assert.equal(body.length, size);
    return body;
  }

  test('exactly 4 MiB is accepted', async () => {
    const body = manifestOfSize(limit);
    const { digest } = await pushManifest(base, name, 'at-limit', body, MT.ociManifest);
    await assertServed(name, digest, body, MT.ociManifest);
  });

  test('over 4 MiB → 413 MANIFEST_INVALID naming the limit', async () => {
    const body = manifestOfSize(limit + 1);
    const res = await raw(base, {
      method: 'PUT',
      path: `/v2/${name}/manifests/too-big`,
      headers: { 'Content-Type': MT.ociManifest, 'Content-Length': body.length },
      body,
    });
    const errors = expectRawError(res, 413, 'MANIFEST_INVALID', 'PUT a 4 MiB + 1 manifest');
    assert.ok(errors.some((e) => /4\s*MiB|4194304|4,194,304/i.test(e.message ?? '')), `message names the limit: ${errors.map((e) => e.message).join(' | ')}`);
    await assertNoManifest(name, 'too-big');
  });

  test('over 4 MiB sent without Content-Length (chunked) → 413 MANIFEST_INVALID', async () => {
    const body = manifestOfSize(limit + 4096);
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += 512 * 1024) parts.push(body.subarray(i, i + 512 * 1024));
    const res = await raw(base, { method: 'PUT', path: `/v2/${name}/manifests/too-big-chunked`, headers: { 'Content-Type': MT.ociManifest }, chunks: parts });
    expectRawError(res, 413, 'MANIFEST_INVALID', 'PUT a chunked oversize manifest');
    await assertNoManifest(name, 'too-big-chunked');
  });
});

describe('GET and HEAD', () => {
  let name: string;
  let image: PushedImage;
  let list: { digest: string; body: Buffer };

  before(async () => {
    name = uniqueName('get');
    image = await pushImage(base, name, { tag: 'oci' });
    const d1 = await pushImage(base, name, { docker: true });
    const listBody = buildIndex([d1], { docker: true });
    list = await pushManifest(base, name, 'list', listBody, MT.dockerManifestList);
  });

  test('Accept listing only other types → 404 MANIFEST_UNKNOWN', async () => {
    const docker = `${MT.dockerManifest}, ${MT.dockerManifestList}`;
    await expectError(await call(base, 'GET', `/v2/${name}/manifests/oci`, { headers: { Accept: docker } }), 404, 'MANIFEST_UNKNOWN', 'OCI manifest, Docker Accept');
    await expectError(await call(base, 'GET', `/v2/${name}/manifests/${image.digest}`, { headers: { Accept: docker } }), 404, 'MANIFEST_UNKNOWN', 'by digest');
    await expectError(await call(base, 'GET', `/v2/${name}/manifests/list`, { headers: { Accept: `${MT.ociIndex}, ${MT.ociManifest}` } }), 404, 'MANIFEST_UNKNOWN', 'Docker list, OCI Accept');
    const head = await call(base, 'HEAD', `/v2/${name}/manifests/oci`, { headers: { Accept: docker } });
    assert.equal(head.status, 404, 'HEAD honours Accept too');
  });

  test('Accept listing the stored type among others → 200', async () => {
    const res = await call(base, 'GET', `/v2/${name}/manifests/oci`, {
      headers: { Accept: `${MT.dockerManifest}, ${MT.dockerManifestList};q=0.9, ${MT.ociIndex}, ${MT.ociManifest};q=0.5` },
    });
    await expectStatus(res, 200);
    assert.equal(res.headers.get('content-type'), MT.ociManifest);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(image.body), 'Buffer.from(await res.arrayBuffer()).equals(image.body)');
  });

  test('Accept given as several header lines → 200 when one of them matches', async () => {
    const r = await rawExchange(
      base,
      `GET /v2/${name}/manifests/oci HTTP/1.1\r\nHost: x\r\nAccept: ${MT.dockerManifest}\r\nAccept: ${MT.ociManifest}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(r.status, 200);
    assert.equal(headValue(r.head, 'content-type'), MT.ociManifest);
  });

  test('a type refused with q=0 is not served, even when */* is also listed (RFC 9110 §12.5.1)', async () => {
    const only = await call(base, 'GET', `/v2/${name}/manifests/oci`, { headers: { Accept: `${MT.ociManifest};q=0` } });
    await expectError(only, 404, 'MANIFEST_UNKNOWN', 'Accept: <type>;q=0');
    // The most specific match has precedence: */* does not override an explicit q=0 for the stored type.
    const both = await call(base, 'GET', `/v2/${name}/manifests/oci`, { headers: { Accept: `*/*, ${MT.ociManifest};q=0` } });
    await expectError(both, 404, 'MANIFEST_UNKNOWN', 'Accept: */*, <type>;q=0');
  });

  test('Accept */* → 200', async () => {
    const res = await call(base, 'GET', `/v2/${name}/manifests/list`, { headers: { Accept: '*/*' } });
    await expectStatus(res, 200);
    assert.equal(res.headers.get('content-type'), MT.dockerManifestList);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(list.body), 'Buffer.from(await res.arrayBuffer()).equals(list.body)');
  });

  test('Accept application/* (a media range) → 200', async () => {
    const res = await call(base, 'GET', `/v2/${name}/manifests/oci`, { headers: { Accept: 'application/*' } });
    await expectStatus(res, 200);
    await res.arrayBuffer();
  });

  test('no Accept header at all → served', async () => {
    const res = await raw(base, { method: 'GET', path: `/v2/${name}/manifests/oci` });
    assert.equal(res.status, 200, res.body.toString().slice(0, 300));
    assert.equal(header(res, 'content-type'), MT.ociManifest);
    assert.equal(header(res, 'docker-content-digest'), image.digest);
    assert.ok(res.body.equals(image.body), 'res.body.equals(image.body)');
  });

  test('HEAD by tag and by digest: the GET headers, no body', async () => {
    for (const ref of ['oci', image.digest]) {
      const r = await rawExchange(base, `HEAD /v2/${name}/manifests/${ref} HTTP/1.1\r\nHost: x\r\nAccept: ${MT.ociManifest}\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 200, `HEAD ${ref}`);
      assert.equal(headValue(r.head, 'content-type'), MT.ociManifest);
      assert.equal(headValue(r.head, 'docker-content-digest'), image.digest);
      assert.equal(headValue(r.head, 'content-length'), String(image.body.length));
      assert.equal(headValue(r.head, 'docker-distribution-api-version'), API_VERSION);
      assert.equal(r.rest.length, 0, 'no body on HEAD');
    }
  });

  test('HEAD of an unknown manifest → 404 with no body', async () => {
    const r = await rawExchange(base, `HEAD /v2/${name}/manifests/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 404);
    assert.equal(r.rest.length, 0);
  });

  test('unknown tag or digest → 404 MANIFEST_UNKNOWN', async () => {
    await assertNoManifest(name, 'nope');
    await assertNoManifest(name, absentDigest());
    await assertNoManifest(name, absentDigest('sha512'));
  });

  test('a blob digest is not a manifest → 404 MANIFEST_UNKNOWN', async () => {
    await assertNoManifest(name, image.config.digest);
  });

  test('a manifest of another repository → 404 MANIFEST_UNKNOWN', async () => {
    const other = uniqueName('get-other');
    await pushImage(base, other, { tag: 'oci' });
    await assertNoManifest(other, image.digest);
  });

  test('unknown repository → 404', async () => {
    await expectError(await call(base, 'GET', `/v2/${uniqueName('ghost')}/manifests/latest`), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });

  test('a malformed digest reference → 400 DIGEST_INVALID', async () => {
    await expectError(await call(base, 'GET', `/v2/${name}/manifests/sha256:abc`), 400, 'DIGEST_INVALID');
  });
});

describe('multi-tag push: PUT /manifests/<digest>?tag=a&tag=b', () => {
  test('every tag resolves to the manifest', async () => {
    const name = uniqueName('multitag');
    const image = buildImage();
    await pushBlob(base, name, image.configData);
    await pushBlob(base, name, image.layerData[0]!);
    const res = await putManifest(base, name, image.digest, image.body, MT.ociManifest, '?tag=alpha&tag=beta&tag=gamma');
    await expectStatus(res, 201, 'multi-tag PUT');
    assert.equal(res.headers.get('docker-content-digest'), image.digest);
    for (const t of ['alpha', 'beta', 'gamma', image.digest]) await assertServed(name, t, image.body, MT.ociManifest);
    assert.deepEqual(await tagsOf(name), ['alpha', 'beta', 'gamma']);
  });

  test('an invalid tag among them → 400', async () => {
    const name = uniqueName('multitag-bad');
    const image = buildImage();
    await pushBlob(base, name, image.configData);
    await pushBlob(base, name, image.layerData[0]!);
    const res = await putManifest(base, name, image.digest, image.body, MT.ociManifest, '?tag=good&tag=-bad');
    await expectError(res, 400, ['TAG_INVALID', 'MANIFEST_INVALID'], 'multi-tag with an invalid tag');
  });
});

describe('DELETE', () => {
  test('by tag → 202: only the tag goes, the manifest and its other tags stay', async () => {
    const name = uniqueName('deltag');
    const image = await pushImage(base, name, { tag: 'one' });
    await pushManifest(base, name, 'two', image.body, MT.ociManifest);
    const res = await call(base, 'DELETE', `/v2/${name}/manifests/one`);
    await expectStatus(res, 202, 'DELETE by tag');
    await assertNoManifest(name, 'one');
    await assertServed(name, image.digest, image.body, MT.ociManifest);
    await assertServed(name, 'two', image.body, MT.ociManifest);
    assert.deepEqual(await tagsOf(name), ['two']);
    await expectError(await call(base, 'DELETE', `/v2/${name}/manifests/one`), 404, 'MANIFEST_UNKNOWN', 'DELETE the tag again');
  });

  test('by digest → 202: the manifest and all its tags go', async () => {
    const name = uniqueName('deldigest');
    const keep = await pushImage(base, name, { tag: 'keep' });
    const image = await pushImage(base, name, { tag: 'one' });
    await pushManifest(base, name, 'two', image.body, MT.ociManifest);
    const res = await call(base, 'DELETE', `/v2/${name}/manifests/${image.digest}`);
    await expectStatus(res, 202, 'DELETE by digest');
    await assertNoManifest(name, image.digest);
    await assertNoManifest(name, 'one');
    await assertNoManifest(name, 'two');
    assert.equal((await call(base, 'HEAD', `/v2/${name}/manifests/${image.digest}`)).status, 404);
    assert.deepEqual(await tagsOf(name), ['keep']);
    await assertServed(name, 'keep', keep.body, MT.ociManifest);
    await expectError(await call(base, 'DELETE', `/v2/${name}/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN', 'DELETE again');
  });

  test('a deleted manifest can be pushed again', async () => {
    const name = uniqueName('repush');
    const image = await pushImage(base, name, { tag: 'back' });
    await expectStatus(await call(base, 'DELETE', `/v2/${name}/manifests/${image.digest}`), 202);
    await pushManifest(base, name, 'back', image.body, MT.ociManifest);
    await assertServed(name, 'back', image.body, MT.ociManifest);
  });

  test('unknown tag or digest → 404 MANIFEST_UNKNOWN', async () => {
    const name = uniqueName('delunknown');
    await pushImage(base, name, { tag: 'present' });
    await expectError(await call(base, 'DELETE', `/v2/${name}/manifests/absent`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await call(base, 'DELETE', `/v2/${name}/manifests/${absentDigest()}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('a malformed digest or an invalid tag → 400', async () => {
    const name = uniqueName('delbad');
    const image = await pushImage(base, name, { tag: 'present' });
    await expectError(await call(base, 'DELETE', `/v2/${name}/manifests/sha256:abc`), 400, 'DIGEST_INVALID', 'DELETE sha256:abc');
    const res = await call(base, 'DELETE', `/v2/${name}/manifests/-bad`);
    await expectError(res, 400, ['TAG_INVALID', 'MANIFEST_INVALID'], 'DELETE -bad');
    await assertServed(name, 'present', image.body, MT.ociManifest);
  });

  test('in an unknown repository → 404', async () => {
    await expectError(await call(base, 'DELETE', `/v2/${uniqueName('delghost')}/manifests/${absentDigest()}`), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });

  test('a manifest of another repository is not deleted from here', async () => {
    const a = uniqueName('del-a');
    const b = uniqueName('del-b');
    const image = await pushImage(base, a, { tag: 't' });
    await expectError(await call(base, 'DELETE', `/v2/${b}/manifests/${image.digest}`), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    await assertServed(a, 't', image.body, MT.ociManifest);
  });
});

describe('subject', () => {
  test('a manifest with a subject → 201 with OCI-Subject: <subject digest>, even if the subject is absent', async () => {
    const name = uniqueName('subject');
    const subject = { mediaType: MT.ociManifest, digest: absentDigest(), size: 1234 };
    const img = buildImage({ subject, artifactType: 'application/vnd.example.sig.v1' });
    await pushBlob(base, name, img.configData);
    await pushBlob(base, name, img.layerData[0]!);
    const res = await putManifest(base, name, img.digest, img.body, MT.ociManifest);
    await expectStatus(res, 201, 'PUT with subject');
    assert.equal(res.headers.get('oci-subject'), subject.digest);
    await assertServed(name, img.digest, img.body, MT.ociManifest);
  });

  test('an index with a subject → OCI-Subject', async () => {
    const name = uniqueName('subject-index');
    const target = await pushImage(base, name, { tag: 'target' });
    const child = await pushImage(base, name);
    const index = buildIndex([child], { subject: descriptorOf(MT.ociManifest, target.body), artifactType: 'application/vnd.example.bundle' });
    const res = await putManifest(base, name, 'idx', index, MT.ociIndex);
    await expectStatus(res, 201);
    assert.equal(res.headers.get('oci-subject'), target.digest);
  });

  test('no subject → no OCI-Subject header', async () => {
    const name = uniqueName('nosubject');
    const img = buildImage();
    await pushBlob(base, name, img.configData);
    await pushBlob(base, name, img.layerData[0]!);
    const res = await putManifest(base, name, 'plain', img.body, MT.ociManifest);
    await expectStatus(res, 201);
    assert.equal(res.headers.get('oci-subject'), null);
  });
});
