import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accepts, baseMediaType, MediaType } from '../../src/oci/media-types.js';

test('accepts honours lists, wildcards and q=0', () => {
  const oci = MediaType.ociManifest;
  assert.ok(accepts(undefined, oci), 'accepts(undefined, oci)');
  assert.ok(accepts('', oci), 'accepts(\'\', oci)');
  assert.ok(accepts(`${MediaType.dockerManifest}, ${oci}`, oci), 'accepts(`${MediaType.dockerManifest}, ${oci}`, oci)');
  assert.ok(accepts([MediaType.dockerManifest, oci], oci), 'accepts([MediaType.dockerManifest, oci], oci)');
  assert.ok(accepts('*/*', oci), 'accepts(\'*/*\', oci)');
  assert.ok(accepts('application/*', oci), 'accepts(\'application/*\', oci)');
  assert.equal(accepts(MediaType.dockerManifest, oci), false);
  assert.equal(accepts(`${oci};q=0`, oci), false);
  assert.ok(accepts(`${oci};q=0.5`, oci), 'accepts(`${oci};q=0.5`, oci)');
});

test('baseMediaType strips parameters', () => {
  assert.equal(baseMediaType('application/JSON; charset=utf-8'), 'application/json');
  assert.equal(baseMediaType(undefined), undefined);
  assert.equal(baseMediaType(' '), undefined);
});

test('an exact q=0 refuses a type even when a wildcard would admit it', () => {
  assert.equal(accepts(`${MediaType.ociManifest};q=0, */*`, MediaType.ociManifest), false);
  assert.ok(accepts(`${MediaType.ociManifest};q=0, */*`, MediaType.ociIndex), 'accepts(`${MediaType.ociManifest};q=0, */*`, MediaType.ociIndex)');
  assert.equal(accepts('*/*;q=0', MediaType.ociIndex), false);
});
