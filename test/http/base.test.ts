// The API version check, routing (unknown paths, wrong methods), the error envelope, the
// Docker-Distribution-API-Version header on every response, and the repository-name grammar.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_VERSION,
  absentDigest,
  assertApiVersion,
  call,
  useTestRegistry,
  expectError,
  expectRawError,
  expectStatus,
  header,
  headValue,
  raw,
  rawExchange,
  sha256,
  uniqueName,
} from './helpers.js';

let base = '';
useTestRegistry((url) => (base = url));

describe('GET /v2/ (API version check)', () => {
  test('answers 200 with Docker-Distribution-API-Version: registry/2.0', async () => {
    const res = await call(base, 'GET', '/v2/');
    await expectStatus(res, 200, 'GET /v2/');
    assert.equal(res.headers.get('docker-distribution-api-version'), API_VERSION);
    await res.arrayBuffer();
  });

  test('HEAD /v2/ answers 200 with the version header and no body', async () => {
    const r = await rawExchange(base, `HEAD /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200);
    assert.equal(headValue(r.head, 'docker-distribution-api-version'), API_VERSION);
    assert.equal(r.rest.length, 0, 'a HEAD response has no body');
  });

  test('ignores query parameters', async () => {
    const res = await call(base, 'GET', '/v2/?foo=bar');
    await expectStatus(res, 200, 'GET /v2/?foo=bar');
    await res.arrayBuffer();
  });
});

describe('unknown paths', () => {
  for (const path of ['/', '/v1/', '/v3/', '/v2/foo/bar', '/v2/foo/manifests', '/v2/foo/manifests/', '/v2/foo/blobs/', '/v2/foo/tags/list/extra', '/v2/foo/tags', '/v2/_catalog/x', '/favicon.ico']) {
    test(`GET ${path} → 404 NOT_FOUND`, async () => {
      const res = await call(base, 'GET', path);
      await expectError(res, 404, 'NOT_FOUND', `GET ${path}`);
    });
  }

  test('an unknown path with another method is still 404 NOT_FOUND', async () => {
    await expectError(await call(base, 'POST', '/v3/'), 404, 'NOT_FOUND', 'POST /v3/');
    await expectError(await call(base, 'DELETE', '/v2/foo/bar'), 404, 'NOT_FOUND', 'DELETE /v2/foo/bar');
  });
});

describe('known path, method not allowed → 405 UNSUPPORTED with Allow', () => {
  const d = sha256('base-test');
  const cases: { method: string; path: string; allowed: string[] }[] = [
    { method: 'POST', path: '/v2/', allowed: ['GET'] },
    { method: 'DELETE', path: '/v2/', allowed: ['GET'] },
    { method: 'PUT', path: '/v2/_catalog', allowed: ['GET'] },
    { method: 'DELETE', path: '/v2/_catalog', allowed: ['GET'] },
    { method: 'PUT', path: '/v2/foo/tags/list', allowed: ['GET'] },
    { method: 'DELETE', path: '/v2/foo/tags/list', allowed: ['GET'] },
    { method: 'POST', path: '/v2/foo/manifests/latest', allowed: ['GET', 'PUT', 'DELETE'] },
    { method: 'PATCH', path: '/v2/foo/manifests/latest', allowed: ['GET', 'PUT', 'DELETE'] },
    { method: 'PUT', path: `/v2/foo/blobs/${d}`, allowed: ['GET', 'DELETE'] },
    { method: 'POST', path: `/v2/foo/blobs/${d}`, allowed: ['GET', 'DELETE'] },
    { method: 'PATCH', path: `/v2/foo/blobs/${d}`, allowed: ['GET', 'DELETE'] },
    { method: 'GET', path: '/v2/foo/blobs/uploads/', allowed: ['POST'] },
    { method: 'PUT', path: '/v2/foo/blobs/uploads/', allowed: ['POST'] },
    { method: 'POST', path: '/v2/foo/blobs/uploads/0f8e3c1e-8b2a-4c1a-9b9a-2f7a4e5d6c7b', allowed: ['GET', 'PATCH', 'PUT', 'DELETE'] },
    { method: 'DELETE', path: `/v2/foo/referrers/${d}`, allowed: ['GET'] },
    { method: 'PUT', path: `/v2/foo/referrers/${d}`, allowed: ['GET'] },
  ];
  for (const c of cases) {
    test(`${c.method} ${c.path}`, async () => {
      const res = await call(base, c.method, c.path, c.method === 'GET' || c.method === 'DELETE' ? {} : { body: '' });
      const allow = res.headers.get('allow');
      await expectError(res, 405, 'UNSUPPORTED', `${c.method} ${c.path}`);
      // RFC 9110 §15.5.6: a 405 response MUST carry Allow with the methods the resource supports.
      assert.ok(allow, `${c.method} ${c.path}: a 405 needs an Allow header`);
      const methods = allow.split(',').map((m) => m.trim().toUpperCase());
      for (const m of c.allowed) assert.ok(methods.includes(m), `${c.method} ${c.path}: Allow "${allow}" should list ${m}`);
      assert.ok(!methods.includes(c.method), `${c.method} ${c.path}: Allow "${allow}" must not list the refused method`);
    });
  }
});

describe('Docker-Distribution-API-Version on every response', () => {
  test('success, redirect-free, client-error and HEAD responses all carry it', async () => {
    const name = uniqueName('version');
    const requests: [string, string, string?][] = [
      ['GET', '/v2/'],
      ['GET', '/v2/_catalog'],
      ['GET', '/nope'],
      ['POST', '/v2/'],
      ['GET', '/v2/UPPER/tags/list'],
      ['GET', `/v2/${name}/tags/list`],
      ['GET', `/v2/${name}/blobs/${absentDigest()}`],
      ['HEAD', `/v2/${name}/blobs/${absentDigest()}`],
      ['GET', `/v2/${name}/blobs/sha256:short`],
      ['GET', `/v2/${name}/manifests/latest`],
      ['HEAD', `/v2/${name}/manifests/latest`],
      ['POST', `/v2/${name}/blobs/uploads/`, ''],
      ['GET', `/v2/${name}/referrers/${absentDigest()}`],
      ['PUT', `/v2/${name}/manifests/latest`, 'not json'],
    ];
    for (const [method, path, body] of requests) {
      const res = await call(base, method, path, body === undefined ? {} : { body });
      assertApiVersion(res, `${method} ${path} (${res.status})`);
      await res.arrayBuffer();
    }
  });
});

describe('error envelope', () => {
  test('errors are JSON {"errors":[{"code","message"}]} with Content-Type application/json', async () => {
    const res = await call(base, 'GET', `/v2/${uniqueName()}/blobs/${absentDigest()}`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as { errors: { code: string; message: string; detail?: unknown }[] };
    assert.ok(Array.isArray(body.errors) && body.errors.length >= 1, 'Array.isArray(body.errors) && body.errors.length >= 1');
    const e = body.errors[0]!;
    assert.equal(e.code, 'BLOB_UNKNOWN');
    assert.equal(typeof e.message, 'string');
    for (const key of Object.keys(e)) assert.ok(['code', 'message', 'detail'].includes(key), `unexpected error field ${key}`);
  });

  test('an error answer to HEAD has no body', async () => {
    const r = await rawExchange(base, `HEAD /v2/${uniqueName()}/manifests/latest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 404);
    assert.equal(headValue(r.head, 'docker-distribution-api-version'), API_VERSION);
    assert.equal(r.rest.length, 0, 'a HEAD response has no body');
  });
});

describe('repository name grammar', () => {
  const valid = [
    'a',
    '0',
    'library/ubuntu',
    'a/b/c/d/e/f',
    'a.b',
    'a_b',
    'a__b',
    'a-b',
    'a--b',
    'a---b',
    'a0.b1_c2__d3-e4',
    'foo/manifests',
    'foo/blobs',
    'foo/tags',
    'a'.repeat(255),
    `${'abcdefghi/'.repeat(25)}abcde`, // 255 characters with slashes
  ];
  for (const name of valid) {
    test(`valid name ${name.length > 40 ? name.slice(0, 20) + '…(' + name.length + ')' : name} is accepted`, async () => {
      const res = await raw(base, { method: 'GET', path: `/v2/${name}/tags/list` });
      // A valid name of a repository that does not exist: 404 NAME_UNKNOWN, never 400.
      expectRawError(res, 404, 'NAME_UNKNOWN', `GET /v2/${name}/tags/list`);
    });
  }

  const invalid: [string, string][] = [
    ['Upper', 'upper case'],
    ['foo/Bar', 'upper case in a later component'],
    ['a..b', 'double period'],
    ['a.-b', 'mixed separators'],
    ['a___b', 'three underscores'],
    ['.a', 'leading separator'],
    ['-a', 'leading dash'],
    ['_a', 'leading underscore'],
    ['a.', 'trailing period'],
    ['a-', 'trailing dash'],
    ['a/', 'trailing slash'],
    ['a//b', 'empty component'],
    ['/a', 'leading slash'],
    ['..', 'dot-dot'],
    ['a/../b', 'dot-dot component'],
    ['a/./b', 'dot component'],
    ['../etc', 'traversal'],
    ['a%2Fb', 'encoded slash'],
    ['a%2fb', 'encoded slash (lower case)'],
    ['%2e%2e/a', 'encoded dot-dot'],
    ['a%00b', 'encoded NUL'],
    ['a%20b', 'encoded space'],
    ['caf%C3%A9', 'non-ASCII'],
    ['a'.repeat(256), 'longer than 255 characters'],
    [`${'abcdefghi/'.repeat(25)}abcdef`, '256 characters with slashes'],
  ];
  for (const [name, why] of invalid) {
    test(`invalid name (${why}) → 400 NAME_INVALID`, async () => {
      const res = await raw(base, { method: 'GET', path: `/v2/${name}/tags/list` });
      expectRawError(res, 400, 'NAME_INVALID', `GET /v2/${name.slice(0, 40)}/tags/list`);
    });
  }

  test('every endpoint with a name refuses an invalid one with 400 NAME_INVALID', async () => {
    const d = absentDigest();
    const uuid = '0f8e3c1e-8b2a-4c1a-9b9a-2f7a4e5d6c7b';
    for (const name of ['Bad', 'a/../b', 'a%2Fb', 'a%00b', 'a/']) {
      const requests: { method: string; path: string; body?: string }[] = [
        { method: 'GET', path: `/v2/${name}/tags/list` },
        { method: 'GET', path: `/v2/${name}/manifests/latest` },
        { method: 'HEAD', path: `/v2/${name}/manifests/${d}` },
        { method: 'PUT', path: `/v2/${name}/manifests/latest`, body: '{}' },
        { method: 'DELETE', path: `/v2/${name}/manifests/${d}` },
        { method: 'GET', path: `/v2/${name}/blobs/${d}` },
        { method: 'DELETE', path: `/v2/${name}/blobs/${d}` },
        { method: 'POST', path: `/v2/${name}/blobs/uploads/` },
        { method: 'POST', path: `/v2/${name}/blobs/uploads/?digest=${sha256('')}`, body: '' },
        { method: 'GET', path: `/v2/${name}/blobs/uploads/${uuid}` },
        { method: 'PATCH', path: `/v2/${name}/blobs/uploads/${uuid}`, body: 'x' },
        { method: 'PUT', path: `/v2/${name}/blobs/uploads/${uuid}?digest=${sha256('x')}`, body: 'x' },
        { method: 'DELETE', path: `/v2/${name}/blobs/uploads/${uuid}` },
        { method: 'GET', path: `/v2/${name}/referrers/${d}` },
      ];
      for (const r of requests) {
        const res = await raw(base, { method: r.method, path: r.path, ...(r.body !== undefined && { body: r.body }) });
        const what = `${r.method} ${r.path}`;
        if (r.method === 'HEAD') {
          assert.equal(res.status, 400, what);
          assert.equal(header(res, 'docker-distribution-api-version'), API_VERSION, what);
          assert.equal(res.body.length, 0, `${what}: HEAD has no body`);
        } else {
          expectRawError(res, 400, 'NAME_INVALID', what);
        }
      }
    }
  });
});
