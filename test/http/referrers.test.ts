// GET /v2/<name>/referrers/<digest>: the index of manifests whose subject is <digest>, with artifactType and
// annotations on each descriptor, artifactType filtering, repository scoping, and the error cases.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  MT,
  absentDigest,
  buildImage,
  buildIndex,
  call,
  useTestRegistry,
  descriptorOf,
  expectError,
  expectStatus,
  pushImage,
  pushManifest,
  uniqueName,
  type Descriptor,
  type PushedImage,
} from './helpers.js';

interface Index {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

let base = '';
useTestRegistry((url) => (base = url));

async function referrers(name: string, digest: string, query = ''): Promise<{ res: Response; index: Index }> {
  const res = await call(base, 'GET', `/v2/${name}/referrers/${digest}${query}`);
  await expectStatus(res, 200, `GET referrers of ${digest}${query}`);
  assert.equal(res.headers.get('content-type'), MT.ociIndex, 'referrers Content-Type');
  const index = (await res.json()) as Index;
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, MT.ociIndex);
  assert.ok(Array.isArray(index.manifests), 'manifests is an array');
  return { res, index };
}

function byDigest(ds: Descriptor[]): Descriptor[] {
  return [...ds].sort((a, b) => (a.digest < b.digest ? -1 : 1));
}

/** The descriptor the spec asks for: mediaType, digest, size, artifactType (if any), annotations (if any). */
function expected(mediaType: string, body: Buffer, artifactType: string | undefined, annotations: Record<string, string> | undefined): Descriptor {
  const d: Descriptor = descriptorOf(mediaType, body);
  if (artifactType !== undefined) d.artifactType = artifactType;
  if (annotations !== undefined) d.annotations = annotations;
  return d;
}

/** Only the fields the spec defines for a referrer descriptor (extra fields are allowed). */
function project(d: Descriptor): Descriptor {
  const p: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType !== undefined) p.artifactType = d.artifactType;
  if (d.annotations !== undefined) p.annotations = d.annotations;
  return p;
}

describe('referrers of a manifest', () => {
  const name = uniqueName('refs');
  let subject: PushedImage;
  let subjectDesc: Descriptor;
  let sig: PushedImage;
  let sbom: PushedImage;
  let sbom2: PushedImage;
  let bundle: { body: Buffer; digest: string };
  let plainIndex: { body: Buffer; digest: string };

  before(async () => {
    subject = await pushImage(base, name, { tag: 'app' });
    subjectDesc = descriptorOf(MT.ociManifest, subject.body);
    // artifactType set on the manifest
    sig = await pushImage(base, name, {
      subject: subjectDesc,
      artifactType: 'application/vnd.example.signature.v1',
      configMediaType: MT.ociEmpty,
      configData: Buffer.from('{}'),
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.key': 'abcd' },
    });
    // no artifactType: the descriptor's artifactType is the config media type
    sbom = await pushImage(base, name, {
      subject: subjectDesc,
      configMediaType: 'application/vnd.example.sbom.config.v1+json',
      configData: Buffer.from('{"format":"spdx"}'),
      annotations: { 'org.example.sbom.format': 'spdx' },
    });
    // a second one of that type, without annotations
    sbom2 = await pushImage(base, name, {
      subject: subjectDesc,
      configMediaType: 'application/vnd.example.sbom.config.v1+json',
      configData: Buffer.from('{"format":"cyclonedx"}'),
    });
    // an index referrer with an artifactType
    const child = await pushImage(base, name);
    const bundleBody = buildIndex([child], { subject: subjectDesc, artifactType: 'application/vnd.example.bundle.v1', annotations: { 'org.example.bundle': 'yes' } });
    bundle = await pushManifest(base, name, 'bundle', bundleBody, MT.ociIndex);
    // an index referrer without artifactType: the descriptor has none
    const plainBody = buildIndex([child], { subject: subjectDesc });
    plainIndex = await pushManifest(base, name, 'plain-index', plainBody, MT.ociIndex);
  });

  test('200, an OCI index listing every referrer with mediaType, digest, size, artifactType and annotations', async () => {
    const { index } = await referrers(name, subject.digest);
    const want = [
      expected(MT.ociManifest, sig.body, 'application/vnd.example.signature.v1', { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.key': 'abcd' }),
      expected(MT.ociManifest, sbom.body, 'application/vnd.example.sbom.config.v1+json', { 'org.example.sbom.format': 'spdx' }),
      expected(MT.ociManifest, sbom2.body, 'application/vnd.example.sbom.config.v1+json', undefined),
      expected(MT.ociIndex, bundle.body, 'application/vnd.example.bundle.v1', { 'org.example.bundle': 'yes' }),
      expected(MT.ociIndex, plainIndex.body, undefined, undefined),
    ];
    assert.deepEqual(byDigest(index.manifests.map(project)), byDigest(want));
  });

  test('an index referrer without artifactType has no artifactType in its descriptor', async () => {
    const { index } = await referrers(name, subject.digest);
    const d = index.manifests.find((m) => m.digest === plainIndex.digest);
    assert.ok(d, 'the plain index is listed');
    assert.ok(!('artifactType' in d) || d.artifactType === undefined, `artifactType must be omitted, got ${JSON.stringify(d.artifactType)}`);
  });

  test('no filter → no OCI-Filters-Applied header', async () => {
    const { res } = await referrers(name, subject.digest);
    assert.equal(res.headers.get('oci-filters-applied'), null);
  });

  test('?artifactType= filters (on the manifest\'s artifactType or its config media type) and says so', async () => {
    const one = await referrers(name, subject.digest, `?artifactType=${encodeURIComponent('application/vnd.example.signature.v1')}`);
    assert.equal(one.res.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(one.index.manifests.map((m) => m.digest), [sig.digest]);

    const two = await referrers(name, subject.digest, `?artifactType=${encodeURIComponent('application/vnd.example.sbom.config.v1+json')}`);
    assert.equal(two.res.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(two.index.manifests.map((m) => m.digest).sort(), [sbom.digest, sbom2.digest].sort());

    const idx = await referrers(name, subject.digest, `?artifactType=${encodeURIComponent('application/vnd.example.bundle.v1')}`);
    assert.deepEqual(idx.index.manifests.map((m) => m.digest), [bundle.digest]);
  });

  test('a "+" in the artifactType query is a plus, not a space (RFC 3986 query, not form encoding)', async () => {
    const want = [sbom.digest, sbom2.digest].sort();
    const plain = await referrers(name, subject.digest, '?artifactType=application/vnd.example.sbom.config.v1+json');
    assert.equal(plain.res.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(plain.index.manifests.map((m) => m.digest).sort(), want, 'literal +');
    const encoded = await referrers(name, subject.digest, '?artifactType=application%2Fvnd.example.sbom.config.v1%2Bjson');
    assert.deepEqual(encoded.index.manifests.map((m) => m.digest).sort(), want, '%2B');
  });

  test('a filter nothing matches → 200 with an empty list and OCI-Filters-Applied', async () => {
    const { res, index } = await referrers(name, subject.digest, '?artifactType=application%2Fvnd.example.none');
    assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(index.manifests, []);
  });

  test('a subject with no referrers, or unknown → 200 with an empty list', async () => {
    const child = await pushImage(base, name);
    assert.deepEqual((await referrers(name, child.digest)).index.manifests, []);
    assert.deepEqual((await referrers(name, absentDigest())).index.manifests, []);
    assert.deepEqual((await referrers(name, absentDigest('sha512'))).index.manifests, []);
  });

  test('referrers of a referrer are its own', async () => {
    const countersig = await pushImage(base, name, {
      subject: descriptorOf(MT.ociManifest, sig.body),
      artifactType: 'application/vnd.example.countersignature.v1',
      configMediaType: MT.ociEmpty,
      configData: Buffer.from('{}'),
    });
    const { index } = await referrers(name, sig.digest);
    assert.deepEqual(index.manifests.map((m) => m.digest), [countersig.digest]);
    const top = await referrers(name, subject.digest);
    assert.ok(!top.index.manifests.some((m) => m.digest === countersig.digest), 'not a referrer of the grand-subject');
  });
});

describe('referrers lifecycle and scoping', () => {
  test('a referrer pushed before its subject is listed; the subject need not exist', async () => {
    const name = uniqueName('early');
    const future = buildImage();
    const subjectDesc = descriptorOf(MT.ociManifest, future.body);
    const ref = await pushImage(base, name, { subject: subjectDesc, artifactType: 'application/vnd.example.early' });
    assert.deepEqual((await referrers(name, future.digest)).index.manifests.map((m) => m.digest), [ref.digest]);
    await pushImage(base, name, { tag: 'later', layers: future.layerData, configData: future.configData });
    assert.deepEqual((await referrers(name, future.digest)).index.manifests.map((m) => m.digest), [ref.digest]);
  });

  test('a deleted referrer disappears from the list', async () => {
    const name = uniqueName('gone');
    const subject = await pushImage(base, name, { tag: 's' });
    const subjectDesc = descriptorOf(MT.ociManifest, subject.body);
    const keep = await pushImage(base, name, { subject: subjectDesc, artifactType: 'application/vnd.example.keep' });
    const drop = await pushImage(base, name, { subject: subjectDesc, artifactType: 'application/vnd.example.drop' });
    assert.equal((await referrers(name, subject.digest)).index.manifests.length, 2);
    await expectStatus(await call(base, 'DELETE', `/v2/${name}/manifests/${drop.digest}`), 202);
    assert.deepEqual((await referrers(name, subject.digest)).index.manifests.map((m) => m.digest), [keep.digest]);
  });

  test('referrers are per repository', async () => {
    const a = uniqueName('scope-a');
    const b = uniqueName('scope-b');
    const subject = await pushImage(base, a, { tag: 's' });
    const copy = await pushImage(base, b, { tag: 's', layers: subject.layerData, configData: subject.configData });
    assert.equal(copy.digest, subject.digest, 'the same image in both repositories');
    const subjectDesc = descriptorOf(MT.ociManifest, subject.body);
    const inA = await pushImage(base, a, { subject: subjectDesc, artifactType: 'application/vnd.example.a' });
    const inB = await pushImage(base, b, { subject: subjectDesc, artifactType: 'application/vnd.example.b' });
    assert.deepEqual((await referrers(a, subject.digest)).index.manifests.map((m) => m.digest), [inA.digest]);
    assert.deepEqual((await referrers(b, subject.digest)).index.manifests.map((m) => m.digest), [inB.digest]);
  });

  test('an unknown repository → 200 with an empty list (the referrers API never answers 404)', async () => {
    const { index } = await referrers(uniqueName('noone'), absentDigest());
    assert.deepEqual(index.manifests, []);
  });

  test('a sha512 subject', async () => {
    const name = uniqueName('ref512');
    const subjectDigest = absentDigest('sha512');
    const ref = await pushImage(base, name, {
      subject: { mediaType: MT.ociManifest, digest: subjectDigest, size: 100 },
      artifactType: 'application/vnd.example.512',
    });
    assert.deepEqual((await referrers(name, subjectDigest)).index.manifests.map((m) => m.digest), [ref.digest]);
  });

  test('a Docker-typed subject descriptor and a Docker referrer manifest', async () => {
    const name = uniqueName('refdocker');
    const subject = await pushImage(base, name, { docker: true, tag: 'd' });
    const ref = await pushImage(base, name, { subject: descriptorOf(MT.dockerManifest, subject.body), artifactType: 'application/vnd.example.on-docker' });
    assert.deepEqual((await referrers(name, subject.digest)).index.manifests.map((m) => m.digest), [ref.digest]);
  });
});

describe('referrers errors', () => {
  test('an invalid digest → 400 DIGEST_INVALID', async () => {
    const name = uniqueName('referr');
    for (const d of ['sha256:abc', 'latest', `sha256:${'G'.repeat(64)}`]) {
      await expectError(await call(base, 'GET', `/v2/${name}/referrers/${d}`), 400, 'DIGEST_INVALID', `referrers of ${d}`);
    }
  });
});
