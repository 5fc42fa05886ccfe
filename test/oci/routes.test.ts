import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute, type RouteMatch } from '../../src/oci/routes.js';

function route(path: string, method = 'GET'): RouteMatch {
  const m = matchRoute(path, method);
  assert.ok(m && !('methodNotAllowed' in m), `${method} ${path} should route`);
  return m as RouteMatch;
}

test('routes names with slashes and the last path keyword', () => {
  assert.equal(route('/v2/').endpoint.id, 'base');
  assert.equal(route('/v2').endpoint.id, 'base');
  assert.equal(route('/v2/_catalog').endpoint.id, 'catalog');
  assert.deepEqual({ ...route('/v2/a/b/c/tags/list') }, { endpoint: route('/v2/a/b/c/tags/list').endpoint, name: 'a/b/c' });
  const m = route('/v2/foo/manifests/manifests/latest', 'PUT');
  assert.equal(m.name, 'foo/manifests');
  assert.equal(m.reference, 'latest');
  assert.equal(route('/v2/x/blobs/uploads/', 'POST').endpoint.id, 'uploadStart');
  assert.equal(route('/v2/x/blobs/uploads', 'POST').endpoint.id, 'uploadStart');
  assert.equal(route('/v2/x/blobs/uploads/abc', 'PATCH').reference, 'abc');
  assert.equal(route('/v2/x/blobs/uploads/blobs/sha256:1').name, 'x/blobs/uploads');
  assert.equal(route('/v2/x/referrers/sha256:1').endpoint.id, 'referrers');
  assert.equal(route('/v2/x/blobs/sha256:1', 'HEAD').endpoint.id, 'blob');
});

test('known paths with other methods and unknown paths', () => {
  const m = matchRoute('/v2/x/tags/list', 'DELETE');
  assert.ok(m && 'methodNotAllowed' in m, 'm && \'methodNotAllowed\' in m');
  assert.equal(matchRoute('/v3/', 'GET'), undefined);
  assert.equal(matchRoute('/v2/x/other/y', 'GET'), undefined);
});
