// Hardening against bad input, case by case: names that try path traversal (dot segments, percent-encoded
// dots and slashes, NUL, backslashes) are NAME_INVALID and never reach the storage driver; header size (431),
// manifest size (413, configurable) and in-flight request (429) limits; no 5xx for any of it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHardenedRegistry, assertStoragePathsClean, errorCodesOf, rawRequest, requestHead, type HardenedRegistry } from './hardening-server.js';
import { call, expectError, expectStatus, pushImage, sha256, putManifest, MT, startUpload } from './helpers.js';
import { connect, type Socket } from 'node:net';

describe('path traversal in names and references', () => {
  let reg: HardenedRegistry;
  before(async () => {
    reg = await startHardenedRegistry();
    await pushImage(reg.url, 'good/repo', { tag: 'v1' });
  });
  after(async () => {
    await reg?.close();
  });

  const digest = sha256('x');
  // Every target is sent byte for byte (no client-side normalisation of dot segments or backslashes).
  const nameCases: string[] = [
    '/v2/../../../etc/manifests/latest',
    '/v2/good/../../../../tmp/x/manifests/latest',
    '/v2/good/%2e%2e/%2e%2e/x/manifests/latest',
    '/v2/%2e%2e%2f%2e%2e%2fetc/manifests/latest',
    '/v2/good%2Frepo/manifests/v1',
    '/v2/good%2frepo/tags/list',
    '/v2/good%00repo/manifests/v1',
    '/v2/good/repo%00/blobs/' + digest,
    '/v2/good\\..\\..\\x/manifests/v1',
    '/v2/good%5C..%5Cx/manifests/v1',
    '/v2/./good/manifests/v1',
    '/v2//good/repo/manifests/v1',
    '/v2/good//repo/manifests/v1',
    '/v2/.good/manifests/v1',
    '/v2/Good/Repo/manifests/v1',
    '/v2/' + 'a/'.repeat(200) + 'b/manifests/v1',
    '/v2/' + 'a'.repeat(300) + '/tags/list',
    '/v2/good/repo%252e%252e/blobs/uploads/',
    '/v2/%2e%2e/blobs/uploads/',
    '/v2/good/../blobs/uploads/',
  ];
  for (const target of nameCases) {
    for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
      test(`${method} ${target.slice(0, 80)} → 4xx NAME_INVALID (or no such endpoint or method)`, async () => {
        const res = await rawRequest(reg.url, requestHead(method, target, { 'Content-Length': 0 }));
        assert.ok(res.status !== undefined, `an answer: ${res.head}`);
        assert.ok(res.status >= 400 && res.status < 500, `a client error, not ${res.status}: ${res.head}`);
        const codes = errorCodesOf(res);
        // A method the endpoint does not have is refused before the name is looked at (405 UNSUPPORTED).
        assert.ok(['NAME_INVALID', 'NOT_FOUND', 'UNSUPPORTED'].some((c) => codes.includes(c)), `NAME_INVALID, NOT_FOUND or UNSUPPORTED, got ${res.status} ${res.body.slice(0, 300)}`);
      });
    }
  }

  test('the name grammar answers NAME_INVALID with the error envelope (not a generic 400)', async () => {
    for (const target of ['/v2/good/%2e%2e/x/manifests/latest', '/v2/good/../x/manifests/latest', '/v2/good%2Frepo/manifests/v1', '/v2/a%00b/tags/list', '/v2/a%5Cb/tags/list', '/v2/a\\b/tags/list']) {
      const res = await rawRequest(reg.url, requestHead('GET', target));
      assert.equal(res.status, 400, `GET ${target}: ${res.head}`);
      assert.deepEqual(errorCodesOf(res), ['NAME_INVALID'], `GET ${target}: ${res.body}`);
    }
  });

  const referenceCases: [string, string[]][] = [
    ['/v2/good/repo/manifests/..', ['TAG_INVALID', 'MANIFEST_UNKNOWN']],
    ['/v2/good/repo/manifests/%2e%2e', ['TAG_INVALID', 'MANIFEST_UNKNOWN']],
    ['/v2/good/repo/manifests/sha256:..%2F..%2Fx', ['DIGEST_INVALID', 'MANIFEST_UNKNOWN', 'TAG_INVALID']],
    ['/v2/good/repo/blobs/sha256:..', ['DIGEST_INVALID', 'BLOB_UNKNOWN']],
    ['/v2/good/repo/blobs/..%2F..%2Fwharf.db', ['DIGEST_INVALID', 'BLOB_UNKNOWN']],
    ['/v2/good/repo/blobs/uploads/..%2F..%2Fwharf.db', ['BLOB_UPLOAD_UNKNOWN']],
    ['/v2/good/repo/blobs/uploads/%2e%2e', ['BLOB_UPLOAD_UNKNOWN']],
    ['/v2/good/repo/referrers/..%2F..', ['DIGEST_INVALID', 'MANIFEST_UNKNOWN']],
  ];
  for (const [target, codes] of referenceCases) {
    test(`GET ${target} → ${codes.join(' or ')}`, async () => {
      const res = await rawRequest(reg.url, requestHead('GET', target));
      assert.ok(res.status !== undefined && res.status >= 400 && res.status < 500, `a client error: ${res.head}`);
      assert.ok(errorCodesOf(res).some((c) => codes.includes(c)), `one of ${codes.join(', ')}: ${res.body.slice(0, 300)}`);
    });
  }

  test('the path is never percent-decoded (an encoded character is refused, not decoded); the query string is', async () => {
    const image = await pushImage(reg.url, 'decode/repo', { tag: 'v1' });
    const tag = await rawRequest(reg.url, requestHead('GET', '/v2/decode/repo/manifests/v%31', { Accept: '*/*' }));
    assert.deepEqual(errorCodesOf(tag), ['TAG_INVALID'], `v%31 is not v1: ${tag.body}`);
    const digest = await rawRequest(reg.url, requestHead('GET', `/v2/decode/repo/blobs/${image.config.digest.replace(':', '%3A')}`));
    assert.deepEqual(errorCodesOf(digest), ['DIGEST_INVALID'], `an encoded colon is not a colon: ${digest.body}`);
    const name = await rawRequest(reg.url, requestHead('GET', '/v2/decode%2Frepo/tags/list'));
    assert.deepEqual(errorCodesOf(name), ['NAME_INVALID'], `an encoded slash is not a slash: ${name.body}`);
    const query = await rawRequest(reg.url, requestHead('GET', '/v2/decode/repo/tags/list?n=%31'));
    assert.equal(query.status, 200, query.head);
    assert.deepEqual(JSON.parse(query.body), { name: 'decode/repo', tags: ['v1'] }, 'n=%31 is n=1');
  });

  test('a raw NUL, raw backslash or raw space in the request line is refused by the parser with 400', async () => {
    for (const line of ['GET /v2/a\0b/tags/list HTTP/1.1', 'GET /v2/a b/tags/list HTTP/1.1']) {
      const res = await rawRequest(reg.url, `${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.ok(res.status === undefined || (res.status >= 400 && res.status < 500), `${JSON.stringify(line)}: ${res.head}`);
    }
  });

  test('nothing reached the storage driver but clean paths, and nothing was written outside the data directory', () => {
    assertStoragePathsClean(reg, 'after the traversal attempts');
    assert.deepEqual(reg.outsideData(), ['wharf.yaml'], 'only the config file sits next to the data directory');
  });
});

describe('request framing and odd request targets', () => {
  let reg: HardenedRegistry;
  let session = '';
  before(async () => {
    reg = await startHardenedRegistry('http:\n  bodyIdleTimeoutSeconds: 1\n');
    session = (await startUpload(reg.url, 'framing/repo')).pathname;
  });
  after(async () => {
    await reg?.close();
  });

  const cases: [string, () => string][] = [
    ['a bad chunk size in a chunked body', () => `PATCH ${session} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`],
    ['Content-Length and Transfer-Encoding together', () => `PATCH ${session} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`],
    ['two different Content-Lengths', () => `PATCH ${session} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd`],
    ['a negative Content-Length', () => `PATCH ${session} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\nConnection: close\r\n\r\n`],
    ['a Content-Length beyond 2^53', () => `PATCH ${session} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\nConnection: close\r\n\r\nabc`],
    ['an unknown Transfer-Encoding', () => `PATCH ${session} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nabc`],
    ['an absolute-form target', () => `GET http://127.0.0.1/v2/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['an asterisk-form target', () => `OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['HTTP/1.0 without Host', () => `GET /v2/../x/tags/list HTTP/1.0\r\n\r\n`],
    ['HTTP/2.0 on an HTTP/1 port', () => `GET /v2/ HTTP/2.0\r\nHost: x\r\n\r\n`],
    ['a header without a colon', () => `GET /v2/ HTTP/1.1\r\nHost: x\r\nno colon here\r\nConnection: close\r\n\r\n`],
    ['a bare LF line ending', () => `GET /v2/ HTTP/1.1\nHost: x\nConnection: close\n\n`],
    ['binary garbage', () => '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03' + 'A'.repeat(100) + '\r\n\r\n'],
  ];
  for (const [what, head] of cases) {
    test(`${what}: a 4xx or a closed connection, never a 5xx`, async () => {
      const res = await rawRequest(reg.url, head());
      assert.ok(res.status === undefined ? res.closed : res.status < 500, `${what}: ${res.status} ${res.head}`);
    });
  }

  test('afterwards the upload session is usable and nothing left the data directory', async () => {
    const res = await call(reg.url, 'PATCH', session, { headers: { 'Content-Type': 'application/octet-stream' }, body: 'abc' });
    assert.ok(res.status === 202 || res.status === 416, `the session still answers: ${res.status}`);
    await res.arrayBuffer();
    await expectStatus(await call(reg.url, 'GET', '/v2/'), 200, 'GET /v2/');
    assertStoragePathsClean(reg, 'framing');
    assert.deepEqual(reg.outsideData(), ['wharf.yaml']);
  });
});

describe('limits', () => {
  let reg: HardenedRegistry;
  before(async () => {
    reg = await startHardenedRegistry('http:\n  maxHeaderBytes: 4096\nlimits:\n  maxManifestBytes: 1024\n  maxInFlightRequests: 3\n');
  });
  after(async () => {
    await reg?.close();
  });

  test('a request head over http.maxHeaderBytes → 431; one under it is served', async () => {
    const big = await rawRequest(reg.url, requestHead('GET', '/v2/', { 'X-Big': 'a'.repeat(8192) }));
    assert.equal(big.status, 431, big.head);
    const many = await rawRequest(reg.url, requestHead('GET', '/v2/', Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`X-H${i}`, 'v']))));
    assert.equal(many.status, 431, many.head);
    const small = await rawRequest(reg.url, requestHead('GET', '/v2/', { 'X-Small': 'a'.repeat(2048) }));
    assert.equal(small.status, 200, small.head);
  });

  test('limits.maxManifestBytes: a manifest over it → 413 MANIFEST_INVALID naming the limit; a small one is accepted', async () => {
    const image = await pushImage(reg.url, 'limits/small', { tag: 'v1' });
    assert.ok(image.body.length <= 1024, `the test image manifest is small (${image.body.length} bytes)`);
    const res = await putManifest(reg.url, 'limits/small', 'big', Buffer.concat([image.body, Buffer.alloc(1100 - image.body.length, ' ')]), MT.ociManifest);
    const errors = await expectError(res, 413, 'MANIFEST_INVALID', 'PUT a 1100-byte manifest');
    assert.ok(errors.some((e) => /1024/.test(e.message ?? '')), `the message names the limit: ${errors.map((e) => e.message).join(' | ')}`);
  });

  test('limits.maxInFlightRequests: with 3 requests held open, the next one → 429 TOOMANYREQUESTS with Retry-After', { timeout: 30_000 }, async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const path = (await startUpload(reg.url, 'limits/held')).pathname;
        const { hostname, port } = new URL(reg.url);
        const s = connect({ host: hostname, port: Number(port) });
        s.on('error', () => undefined);
        s.write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000\r\n\r\nabc`);
        held.push(s);
      }
      const deadline = Date.now() + 10_000;
      let res: Response | undefined;
      while (Date.now() < deadline) {
        res = await call(reg.url, 'GET', '/v2/');
        if (res.status === 429) break;
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(res, 'a response');
      await expectError(res, 429, 'TOOMANYREQUESTS', 'GET /v2/ over the in-flight limit');
      assert.equal(res.headers.get('retry-after'), '1');
    } finally {
      for (const s of held) s.destroy();
    }
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      const res = await call(reg.url, 'GET', '/v2/');
      await res.arrayBuffer();
      status = res.status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 200, 'served again once the held requests are gone');
  });

  test('after all of it the server answers and wrote nothing outside its data directory', async () => {
    await expectStatus(await call(reg.url, 'GET', '/v2/'), 200, 'GET /v2/');
    assertStoragePathsClean(reg, 'limits');
    assert.deepEqual(reg.outsideData(), ['wharf.yaml']);
  });
});
