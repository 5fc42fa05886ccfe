// Blob uploads: POST (session, monolithic, mount), PATCH chunks, PUT completion, GET progress, DELETE cancel,
// and every way a client can get them wrong.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import {
  abortMidBody,
  absentDigest,
  call,
  useTestRegistry,
  expectError,
  expectRawError,
  expectStatus,
  header,
  locationOf,
  pushBlob,
  randomData,
  raw,
  sha256,
  sha512,
  sleep,
  startUpload,
  uniqueName,
  withQuery,
} from './helpers.js';

let base = '';
useTestRegistry((url) => (base = url));

const UUID = /[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}/;
const octet = { 'Content-Type': 'application/octet-stream' };

async function blobBytes(name: string, digest: string): Promise<Buffer> {
  const res = await call(base, 'GET', `/v2/${name}/blobs/${digest}`);
  await expectStatus(res, 200, `GET /v2/${name}/blobs/${digest}`);
  return Buffer.from(await res.arrayBuffer());
}

async function assertNoBlob(name: string, digest: string): Promise<void> {
  const res = await call(base, 'HEAD', `/v2/${name}/blobs/${digest}`);
  assert.equal(res.status, 404, `blob ${digest} must not exist in ${name}`);
}

/** PATCH a chunk with Content-Range start-end (inclusive); returns the response (unchecked). */
async function patch(loc: URL, chunk: Buffer, start: number | null): Promise<Response> {
  const headers: Record<string, string> = { ...octet };
  if (start !== null) headers['Content-Range'] = `${start}-${start + chunk.length - 1}`;
  return call(base, 'PATCH', loc, { headers, body: chunk });
}

/** The session's upload id: the Docker-Upload-UUID header. */
function uploadId(res: Response): string {
  const id = res.headers.get('docker-upload-uuid');
  assert.ok(id, 'Docker-Upload-UUID header');
  return id;
}

describe('POST /v2/<name>/blobs/uploads/ (start a session)', () => {
  test('202 with Location, Range: 0-0 and Docker-Upload-UUID', async () => {
    const name = uniqueName('start');
    const res = await call(base, 'POST', `/v2/${name}/blobs/uploads/`);
    await expectStatus(res, 202, 'POST uploads');
    const loc = res.headers.get('location');
    assert.ok(loc, 'Location');
    assert.equal(res.headers.get('range'), '0-0');
    const id = uploadId(res);
    assert.match(id, UUID);
    assert.ok(loc.includes(id), `Location ${loc} contains the session UUID ${id}`);
    await res.arrayBuffer();
  });

  test('each POST opens a distinct session', async () => {
    const name = uniqueName('distinct');
    const a = await startUpload(base, name);
    const b = await startUpload(base, name);
    assert.notEqual(a.href, b.href);
  });

  test('GET <location> of a fresh session → 204 with Range 0-0 and Location', async () => {
    const name = uniqueName('fresh');
    const loc = await startUpload(base, name);
    const res = await call(base, 'GET', loc);
    await expectStatus(res, 204, 'GET session');
    assert.equal(res.headers.get('range'), '0-0');
    assert.ok(res.headers.get('location'), 'Location on upload status');
    assert.equal(locationOf(base, res).pathname, loc.pathname);
  });
});

describe('monolithic upload: POST ?digest= with the body', () => {
  test('201 with Location /v2/<name>/blobs/<digest> and Docker-Content-Digest', async () => {
    const name = uniqueName('mono');
    const bytes = randomData(2048);
    const d = sha256(bytes);
    const res = await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { headers: octet, body: bytes });
    await expectStatus(res, 201, 'monolithic POST');
    assert.equal(res.headers.get('location'), `/v2/${name}/blobs/${d}`);
    assert.equal(res.headers.get('docker-content-digest'), d);
    await res.arrayBuffer();
    const got = await call(base, 'GET', locationOf(base, res));
    await expectStatus(got, 200, 'GET the returned Location');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(bytes), 'Buffer.from(await got.arrayBuffer()).equals(bytes)');
  });

  test('an empty blob', async () => {
    const name = uniqueName('mono-empty');
    const d = sha256('');
    const res = await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { headers: octet, body: Buffer.alloc(0) });
    await expectStatus(res, 201);
    assert.equal((await blobBytes(name, d)).length, 0);
  });

  test('sha512', async () => {
    const name = uniqueName('mono-512');
    const bytes = randomData(300);
    const d = sha512(bytes);
    const res = await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { headers: octet, body: bytes });
    await expectStatus(res, 201);
    assert.equal(res.headers.get('docker-content-digest'), d);
    assert.equal(res.headers.get('location'), `/v2/${name}/blobs/${d}`);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });

  test('digest not matching the body → 400 DIGEST_INVALID and no blob', async () => {
    const name = uniqueName('mono-bad');
    const bytes = randomData(100);
    const wrong = absentDigest();
    await expectError(await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${wrong}`, { headers: octet, body: bytes }), 400, 'DIGEST_INVALID');
    await assertNoBlob(name, wrong);
    await assertNoBlob(name, sha256(bytes));
  });

  test('syntactically invalid digest → 400 DIGEST_INVALID', async () => {
    const name = uniqueName('mono-syntax');
    for (const d of ['sha256:abc', 'nope', `md5:${'a'.repeat(32)}`, `sha256:${'A'.repeat(64)}`]) {
      await expectError(await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { headers: octet, body: 'x' }), 400, 'DIGEST_INVALID', d);
    }
  });

  test('a client that dies mid-body leaves no blob behind, and the registry keeps serving', async () => {
    const name = uniqueName('mono-abort');
    const bytes = randomData(64 * 1024);
    const d = sha256(bytes);
    await abortMidBody(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { ...octet, 'Content-Length': bytes.length }, bytes.subarray(0, 1000));
    await assertNoBlob(name, d);
    await expectStatus(await call(base, 'GET', '/v2/'), 200, 'registry still answers');
    // The same blob can then be pushed whole.
    const res = await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { headers: octet, body: bytes });
    await expectStatus(res, 201);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });
});

describe('POST then PUT <location>?digest=', () => {
  test('PUT with the whole blob → 201 with Location and Docker-Content-Digest', async () => {
    const name = uniqueName('put');
    const bytes = randomData(5000);
    const d = sha256(bytes);
    const loc = await startUpload(base, name);
    const res = await call(base, 'PUT', withQuery(loc, { digest: d }), { headers: octet, body: bytes });
    await expectStatus(res, 201, 'PUT');
    assert.equal(res.headers.get('location'), `/v2/${name}/blobs/${d}`);
    assert.equal(res.headers.get('docker-content-digest'), d);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });

  test('an empty blob: PUT ?digest= with no body → 201', async () => {
    const name = uniqueName('put-empty');
    const d = sha256('');
    const loc = await startUpload(base, name);
    const res = await call(base, 'PUT', withQuery(loc, { digest: d }));
    await expectStatus(res, 201);
    assert.equal((await blobBytes(name, d)).length, 0);
  });

  test('pushing bytes the repository already has → 201 again', async () => {
    const name = uniqueName('put-twice');
    const bytes = randomData(100);
    const d = await pushBlob(base, name, bytes);
    assert.equal(await pushBlob(base, name, bytes), d);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });

  test('PUT without digest → 400 DIGEST_INVALID', async () => {
    const name = uniqueName('put-nodigest');
    const loc = await startUpload(base, name);
    await expectError(await call(base, 'PUT', loc, { headers: octet, body: 'abc' }), 400, 'DIGEST_INVALID');
    await expectError(await call(base, 'PUT', withQuery(loc, { digest: '' }), { headers: octet, body: 'abc' }), 400, 'DIGEST_INVALID');
  });

  test('PUT with a syntactically invalid digest → 400 DIGEST_INVALID', async () => {
    const name = uniqueName('put-syntax');
    const loc = await startUpload(base, name);
    await expectError(await call(base, 'PUT', withQuery(loc, { digest: 'sha256:1234' }), { headers: octet, body: 'abc' }), 400, 'DIGEST_INVALID');
  });

  test('wrong digest → 400 DIGEST_INVALID; the session is gone and no blob appears', async () => {
    const name = uniqueName('put-wrong');
    const bytes = randomData(1000);
    const wrong = absentDigest();
    const loc = await startUpload(base, name);
    await expectError(await call(base, 'PUT', withQuery(loc, { digest: wrong }), { headers: octet, body: bytes }), 400, 'DIGEST_INVALID');
    await expectError(await call(base, 'GET', loc), 404, 'BLOB_UPLOAD_UNKNOWN', 'GET the session after a failed PUT');
    await expectError(await call(base, 'PUT', withQuery(loc, { digest: sha256(bytes) }), { headers: octet, body: bytes }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PUT again');
    await assertNoBlob(name, wrong);
    await assertNoBlob(name, sha256(bytes));
  });

  test('wrong digest after chunks → 400 DIGEST_INVALID, session gone, no blob', async () => {
    const name = uniqueName('patch-wrong');
    const bytes = randomData(600);
    const loc = await startUpload(base, name);
    const p = await patch(loc, bytes, 0);
    await expectStatus(p, 202);
    const next = locationOf(base, p);
    const wrong = sha256(bytes.subarray(1));
    await expectError(await call(base, 'PUT', withQuery(next, { digest: wrong })), 400, 'DIGEST_INVALID');
    await expectError(await call(base, 'GET', next), 404, 'BLOB_UPLOAD_UNKNOWN');
    await assertNoBlob(name, wrong);
    await assertNoBlob(name, sha256(bytes));
  });

  test('a completed session is gone → 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const name = uniqueName('put-done');
    const bytes = randomData(10);
    const loc = await startUpload(base, name);
    await expectStatus(await call(base, 'PUT', withQuery(loc, { digest: sha256(bytes) }), { headers: octet, body: bytes }), 201);
    await expectError(await call(base, 'GET', loc), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patch(loc, bytes, 0), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await call(base, 'PUT', withQuery(loc, { digest: sha256(bytes) }), { headers: octet, body: bytes }), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await call(base, 'DELETE', loc), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('chunked upload: PATCH with Content-Range, then PUT', () => {
  test('each chunk → 202 with Range 0-<last byte> and Location; GET reports progress; PUT without body → 201', async () => {
    const name = uniqueName('chunks');
    const bytes = randomData(3 * 1024 + 17);
    const d = sha256(bytes);
    let loc = await startUpload(base, name);
    const cuts = [0, 1024, 2048, bytes.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const res = await patch(loc, bytes.subarray(cuts[i], cuts[i + 1]), cuts[i]!);
      await expectStatus(res, 202, `PATCH chunk ${i}`);
      assert.equal(res.headers.get('range'), `0-${cuts[i + 1]! - 1}`, `Range after chunk ${i}`);
      assert.ok(res.headers.get('docker-upload-uuid'), 'Docker-Upload-UUID');
      loc = locationOf(base, res);
      await res.arrayBuffer();

      const status = await call(base, 'GET', loc);
      await expectStatus(status, 204, `GET progress after chunk ${i}`);
      assert.equal(status.headers.get('range'), `0-${cuts[i + 1]! - 1}`);
      assert.ok(status.headers.get('location'), 'status.headers.get(\'location\')');
    }
    const put = await call(base, 'PUT', withQuery(loc, { digest: d }));
    await expectStatus(put, 201, 'closing PUT');
    assert.equal(put.headers.get('location'), `/v2/${name}/blobs/${d}`);
    assert.equal(put.headers.get('docker-content-digest'), d);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });

  test('the final chunk in the closing PUT, with Content-Range → 201', async () => {
    const name = uniqueName('final-range');
    const bytes = randomData(1500);
    const d = sha256(bytes);
    const loc = await startUpload(base, name);
    const p = await patch(loc, bytes.subarray(0, 1000), 0);
    await expectStatus(p, 202);
    const put = await call(base, 'PUT', withQuery(locationOf(base, p), { digest: d }), {
      headers: { ...octet, 'Content-Range': `1000-${bytes.length - 1}` },
      body: bytes.subarray(1000),
    });
    await expectStatus(put, 201);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });

  test('the final chunk in the closing PUT, without Content-Range → 201', async () => {
    const name = uniqueName('final-norange');
    const bytes = randomData(1500);
    const d = sha256(bytes);
    const loc = await startUpload(base, name);
    const p = await patch(loc, bytes.subarray(0, 700), 0);
    await expectStatus(p, 202);
    const put = await call(base, 'PUT', withQuery(locationOf(base, p), { digest: d }), { headers: octet, body: bytes.subarray(700) });
    await expectStatus(put, 201);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });

  test('a one-byte chunk reports Range 0-0 and completes', async () => {
    const name = uniqueName('one-byte');
    const bytes = Buffer.from('z');
    const loc = await startUpload(base, name);
    const p = await patch(loc, bytes, 0);
    await expectStatus(p, 202);
    assert.equal(p.headers.get('range'), '0-0');
    await expectStatus(await call(base, 'PUT', withQuery(locationOf(base, p), { digest: sha256(bytes) })), 201);
    assert.ok((await blobBytes(name, sha256(bytes))).equals(bytes), '(await blobBytes(name, sha256(bytes))).equals(bytes)');
  });

  test('sha512 over chunks', async () => {
    const name = uniqueName('chunks-512');
    const bytes = randomData(2000);
    const d = sha512(bytes);
    let loc = await startUpload(base, name);
    for (const [s, e] of [
      [0, 999],
      [1000, 1999],
    ] as const) {
      const p = await patch(loc, bytes.subarray(s, e + 1), s);
      await expectStatus(p, 202);
      assert.equal(p.headers.get('range'), `0-${e}`);
      loc = locationOf(base, p);
    }
    const put = await call(base, 'PUT', withQuery(loc, { digest: d }));
    await expectStatus(put, 201);
    assert.equal(put.headers.get('docker-content-digest'), d);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });
});

describe('out-of-order chunks → 416 with Range and Location', () => {
  test('a gap after the stored bytes', async () => {
    const name = uniqueName('gap');
    const bytes = randomData(300);
    const loc = await startUpload(base, name);
    const p = await patch(loc, bytes.subarray(0, 100), 0);
    await expectStatus(p, 202);
    const next = locationOf(base, p);
    const res = await patch(next, bytes.subarray(150, 200), 150);
    const rangeHeader = res.headers.get('range');
    const location = res.headers.get('location');
    await expectError(res, 416, ['BLOB_UPLOAD_INVALID', 'RANGE_INVALID'], 'PATCH with a gap');
    assert.equal(rangeHeader, '0-99', 'Range on the 416 says what the registry holds');
    assert.ok(location, 'Location on the 416');
    // The session is intact: the right chunk is accepted and the blob completes.
    const ok = await patch(new URL(location, base), bytes.subarray(100), 100);
    await expectStatus(ok, 202);
    assert.equal(ok.headers.get('range'), `0-${bytes.length - 1}`);
    await expectStatus(await call(base, 'PUT', withQuery(locationOf(base, ok), { digest: sha256(bytes) })), 201);
    assert.ok((await blobBytes(name, sha256(bytes))).equals(bytes), '(await blobBytes(name, sha256(bytes))).equals(bytes)');
  });

  test('re-sending from 0 after data was stored', async () => {
    const name = uniqueName('overlap');
    const bytes = randomData(200);
    const loc = await startUpload(base, name);
    const p = await patch(loc, bytes.subarray(0, 100), 0);
    await expectStatus(p, 202);
    const next = locationOf(base, p);
    const res = await patch(next, bytes, 0);
    const rangeHeader = res.headers.get('range');
    const location = res.headers.get('location');
    await expectError(res, 416, ['BLOB_UPLOAD_INVALID', 'RANGE_INVALID']);
    assert.equal(rangeHeader, '0-99');
    assert.ok(location, 'location');
    // Nothing of the refused chunk was stored.
    const status = await call(base, 'GET', next);
    await expectStatus(status, 204);
    assert.equal(status.headers.get('range'), '0-99');
  });

  test('a first chunk that does not start at 0', async () => {
    const name = uniqueName('not-zero');
    const loc = await startUpload(base, name);
    const res = await patch(loc, randomData(10), 5);
    const rangeHeader = res.headers.get('range');
    const location = res.headers.get('location');
    await expectError(res, 416, ['BLOB_UPLOAD_INVALID', 'RANGE_INVALID']);
    assert.ok(rangeHeader !== null && /^0-\d+$/.test(rangeHeader), `Range header on the 416, got ${rangeHeader}`);
    assert.ok(location, 'Location on the 416');
  });

  test('a final chunk in the PUT that does not continue the upload', async () => {
    const name = uniqueName('put-gap');
    const bytes = randomData(300);
    const loc = await startUpload(base, name);
    const p = await patch(loc, bytes.subarray(0, 100), 0);
    await expectStatus(p, 202);
    const res = await call(base, 'PUT', withQuery(locationOf(base, p), { digest: sha256(bytes) }), {
      headers: { ...octet, 'Content-Range': `150-${bytes.length - 1}` },
      body: bytes.subarray(150),
    });
    const rangeHeader = res.headers.get('range');
    await expectError(res, 416, ['BLOB_UPLOAD_INVALID', 'RANGE_INVALID']);
    assert.equal(rangeHeader, '0-99');
    await assertNoBlob(name, sha256(bytes));
  });
});

describe('PATCH without Content-Range (streamed append)', () => {
  test('appends the body; Range grows; chunks with and without Content-Range mix', async () => {
    const name = uniqueName('stream');
    const bytes = randomData(3000);
    const loc = await startUpload(base, name);
    const a = await patch(loc, bytes.subarray(0, 1000), null);
    await expectStatus(a, 202);
    assert.equal(a.headers.get('range'), '0-999');
    const b = await patch(locationOf(base, a), bytes.subarray(1000, 2000), 1000);
    await expectStatus(b, 202);
    assert.equal(b.headers.get('range'), '0-1999');
    const c = await patch(locationOf(base, b), bytes.subarray(2000), null);
    await expectStatus(c, 202);
    assert.equal(c.headers.get('range'), `0-${bytes.length - 1}`);
    await expectStatus(await call(base, 'PUT', withQuery(locationOf(base, c), { digest: sha256(bytes) })), 201);
    assert.ok((await blobBytes(name, sha256(bytes))).equals(bytes), '(await blobBytes(name, sha256(bytes))).equals(bytes)');
  });

  test('a chunked (Transfer-Encoding) body with no Content-Length is appended whole', async () => {
    const name = uniqueName('te-chunked');
    const parts = [randomData(700), randomData(5), randomData(2000)];
    const bytes = Buffer.concat(parts);
    const loc = await startUpload(base, name);
    const res = await raw(base, { method: 'PATCH', path: loc.pathname + loc.search, headers: octet, chunks: parts });
    assert.equal(res.status, 202, `streamed PATCH: ${res.status} ${res.body.toString()}`);
    assert.equal(header(res, 'range'), `0-${bytes.length - 1}`);
    const next = locationOf(base, res);
    await expectStatus(await call(base, 'PUT', withQuery(next, { digest: sha256(bytes) })), 201);
    assert.ok((await blobBytes(name, sha256(bytes))).equals(bytes), '(await blobBytes(name, sha256(bytes))).equals(bytes)');
  });
});

describe('Content-Range and Content-Length disagree → 400 SIZE_INVALID', () => {
  test('Content-Range announces more bytes than Content-Length (fetch)', async () => {
    const name = uniqueName('size-more');
    const loc = await startUpload(base, name);
    await expectError(await call(base, 'PATCH', loc, { headers: { ...octet, 'Content-Range': '0-9' }, body: randomData(5) }), 400, 'SIZE_INVALID');
  });

  test('Content-Range on an empty body', async () => {
    const name = uniqueName('size-empty');
    const loc = await startUpload(base, name);
    await expectError(await call(base, 'PATCH', loc, { headers: { ...octet, 'Content-Range': '0-9' }, body: '' }), 400, 'SIZE_INVALID');
  });

  test('Content-Range announces fewer bytes than Content-Length (raw request)', async () => {
    const name = uniqueName('size-fewer');
    const loc = await startUpload(base, name);
    const res = await raw(base, {
      method: 'PATCH',
      path: loc.pathname + loc.search,
      headers: { ...octet, 'Content-Range': '0-4', 'Content-Length': 10 },
      body: randomData(10),
    });
    expectRawError(res, 400, 'SIZE_INVALID', 'PATCH Content-Range 0-4 with Content-Length 10');
  });

  test('on the closing PUT too', async () => {
    const name = uniqueName('size-put');
    const bytes = randomData(20);
    const loc = await startUpload(base, name);
    await expectError(
      await call(base, 'PUT', withQuery(loc, { digest: sha256(bytes) }), { headers: { ...octet, 'Content-Range': '0-99' }, body: bytes }),
      400,
      'SIZE_INVALID',
    );
    await assertNoBlob(name, sha256(bytes));
  });
});

describe('resumable push', () => {
  test('after a client dies mid-chunk, GET tells where to resume and the upload completes', async () => {
    const name = uniqueName('resume');
    const bytes = randomData(256 * 1024);
    const d = sha256(bytes);
    const loc = await startUpload(base, name);
    const first = await patch(loc, bytes.subarray(0, 1000), 0);
    await expectStatus(first, 202);
    const next = locationOf(base, first);
    // Second chunk: announce 100 KiB, send 10 KiB, drop the connection.
    await abortMidBody(
      base,
      'PATCH',
      next.pathname + next.search,
      { ...octet, 'Content-Range': `1000-${1000 + 100 * 1024 - 1}`, 'Content-Length': 100 * 1024 },
      bytes.subarray(1000, 1000 + 10 * 1024),
    );
    // Resume from whatever the registry reports (it may still be finishing the dropped request: 409 → ask again).
    let done: Response | undefined;
    for (let attempt = 0; attempt < 100 && !done; attempt++) {
      const status = await call(base, 'GET', next);
      await expectStatus(status, 204, 'GET progress after the dropped chunk');
      const r = status.headers.get('range');
      assert.ok(r && /^0-\d+$/.test(r), `Range ${r}`);
      const end = Number(r.split('-')[1]);
      // "0-0" may mean an empty session or one byte; the first chunk made 1000 bytes, so end ≥ 999 here.
      assert.ok(end >= 999 && end < 1000 + 10 * 1024, `the registry holds what it received: Range ${r}`);
      const resume = await patch(locationOf(base, status), bytes.subarray(end + 1), end + 1);
      if (resume.status === 409 || resume.status === 416) {
        await resume.arrayBuffer();
        await sleep(20);
        continue;
      }
      await expectStatus(resume, 202, 'resumed PATCH');
      assert.equal(resume.headers.get('range'), `0-${bytes.length - 1}`);
      done = resume;
    }
    assert.ok(done, 'the upload could be resumed');
    await expectStatus(await call(base, 'PUT', withQuery(locationOf(base, done), { digest: d })), 201);
    assert.ok((await blobBytes(name, d)).equals(bytes), '(await blobBytes(name, d)).equals(bytes)');
  });
});

describe('DELETE <location> (cancel)', () => {
  test('204, then GET/PATCH/PUT/DELETE → 404 BLOB_UPLOAD_UNKNOWN, and no blob', async () => {
    const name = uniqueName('cancel');
    const bytes = randomData(100);
    const loc = await startUpload(base, name);
    const p = await patch(loc, bytes, 0);
    await expectStatus(p, 202);
    const next = locationOf(base, p);
    const res = await call(base, 'DELETE', next);
    await expectStatus(res, 204, 'DELETE session');
    await expectError(await call(base, 'GET', next), 404, 'BLOB_UPLOAD_UNKNOWN', 'GET');
    await expectError(await patch(next, bytes, 100), 404, 'BLOB_UPLOAD_UNKNOWN', 'PATCH');
    await expectError(await call(base, 'PUT', withQuery(next, { digest: sha256(bytes) })), 404, 'BLOB_UPLOAD_UNKNOWN', 'PUT');
    await expectError(await call(base, 'DELETE', next), 404, 'BLOB_UPLOAD_UNKNOWN', 'DELETE again');
    await assertNoBlob(name, sha256(bytes));
  });
});

describe('unknown sessions → 404 BLOB_UPLOAD_UNKNOWN', () => {
  for (const id of ['3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b', 'not-a-session', '00000000-0000-0000-0000-000000000000', 'x'.repeat(200)]) {
    test(`session ${id.slice(0, 40)}`, async () => {
      const path = `/v2/${uniqueName('nosession')}/blobs/uploads/${id}`;
      await expectError(await call(base, 'GET', path), 404, 'BLOB_UPLOAD_UNKNOWN', 'GET');
      await expectError(await call(base, 'PATCH', path, { headers: { ...octet, 'Content-Range': '0-2' }, body: 'abc' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PATCH');
      await expectError(await call(base, 'PUT', `${path}?digest=${sha256('abc')}`, { headers: octet, body: 'abc' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PUT');
      await expectError(await call(base, 'DELETE', path), 404, 'BLOB_UPLOAD_UNKNOWN', 'DELETE');
    });
  }

  test('a session used under another repository name → 404, and it still works in its own', async () => {
    const name = uniqueName('owner');
    const thief = uniqueName('thief');
    const start = await call(base, 'POST', `/v2/${name}/blobs/uploads/`);
    await expectStatus(start, 202);
    const id = uploadId(start);
    const loc = locationOf(base, start);
    const bytes = randomData(64);
    const elsewhere = `/v2/${thief}/blobs/uploads/${id}`;
    await expectError(await call(base, 'GET', elsewhere), 404, 'BLOB_UPLOAD_UNKNOWN', 'GET elsewhere');
    await expectError(await call(base, 'PATCH', elsewhere, { headers: { ...octet, 'Content-Range': `0-${bytes.length - 1}` }, body: bytes }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PATCH elsewhere');
    await expectError(await call(base, 'PUT', `${elsewhere}?digest=${sha256(bytes)}`, { headers: octet, body: bytes }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PUT elsewhere');
    await expectError(await call(base, 'DELETE', elsewhere), 404, 'BLOB_UPLOAD_UNKNOWN', 'DELETE elsewhere');
    await assertNoBlob(thief, sha256(bytes));

    const status = await call(base, 'GET', loc);
    await expectStatus(status, 204, 'the session is untouched');
    assert.equal(status.headers.get('range'), '0-0');
    await expectStatus(await call(base, 'PUT', withQuery(loc, { digest: sha256(bytes) }), { headers: octet, body: bytes }), 201);
    assert.ok((await blobBytes(name, sha256(bytes))).equals(bytes), '(await blobBytes(name, sha256(bytes))).equals(bytes)');
    await assertNoBlob(thief, sha256(bytes));
  });
});

describe('cross-repository mount: POST ?mount=<digest>&from=<repo>', () => {
  test('from a repository that has the blob → 201 with Location and Docker-Content-Digest', async () => {
    const src = uniqueName('mount-src');
    const dst = uniqueName('mount-dst');
    const bytes = randomData(500);
    const d = await pushBlob(base, src, bytes);
    await assertNoBlob(dst, d);
    const res = await call(base, 'POST', `/v2/${dst}/blobs/uploads/?mount=${d}&from=${src}`);
    await expectStatus(res, 201, 'mount');
    assert.equal(res.headers.get('location'), `/v2/${dst}/blobs/${d}`);
    assert.equal(res.headers.get('docker-content-digest'), d);
    await res.arrayBuffer();
    assert.ok((await blobBytes(dst, d)).equals(bytes), '(await blobBytes(dst, d)).equals(bytes)');
  });

  test('mounting a sha512 blob', async () => {
    const src = uniqueName('mount512-src');
    const dst = uniqueName('mount512-dst');
    const bytes = randomData(100);
    const d = await pushBlob(base, src, bytes, 'sha512');
    const res = await call(base, 'POST', `/v2/${dst}/blobs/uploads/?mount=${d}&from=${src}`);
    await expectStatus(res, 201);
    assert.equal(res.headers.get('docker-content-digest'), d);
    assert.ok((await blobBytes(dst, d)).equals(bytes), '(await blobBytes(dst, d)).equals(bytes)');
  });

  test('from a repository that lacks the blob → 202 with a usable upload session, nothing mounted', async () => {
    const holder = uniqueName('mount-holder');
    const src = uniqueName('mount-empty');
    const dst = uniqueName('mount-dst');
    const bytes = randomData(200);
    const d = await pushBlob(base, holder, bytes); // the registry has it, but not in `src`
    await pushBlob(base, src, randomData(5));
    const res = await call(base, 'POST', `/v2/${dst}/blobs/uploads/?mount=${d}&from=${src}`);
    await expectStatus(res, 202, 'failed mount');
    assert.ok(res.headers.get('docker-upload-uuid'), 'res.headers.get(\'docker-upload-uuid\')');
    const loc = locationOf(base, res);
    await res.arrayBuffer();
    await assertNoBlob(dst, d);
    await expectStatus(await call(base, 'PUT', withQuery(loc, { digest: d }), { headers: octet, body: bytes }), 201, 'upload through the new session');
    assert.ok((await blobBytes(dst, d)).equals(bytes), '(await blobBytes(dst, d)).equals(bytes)');
  });

  test('of a digest nobody has → 202', async () => {
    const dst = uniqueName('mount-none');
    const src = uniqueName('mount-none-src');
    await pushBlob(base, src, randomData(5));
    const res = await call(base, 'POST', `/v2/${dst}/blobs/uploads/?mount=${absentDigest()}&from=${src}`);
    await expectStatus(res, 202);
    assert.ok(res.headers.get('location'), 'res.headers.get(\'location\')');
  });

  test('from a repository whose copy was deleted → 202', async () => {
    const src = uniqueName('mount-deleted');
    const dst = uniqueName('mount-deleted-dst');
    const d = await pushBlob(base, src, randomData(50));
    await expectStatus(await call(base, 'DELETE', `/v2/${src}/blobs/${d}`), 202);
    const res = await call(base, 'POST', `/v2/${dst}/blobs/uploads/?mount=${d}&from=${src}`);
    await expectStatus(res, 202);
    await assertNoBlob(dst, d);
  });

  test('without from: either mounted (201, blob readable) or a new session (202)', async () => {
    const src = uniqueName('mount-nofrom-src');
    const dst = uniqueName('mount-nofrom-dst');
    const bytes = randomData(40);
    const d = await pushBlob(base, src, bytes);
    const res = await call(base, 'POST', `/v2/${dst}/blobs/uploads/?mount=${d}`);
    assert.ok(res.status === 201 || res.status === 202, `got ${res.status}`);
    if (res.status === 201) assert.ok((await blobBytes(dst, d)).equals(bytes));
    else assert.ok(res.headers.get('location'));
  });

  test('with an invalid from name: never mounts (202 session, or 400 NAME_INVALID)', async () => {
    const dst = uniqueName('mount-badfrom');
    const res = await call(base, 'POST', `/v2/${dst}/blobs/uploads/?mount=${absentDigest()}&from=Not..Valid`);
    if (res.status === 400) await expectError(res, 400, 'NAME_INVALID');
    else {
      await expectStatus(res, 202, 'mount with invalid from');
      assert.ok(res.headers.get('location'), 'res.headers.get(\'location\')');
    }
  });

  test('with an invalid digest → 400 DIGEST_INVALID', async () => {
    const dst = uniqueName('mount-baddigest');
    const src = uniqueName('mount-baddigest-src');
    await expectError(await call(base, 'POST', `/v2/${dst}/blobs/uploads/?mount=sha256:nope&from=${src}`), 400, 'DIGEST_INVALID');
  });
});

describe('concurrent writes to one session', () => {
  test('a second write while a chunk is still streaming → 409 BLOB_UPLOAD_INVALID; the first completes', async () => {
    const name = uniqueName('concurrent');
    const bytes = randomData(64 * 1024);
    const loc = await startUpload(base, name);
    const url = new URL(base);
    // First writer: announces the whole blob, sends half, and holds the request open.
    const first = httpRequest({
      host: url.hostname,
      port: url.port,
      method: 'PATCH',
      path: loc.pathname + loc.search,
      headers: { ...octet, 'Content-Range': `0-${bytes.length - 1}`, 'Content-Length': bytes.length },
      agent: false,
    });
    const firstDone = new Promise<{ status: number; range: string | undefined }>((resolve, reject) => {
      first.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, range: res.headers.range }));
      });
      first.on('error', reject);
    });
    first.write(bytes.subarray(0, bytes.length / 2));
    // Second writer: a chunk far out of order. While the first is writing it must be refused with 409; before
    // the first has started it gets 416 (a refusal with no effect), so ask until the first is under way.
    let conflict: Response | undefined;
    for (let attempt = 0; attempt < 200 && !conflict; attempt++) {
      const res = await call(base, 'PATCH', loc, { headers: { ...octet, 'Content-Range': '1000000-1000009' }, body: randomData(10) });
      if (res.status === 409) conflict = res;
      else {
        assert.equal(res.status, 416, `a refused out-of-order chunk: got ${res.status}`);
        await res.arrayBuffer();
        await sleep(5);
      }
    }
    assert.ok(conflict, 'the concurrent write was answered with 409');
    await expectError(conflict, 409, 'BLOB_UPLOAD_INVALID', 'concurrent PATCH');
    first.end(bytes.subarray(bytes.length / 2));
    const done = await firstDone;
    assert.equal(done.status, 202, 'the first writer completes');
    assert.equal(done.range, `0-${bytes.length - 1}`);
    await expectStatus(await call(base, 'PUT', withQuery(loc, { digest: sha256(bytes) })), 201);
    assert.ok((await blobBytes(name, sha256(bytes))).equals(bytes), '(await blobBytes(name, sha256(bytes))).equals(bytes)');
  });
});
