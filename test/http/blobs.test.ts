// GET / HEAD / DELETE /v2/<name>/blobs/<digest>: content, headers, byte ranges, repository scoping,
// deletion, invalid digests and sha512.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  API_VERSION,
  absentDigest,
  call,
  closeRegistry,
  expectError,
  expectStatus,
  headValue,
  pushBlob,
  randomData,
  rawExchange,
  sha256,
  sha512,
  uniqueName,
} from './helpers.js';

let reg: TestRegistry;
let base: string;
const repo = uniqueName('blobs');
const data = randomData(1000);
let digest: string;

before(async () => {
  reg = await startTestRegistry();
  base = reg.url;
  digest = await pushBlob(base, repo, data);
});

after(async () => {
  await closeRegistry(reg);
});

function range(value: string): Record<string, string> {
  return { Range: value };
}

describe('GET a blob', () => {
  test('200 with the exact bytes and the spec headers', async () => {
    const res = await call(base, 'GET', `/v2/${repo}/blobs/${digest}`);
    await expectStatus(res, 200, 'GET blob');
    assert.equal(res.headers.get('content-length'), String(data.length));
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('docker-content-digest'), digest);
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    const body = Buffer.from(await res.arrayBuffer());
    assert.ok(body.equals(data), 'body is the pushed bytes');
    assert.equal(sha256(body), res.headers.get('docker-content-digest'), 'Docker-Content-Digest matches the body');
  });

  test('a larger blob (1 MiB) comes back byte for byte', async () => {
    const big = randomData(1024 * 1024 + 7);
    const d = await pushBlob(base, repo, big);
    const res = await call(base, 'GET', `/v2/${repo}/blobs/${d}`);
    await expectStatus(res, 200);
    assert.equal(res.headers.get('content-length'), String(big.length));
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(big), 'Buffer.from(await res.arrayBuffer()).equals(big)');
  });

  test('an empty blob is served with Content-Length 0', async () => {
    const d = await pushBlob(base, repo, Buffer.alloc(0));
    assert.equal(d, sha256(''));
    const res = await call(base, 'GET', `/v2/${repo}/blobs/${d}`);
    await expectStatus(res, 200);
    assert.equal(res.headers.get('content-length'), '0');
    assert.equal(res.headers.get('docker-content-digest'), d);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test('unknown digest in the repository → 404 BLOB_UNKNOWN', async () => {
    await expectError(await call(base, 'GET', `/v2/${repo}/blobs/${absentDigest()}`), 404, 'BLOB_UNKNOWN');
  });

  test('unknown repository → 404', async () => {
    await expectError(await call(base, 'GET', `/v2/${uniqueName('nowhere')}/blobs/${digest}`), 404, ['BLOB_UNKNOWN', 'NAME_UNKNOWN']);
  });
});

describe('HEAD a blob', () => {
  test('200 with the same headers as GET and no body', async () => {
    const r = await rawExchange(base, `HEAD /v2/${repo}/blobs/${digest} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200);
    assert.equal(headValue(r.head, 'content-length'), String(data.length));
    assert.equal(headValue(r.head, 'content-type'), 'application/octet-stream');
    assert.equal(headValue(r.head, 'docker-content-digest'), digest);
    assert.equal(headValue(r.head, 'accept-ranges'), 'bytes');
    assert.equal(headValue(r.head, 'docker-distribution-api-version'), API_VERSION);
    assert.equal(r.rest.length, 0, 'a HEAD response has no body');
  });

  test('unknown blob → 404 with no body', async () => {
    const r = await rawExchange(base, `HEAD /v2/${repo}/blobs/${absentDigest()} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 404);
    assert.equal(headValue(r.head, 'docker-distribution-api-version'), API_VERSION);
    assert.equal(r.rest.length, 0);
  });

  test('Range is ignored on HEAD (RFC 9110: range handling is defined for GET only)', async () => {
    const res = await call(base, 'HEAD', `/v2/${repo}/blobs/${digest}`, { headers: range('bytes=0-9') });
    await expectStatus(res, 200);
    assert.equal(res.headers.get('content-length'), String(data.length));
  });
});

describe('byte ranges', () => {
  async function get206(rangeValue: string, start: number, end: number): Promise<void> {
    const res = await call(base, 'GET', `/v2/${repo}/blobs/${digest}`, { headers: range(rangeValue) });
    await expectStatus(res, 206, `Range: ${rangeValue}`);
    assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`, `Content-Range for ${rangeValue}`);
    assert.equal(res.headers.get('content-length'), String(end - start + 1), `Content-Length for ${rangeValue}`);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    const body = Buffer.from(await res.arrayBuffer());
    assert.ok(body.equals(data.subarray(start, end + 1)), `body for ${rangeValue}`);
  }

  test('bytes=a-b → 206 with the inclusive slice and Content-Range', async () => {
    await get206('bytes=0-9', 0, 9);
    await get206('bytes=100-199', 100, 199);
    await get206('bytes=999-999', 999, 999);
    await get206('bytes=0-999', 0, 999);
  });

  test('open-ended bytes=a- → from a to the end', async () => {
    await get206('bytes=900-', 900, 999);
    await get206('bytes=0-', 0, 999);
  });

  test('suffix bytes=-n → the last n bytes', async () => {
    await get206('bytes=-10', 990, 999);
    await get206('bytes=-5000', 0, 999);
  });

  test('an end past the blob is clamped to the last byte', async () => {
    await get206('bytes=990-5000', 990, 999);
  });

  test('a range starting at or past the end → 416 with Content-Range: bytes */SIZE', async () => {
    for (const v of [`bytes=${data.length}-`, `bytes=${data.length}-${data.length + 10}`, 'bytes=5000-6000']) {
      const res = await call(base, 'GET', `/v2/${repo}/blobs/${digest}`, { headers: range(v) });
      assert.equal(res.status, 416, `Range: ${v}`);
      assert.equal(res.headers.get('docker-distribution-api-version'), API_VERSION);
      assert.equal(res.headers.get('content-range'), `bytes */${data.length}`, `Content-Range for ${v}`);
      await res.arrayBuffer();
    }
  });

  test('bytes=-0 is unsatisfiable → 416', async () => {
    const res = await call(base, 'GET', `/v2/${repo}/blobs/${digest}`, { headers: range('bytes=-0') });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), `bytes */${data.length}`);
    await res.arrayBuffer();
  });

  test('any range of an empty blob is unsatisfiable → 416 bytes */0', async () => {
    const d = await pushBlob(base, repo, Buffer.alloc(0));
    const res = await call(base, 'GET', `/v2/${repo}/blobs/${d}`, { headers: range('bytes=0-0') });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), 'bytes */0');
    await res.arrayBuffer();
  });

  test('malformed Range headers are ignored → 200 with the whole blob', async () => {
    for (const v of ['bytes=abc', 'items=0-9', 'bytes=9-2', 'bytes=', 'bytes=-', '0-9', 'bytes 0-9', 'bytes=1-2-3']) {
      const res = await call(base, 'GET', `/v2/${repo}/blobs/${digest}`, { headers: range(v) });
      await expectStatus(res, 200, `Range: ${v}`);
      assert.equal(res.headers.get('content-range'), null, `no Content-Range on a 200 (Range: ${v})`);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data), `whole body for Range: ${v}`);
    }
  });

  test('a multi-range request is either ignored (200, whole blob) or answered with 206', async () => {
    const res = await call(base, 'GET', `/v2/${repo}/blobs/${digest}`, { headers: range('bytes=0-1,5-6') });
    assert.ok(res.status === 200 || res.status === 206, `got ${res.status}`);
    if (res.status === 200) assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    else await res.arrayBuffer();
  });

  test('resuming a download with ranges reassembles the blob', async () => {
    const parts: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += 300) {
      const res = await call(base, 'GET', `/v2/${repo}/blobs/${digest}`, { headers: range(`bytes=${offset}-${offset + 299}`) });
      await expectStatus(res, 206);
      parts.push(Buffer.from(await res.arrayBuffer()));
    }
    assert.ok(Buffer.concat(parts).equals(data), 'Buffer.concat(parts).equals(data)');
  });
});

describe('repository scoping', () => {
  test('a blob pushed to one repository is unknown in another → 404 BLOB_UNKNOWN', async () => {
    const other = uniqueName('other');
    await pushBlob(base, other, randomData(10)); // the other repository exists
    await expectError(await call(base, 'GET', `/v2/${other}/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    const head = await call(base, 'HEAD', `/v2/${other}/blobs/${digest}`);
    assert.equal(head.status, 404);
    await expectError(await call(base, 'DELETE', `/v2/${other}/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    // and deleting there did not touch the repository that holds it
    await expectStatus(await call(base, 'HEAD', `/v2/${repo}/blobs/${digest}`), 200);
  });

  test('the same bytes pushed to two repositories are served by both', async () => {
    const bytes = randomData(50);
    const a = uniqueName('twin');
    const b = uniqueName('twin');
    const d = await pushBlob(base, a, bytes);
    assert.equal(await pushBlob(base, b, bytes), d);
    for (const name of [a, b]) {
      const res = await call(base, 'GET', `/v2/${name}/blobs/${d}`);
      await expectStatus(res, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), 'Buffer.from(await res.arrayBuffer()).equals(bytes)');
    }
  });
});

describe('DELETE a blob', () => {
  test('202, then GET and HEAD → 404, and a second DELETE → 404 BLOB_UNKNOWN', async () => {
    const name = uniqueName('del');
    const d = await pushBlob(base, name, randomData(100));
    const res = await call(base, 'DELETE', `/v2/${name}/blobs/${d}`);
    await expectStatus(res, 202, 'DELETE blob');
    await res.arrayBuffer();
    await expectError(await call(base, 'GET', `/v2/${name}/blobs/${d}`), 404, 'BLOB_UNKNOWN');
    assert.equal((await call(base, 'HEAD', `/v2/${name}/blobs/${d}`)).status, 404);
    await expectError(await call(base, 'DELETE', `/v2/${name}/blobs/${d}`), 404, 'BLOB_UNKNOWN');
  });

  test('deleting from one repository leaves other repositories\' copies', async () => {
    const bytes = randomData(100);
    const a = uniqueName('del-a');
    const b = uniqueName('del-b');
    const d = await pushBlob(base, a, bytes);
    const mount = await call(base, 'POST', `/v2/${b}/blobs/uploads/?mount=${d}&from=${a}`);
    await expectStatus(mount, 201, 'mount');
    await mount.arrayBuffer();
    await expectStatus(await call(base, 'DELETE', `/v2/${a}/blobs/${d}`), 202);
    assert.equal((await call(base, 'HEAD', `/v2/${a}/blobs/${d}`)).status, 404);
    const res = await call(base, 'GET', `/v2/${b}/blobs/${d}`);
    await expectStatus(res, 200, 'GET in the repository that mounted it');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), 'Buffer.from(await res.arrayBuffer()).equals(bytes)');
  });

  test('a deleted blob can be pushed again', async () => {
    const name = uniqueName('repush');
    const bytes = randomData(64);
    const d = await pushBlob(base, name, bytes);
    await expectStatus(await call(base, 'DELETE', `/v2/${name}/blobs/${d}`), 202);
    assert.equal(await pushBlob(base, name, bytes), d);
    const res = await call(base, 'GET', `/v2/${name}/blobs/${d}`);
    await expectStatus(res, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), 'Buffer.from(await res.arrayBuffer()).equals(bytes)');
  });

  test('unknown blob → 404 BLOB_UNKNOWN', async () => {
    await expectError(await call(base, 'DELETE', `/v2/${repo}/blobs/${absentDigest()}`), 404, 'BLOB_UNKNOWN');
  });
});

describe('invalid digests → 400 DIGEST_INVALID', () => {
  const bad = [
    'sha256:abc',
    `sha256:${'a'.repeat(63)}`,
    `sha256:${'a'.repeat(65)}`,
    `sha256:${'g'.repeat(64)}`,
    `sha256:${'A'.repeat(64)}`,
    `sha512:${'a'.repeat(64)}`,
    'sha256:',
    ':abc',
    'notadigest',
    `SHA256:${'a'.repeat(64)}`,
    `md5:${'a'.repeat(32)}`,
  ];
  for (const d of bad) {
    test(`GET and DELETE /blobs/${d.length > 30 ? d.slice(0, 20) + '…' : d}`, async () => {
      await expectError(await call(base, 'GET', `/v2/${repo}/blobs/${d}`), 400, 'DIGEST_INVALID', `GET ${d}`);
      await expectError(await call(base, 'DELETE', `/v2/${repo}/blobs/${d}`), 400, 'DIGEST_INVALID', `DELETE ${d}`);
      const head = await call(base, 'HEAD', `/v2/${repo}/blobs/${d}`);
      assert.equal(head.status, 400, `HEAD ${d}`);
    });
  }
});

describe('sha512 blobs', () => {
  test('pushed, served, ranged, scoped and deleted by their sha512 digest', async () => {
    const name = uniqueName('sha512');
    const bytes = randomData(777);
    const d = await pushBlob(base, name, bytes, 'sha512');
    assert.equal(d, sha512(bytes));
    assert.match(d, /^sha512:[a-f0-9]{128}$/);

    const get = await call(base, 'GET', `/v2/${name}/blobs/${d}`);
    await expectStatus(get, 200, 'GET sha512 blob');
    assert.equal(get.headers.get('docker-content-digest'), d);
    assert.equal(get.headers.get('content-length'), String(bytes.length));
    assert.ok(Buffer.from(await get.arrayBuffer()).equals(bytes), 'Buffer.from(await get.arrayBuffer()).equals(bytes)');

    const head = await call(base, 'HEAD', `/v2/${name}/blobs/${d}`);
    await expectStatus(head, 200, 'HEAD sha512 blob');
    assert.equal(head.headers.get('docker-content-digest'), d);

    const part = await call(base, 'GET', `/v2/${name}/blobs/${d}`, { headers: range('bytes=10-19') });
    await expectStatus(part, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20)), 'Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20))');

    // The sha256 digest of the same bytes was never pushed to this repository.
    await expectError(await call(base, 'GET', `/v2/${name}/blobs/${sha256(bytes)}`), 404, 'BLOB_UNKNOWN');
    await expectError(await call(base, 'GET', `/v2/${repo}/blobs/${d}`), 404, 'BLOB_UNKNOWN');

    await expectStatus(await call(base, 'DELETE', `/v2/${name}/blobs/${d}`), 202);
    await expectError(await call(base, 'GET', `/v2/${name}/blobs/${d}`), 404, 'BLOB_UNKNOWN');
  });
});
