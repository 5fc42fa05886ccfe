import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidName, isValidTag, checkName, checkTag } from '../../src/oci/reference.js';
import { RegistryError } from '../../src/oci/errors.js';

test('names follow the distribution grammar', () => {
  for (const ok of ['a', 'library/ubuntu', 'a/b/c', 'a.b', 'a_b', 'a__b', 'a---b', 'x0/y1/z2', 'a'.repeat(255)]) {
    assert.ok(isValidName(ok), ok);
  }
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '..', 'a/../b', 'a/./b', '.a', 'a.', 'a___b', 'a%2Fb', 'a\u0000b', 'a b', 'a:b', 'a'.repeat(256), '-a', 'a/-b']) {
    assert.equal(isValidName(bad), false, JSON.stringify(bad));
  }
});

test('checkName throws NAME_INVALID', () => {
  assert.throws(() => checkName('Bad'), (e: unknown) => e instanceof RegistryError && e.code === 'NAME_INVALID' && e.status === 400);
  assert.throws(() => checkName('a'.repeat(300)), /longer than 255/);
});

test('tags follow the grammar', () => {
  for (const ok of ['latest', 'v1.0', '_x', 'A-b.c_d', 'a'.repeat(128)]) assert.ok(isValidTag(ok), ok);
  for (const bad of ['', '.a', '-a', 'a'.repeat(129), 'a/b', 'a:b', 'a b']) assert.equal(isValidTag(bad), false, bad);
  assert.throws(() => checkTag('-x'), (e: unknown) => e instanceof RegistryError && e.code === 'TAG_INVALID');
});
