import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { RegistryError } from '../../src/oci/errors.js';

const d = (c: string) => 'sha256:' + c.repeat(64);
const desc = (mediaType: string, c: string, extra: object = {}) => ({ mediaType, digest: d(c), size: 10, ...extra });
const enc = (v: unknown) => Buffer.from(JSON.stringify(v));

function invalid(body: Buffer, ct: string | undefined, pattern: RegExp) {
  assert.throws(
    () => parseManifest(body, ct),
    (e: unknown) => e instanceof RegistryError && e.code === 'MANIFEST_INVALID' && pattern.test(e.message),
  );
}

test('OCI image manifest: blobs, artifactType from config, subject', () => {
  const m = parseManifest(
    enc({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: desc('application/vnd.example+json', 'a'),
      layers: [desc('application/vnd.oci.image.layer.v1.tar+gzip', 'b'), desc('application/vnd.oci.image.layer.nondistributable.v1.tar', 'c')],
      subject: desc(MediaType.ociManifest, 'd'),
      annotations: { k: 'v' },
    }),
    MediaType.ociManifest,
  );
  assert.equal(m.kind, 'image');
  assert.deepEqual(m.requiredBlobs.map((x) => x.digest), [d('a'), d('b')]);
  assert.equal(m.artifactType, 'application/vnd.example+json');
  assert.equal(m.subject?.digest, d('d'));
  assert.deepEqual(m.annotations, { k: 'v' });
});

test('mediaType may be omitted in OCI documents and is inferred', () => {
  assert.equal(parseManifest(enc({ schemaVersion: 2, config: desc('x/y', 'a'), layers: [] }), undefined).mediaType, MediaType.ociManifest);
  assert.equal(parseManifest(enc({ schemaVersion: 2, manifests: [] }), undefined).mediaType, MediaType.ociIndex);
  assert.equal(parseManifest(enc({ schemaVersion: 2, manifests: [] }), MediaType.dockerManifestList).mediaType, MediaType.dockerManifestList);
});

test('indexes list children, accept unknown/unknown platforms, keep artifactType', () => {
  const m = parseManifest(
    enc({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      artifactType: 'application/vnd.example',
      manifests: [
        desc(MediaType.ociManifest, 'a', { platform: { os: 'linux', architecture: 'amd64' } }),
        desc(MediaType.ociManifest, 'b', { platform: { os: 'unknown', architecture: 'unknown' } }),
      ],
    }),
    undefined,
  );
  assert.equal(m.kind, 'index');
  assert.deepEqual(m.children.map((c) => c.digest), [d('a'), d('b')]);
  assert.equal(m.artifactType, 'application/vnd.example');
});

test('Docker schema2 manifest and manifest list', () => {
  const m = parseManifest(
    enc({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: desc(MediaType.dockerConfig, 'a'), layers: [desc(MediaType.dockerForeignLayer, 'b', { urls: ['https://x'] })] }),
    MediaType.dockerManifest,
  );
  assert.deepEqual(m.requiredBlobs.map((x) => x.digest), [d('a')]);
  assert.equal(parseManifest(enc({ schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [] }), undefined).kind, 'index');
});

test('refuses what is not a valid manifest, with clear messages', () => {
  invalid(Buffer.from('{'), undefined, /not valid JSON/);
  invalid(enc([1]), undefined, /JSON object/);
  invalid(enc({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }), undefined, /schema1/);
  invalid(enc({ schemaVersion: 2, config: desc('x/y', 'a'), layers: [] }), MediaType.dockerSchema1Signed, /schema1/);
  invalid(enc({ schemaVersion: 3, config: desc('x/y', 'a'), layers: [] }), undefined, /schemaVersion/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc('x/y', 'a'), layers: [] }), MediaType.dockerManifest, /does not match/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, layers: [] }), undefined, /config/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc('x/y', 'a') }), undefined, /layers/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: 'x/y', digest: 'sha256:zz', size: 1 }, layers: [] }), undefined, /digest/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: 'x/y', digest: d('a'), size: -1 }, layers: [] }), undefined, /size/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: 'nope', digest: d('a'), size: 1 }, layers: [] }), undefined, /mediaType/);
  invalid(enc({ schemaVersion: 2, mediaType: 'application/vnd.unknown+json' }), undefined, /unsupported manifest media type/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: {} }), undefined, /manifests array/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [desc(MediaType.ociManifest, 'a', { platform: { os: 1 } })] }), undefined, /platform/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [], annotations: { a: 1 } }), undefined, /annotations/);
  invalid(enc({ schemaVersion: 2 }), undefined, /cannot tell/);
  // ambiguous documents (CVE-2021-41190): one shape only
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc('x/y', 'a'), layers: [], manifests: [] }), undefined, /manifests field/);
  invalid(enc({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [], layers: [] }), undefined, /config or layers/);
  invalid(enc({ schemaVersion: 2, config: desc('x/y', 'a'), layers: [], manifests: [] }), undefined, /manifests field/);
});
