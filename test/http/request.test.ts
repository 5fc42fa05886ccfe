import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange, parseContentRange, parseQuery, pageSize } from '../../src/http/request.js';
import { RegistryError } from '../../src/oci/errors.js';

test('Range: single ranges, suffixes, open ends; unsatisfiable; malformed ignored', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { offset: 0, length: 10 });
  assert.deepEqual(parseRange('bytes=90-', 100), { offset: 90, length: 10 });
  assert.deepEqual(parseRange('bytes=95-200', 100), { offset: 95, length: 5 });
  assert.deepEqual(parseRange('bytes=-10', 100), { offset: 90, length: 10 });
  assert.deepEqual(parseRange('bytes=-500', 100), { offset: 0, length: 100 });
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable');
  assert.equal(parseRange('bytes=-5', 0), 'unsatisfiable');
  for (const ignored of ['bytes=5-1', 'bytes=0-1,3-4', 'items=0-1', 'bytes=-', 'nonsense']) assert.equal(parseRange(ignored, 100), undefined, ignored);
  assert.equal(parseRange(undefined, 100), undefined);
});

test('Content-Range for upload chunks', () => {
  assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange('bytes 100-199/*'), { start: 100, end: 199 });
  assert.equal(parseContentRange(undefined), undefined);
  for (const bad of ['99-0', 'x', '-1', '1-', 'bytes=1']) {
    assert.throws(() => parseContentRange(bad), (e: unknown) => e instanceof RegistryError && e.status === 416, bad);
  }
});

test('query strings keep a literal plus', () => {
  const q = parseQuery('artifactType=application/vnd.x+json&tag=a&tag=b&bad=%zz&empty');
  assert.equal(q.get('artifactType'), 'application/vnd.x+json');
  assert.deepEqual(q.getAll('tag'), ['a', 'b']);
  assert.equal(q.get('bad'), '%zz');
  assert.equal(q.get('empty'), '');
  assert.equal(parseQuery('artifactType=application%2Fvnd.x%2Bjson').get('artifactType'), 'application/vnd.x+json');
});

test('page sizes', () => {
  assert.equal(pageSize(null), undefined);
  assert.equal(pageSize('0'), 0);
  assert.equal(pageSize('50'), 50);
  for (const bad of ['-1', '1.5', 'x', '', '9999999999']) {
    assert.throws(() => pageSize(bad), (e: unknown) => e instanceof RegistryError && e.code === 'PAGINATION_NUMBER_INVALID', bad);
  }
});
