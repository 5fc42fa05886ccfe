import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDigest, digestOf, isDigest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';

const sha256 = 'sha256:' + 'a'.repeat(64);
const sha512 = 'sha512:' + 'b'.repeat(128);

test('parses sha256 and sha512 digests', () => {
  assert.deepEqual(parseDigest(sha256), { algorithm: 'sha256', hex: 'a'.repeat(64), digest: sha256 });
  assert.equal(parseDigest(sha512).algorithm, 'sha512');
});

test('refuses malformed digests with DIGEST_INVALID', () => {
  for (const bad of ['', 'sha256', 'sha256:', 'sha256:abc', 'SHA256:' + 'a'.repeat(64), 'sha256:' + 'A'.repeat(64), 'sha256:' + 'g'.repeat(64), 'md5:' + 'a'.repeat(32), 'sha256:' + 'a'.repeat(65), 'sha256:../../etc', 'sha512:' + 'a'.repeat(64)]) {
    assert.throws(() => parseDigest(bad), (e: unknown) => e instanceof RegistryError && e.code === 'DIGEST_INVALID', bad);
    assert.equal(isDigest(bad), false);
  }
});

test('unsupported but well-formed algorithms say so', () => {
  assert.throws(() => parseDigest('blake3:' + 'a'.repeat(64)), /unsupported digest algorithm/);
});

test('digestOf hashes exact bytes', () => {
  assert.equal(digestOf(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.match(digestOf('x', 'sha512'), /^sha512:[a-f0-9]{128}$/);
});
