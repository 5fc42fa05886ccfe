// The Wharf extension endpoints over real HTTP: tag history (create, move, delete, multi-tag `?tag=` pushes,
// pagination), rollback (and its refusal of a vanished digest), tag immutability, usage of two repositories
// sharing a layer, and quotas (a push over quota is denied before anything is stored).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import { call, expectError, expectStatus, getJSON, pushBlob, pushImage, pushManifest, putManifest, buildImage, buildIndex, randomData, sha256, startUpload, withQuery, MT } from './helpers.js';

interface HistoryBody {
  name: string;
  tag: string;
  history: { id: number; action: string; oldDigest?: string; newDigest?: string; time: string; by?: string }[];
}

async function startWith(lifecycle: unknown): Promise<{ reg: TestRegistry; dir: string }> {
  const dir = tempDir('wharf-lifecycle-');
  const file = join(dir, 'wharf.yaml');
  writeFileSync(file, JSON.stringify({ lifecycle }));
  return { reg: await startTestRegistry({ config: file }), dir };
}

async function history(base: string, name: string, tag: string, query = ''): Promise<{ body: HistoryBody; link: string | null }> {
  const { res, body } = await getJSON<HistoryBody>(base, `/v2/${name}/_wharf/tags/${tag}/history${query}`);
  return { body, link: res.headers.get('link') };
}

function rollback(base: string, name: string, tag: string, digest: string): Promise<Response> {
  return call(base, 'POST', `/v2/${name}/_wharf/tags/${tag}/rollback`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ digest }) });
}

describe('Wharf extensions: tag history and rollback', () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => {
    ({ reg, dir } = await startWith({}));
  });
  after(async () => {
    await reg.close();
    removeDir(dir);
  });

  test('create, move (multi-tag ?tag= push), delete are recorded newest first and paginate', async () => {
    const base = reg.url;
    const a = await pushImage(base, 'hist/app', { tag: 'v1' });
    const b = buildImage();
    await pushBlob(base, 'hist/app', b.configData);
    for (const l of b.layerData) await pushBlob(base, 'hist/app', l);
    const res = await putManifest(base, 'hist/app', b.digest, b.body, b.mediaType, '?tag=v1&tag=latest');
    await expectStatus(res, 201, 'push by digest with two tags');
    await pushManifest(base, 'hist/app', 'v1', b.body, b.mediaType); // same digest again: no entry
    await expectStatus(await call(base, 'DELETE', '/v2/hist/app/manifests/latest'), 202, 'delete the latest tag');

    const v1 = (await history(base, 'hist/app', 'v1')).body;
    assert.equal(v1.name, 'hist/app');
    assert.deepEqual(
      v1.history.map((e) => [e.action, e.oldDigest, e.newDigest]),
      [
        ['move', a.digest, b.digest],
        ['create', undefined, a.digest],
      ],
    );
    assert.ok(v1.history.every((e) => !Number.isNaN(Date.parse(e.time)) && e.by === undefined), 'ISO times; anonymous pushes have no user');
    const latest = (await history(base, 'hist/app', 'latest')).body;
    assert.deepEqual(latest.history.map((e) => e.action), ['delete', 'create']);

    const first = await history(base, 'hist/app', 'v1', '?n=1');
    assert.equal(first.body.history.length, 1);
    assert.ok(first.link?.includes(`last=${first.body.history[0]!.id}`), `Link names the cursor: ${first.link}`);
    const second = await history(base, 'hist/app', 'v1', `?n=1&last=${first.body.history[0]!.id}`);
    assert.deepEqual(second.body.history.map((e) => e.action), ['create']);
    assert.deepEqual((await history(base, 'hist/app', 'never')).body.history, [], 'a tag never pushed has an empty history');
    await expectError(await call(base, 'GET', '/v2/hist/app/_wharf/tags/v1/history?last=abc'), 400, 'PAGINATION_NUMBER_INVALID', 'a bad cursor');
  });

  test('rollback moves the tag back (recorded) and refuses a digest that is gone', async () => {
    const base = reg.url;
    const a = await pushImage(base, 'hist/rb', { tag: 'stable' });
    const b = await pushImage(base, 'hist/rb', { tag: 'stable' });
    const res = await rollback(base, 'hist/rb', 'stable', a.digest);
    await expectStatus(res, 200, 'rollback');
    assert.deepEqual(await res.json(), { name: 'hist/rb', tag: 'stable', digest: a.digest, previous: b.digest });
    const got = await call(base, 'GET', '/v2/hist/rb/manifests/stable', { headers: { Accept: MT.ociManifest } });
    assert.equal(got.headers.get('docker-content-digest'), a.digest, 'the tag points at the old digest again');
    await got.arrayBuffer();
    assert.deepEqual((await history(base, 'hist/rb', 'stable')).body.history.map((e) => [e.action, e.newDigest]), [
      ['move', a.digest],
      ['move', b.digest],
      ['create', a.digest],
    ]);
    await expectStatus(await call(base, 'DELETE', `/v2/hist/rb/manifests/${b.digest}`), 202, 'delete b');
    const errors = await expectError(await rollback(base, 'hist/rb', 'stable', b.digest), 404, 'MANIFEST_UNKNOWN', 'rollback to a deleted manifest');
    assert.match(errors[0]!.message ?? '', /no longer in the repository/);
    await expectError(
      await call(base, 'POST', '/v2/hist/rb/_wharf/tags/stable/rollback', { headers: { 'Content-Type': 'application/json' }, body: '{}' }),
      400,
      'DIGEST_INVALID',
      'a body without a digest',
    );
    await expectError(await call(base, 'GET', '/v2/hist/rb/_wharf/tags/stable/rollback'), 405, 'UNSUPPORTED', 'GET on rollback');
  });
});

describe('Wharf extensions: immutable tags', () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => {
    ({ reg, dir } = await startWith({ immutableTags: [{ repositories: ['prod/**'], tags: ['v*'] }] }));
  });
  after(async () => {
    await reg.close();
    removeDir(dir);
  });

  test('a move and a delete are denied; the same digest may be pushed again; other tags and repositories move', async () => {
    const base = reg.url;
    const a = await pushImage(base, 'prod/app', { tag: 'v1.0' });
    await pushManifest(base, 'prod/app', 'v1.0', a.body, a.mediaType);
    const b = buildImage();
    await pushBlob(base, 'prod/app', b.configData);
    for (const l of b.layerData) await pushBlob(base, 'prod/app', l);
    const denied = await expectError(await putManifest(base, 'prod/app', 'v1.0', b.body, b.mediaType), 403, 'DENIED', 'moving an immutable tag');
    assert.match(denied[0]!.message ?? '', /prod\/app:v1\.0 is immutable/);
    assert.match(denied[0]!.message ?? '', new RegExp(a.digest));
    await expectError(await putManifest(base, 'prod/app', b.digest, b.body, b.mediaType, '?tag=latest&tag=v1.0'), 403, 'DENIED', 'moving it through ?tag=');
    const head = await call(base, 'HEAD', '/v2/prod/app/manifests/latest');
    assert.equal(head.status, 404, 'the refused multi-tag push set no tag at all');
    await pushManifest(base, 'prod/app', 'latest', b.body, b.mediaType);
    await pushManifest(base, 'prod/app', 'latest', a.body, a.mediaType); // not immutable: moves
    await expectError(await call(base, 'DELETE', '/v2/prod/app/manifests/v1.0'), 403, 'DENIED', 'deleting an immutable tag');
    await expectError(await call(base, 'DELETE', `/v2/prod/app/manifests/${a.digest}`), 403, 'DENIED', 'deleting the manifest an immutable tag holds');
    const still = await call(base, 'HEAD', '/v2/prod/app/manifests/v1.0');
    assert.equal(still.headers.get('docker-content-digest'), a.digest);
    await expectError(await rollback(base, 'prod/app', 'v1.0', b.digest), 403, 'DENIED', 'a rollback cannot move it either');
    await pushImage(base, 'dev/app', { tag: 'v1.0' });
    await pushImage(base, 'dev/app', { tag: 'v1.0' }); // other repositories are not covered
  });
});

describe('Wharf extensions: usage', () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => {
    ({ reg, dir } = await startWith({ quotas: [{ repositories: ['use/b'], maxBytes: '1MiB' }] }));
  });
  after(async () => {
    await reg.close();
    removeDir(dir);
  });

  test('two repositories sharing a layer: exact logical, unique and stored bytes, totals counted once', async () => {
    const base = reg.url;
    const shared = randomData(1000);
    const own = randomData(300);
    const a = await pushImage(base, 'use/a', { tag: 'one', layers: [shared, own] });
    const a2 = await pushImage(base, 'use/a', { tag: 'two', layers: [shared] });
    const b = await pushImage(base, 'use/b', { tag: 'one', layers: [shared] });
    const extra = randomData(50);
    await pushBlob(base, 'use/b', extra); // linked, referenced by no manifest
    const ua = (await getJSON<Record<string, unknown>>(base, '/v2/use/a/_wharf/usage')).body;
    const aManifests = a.size + a2.size;
    assert.deepEqual(ua, {
      repository: 'use/a',
      manifests: 2,
      tags: 2,
      manifestBytes: aManifests,
      logicalBytes: aManifests + a.configData.length + 1000 + 300 + a2.configData.length + 1000,
      uniqueBytes: aManifests + a.configData.length + a2.configData.length + 1300,
      storedBytes: aManifests + a.configData.length + a2.configData.length + 1300,
    });
    const ub = (await getJSON<Record<string, unknown>>(base, '/v2/use/b/_wharf/usage')).body;
    assert.deepEqual(ub, {
      repository: 'use/b',
      manifests: 1,
      tags: 1,
      manifestBytes: b.size,
      logicalBytes: b.size + b.configData.length + 1000,
      uniqueBytes: b.size + b.configData.length + 1000,
      storedBytes: b.size + b.configData.length + 1000 + 50,
      quota: { maxBytes: 1024 * 1024, repositories: ['use/b'] },
    });
    const all = (await getJSON<{ repositories: { repository: string }[]; total: Record<string, number> }>(base, '/v2/_wharf/usage')).body;
    assert.deepEqual(all.repositories.map((r) => r.repository), ['use/a', 'use/b']);
    const blobBytes = a.configData.length + a2.configData.length + b.configData.length + 1300;
    assert.deepEqual(all.total, { blobs: 5, blobBytes, manifests: 3, manifestBytes: aManifests + b.size, uniqueBytes: blobBytes + aManifests + b.size });
    const paged = await getJSON<{ repositories: { repository: string }[] }>(base, '/v2/_wharf/usage?n=1');
    assert.deepEqual(paged.body.repositories.map((r) => r.repository), ['use/a']);
    assert.match(paged.res.headers.get('link') ?? '', /last=use%2Fa/);
    await expectError(await call(base, 'GET', '/v2/use/none/_wharf/usage'), 404, 'NAME_UNKNOWN', 'usage of an unknown repository');
  });
});

/** PATCH with a chunked body (no Content-Length), as a client streaming from a pipe sends. */
function patchChunked(url: URL, parts: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(e));
    let i = 0;
    const next = () => {
      if (i >= parts.length) {
        req.end();
        return;
      }
      req.write(parts[i++], () => setTimeout(next, 5));
    };
    next();
  });
}

describe('Wharf extensions: quotas', () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => {
    ({ reg, dir } = await startWith({ quotas: [{ repositories: ['quota/**'], maxBytes: 2000 }] }));
  });
  after(async () => {
    await reg.close();
    removeDir(dir);
  });

  test('a blob over quota is denied with the quota in the message and nothing is stored', async () => {
    const base = reg.url;
    const firstDigest = await pushBlob(base, 'quota/app', randomData(1500));
    const stored = (d: string) => existsSync(join(reg.data, 'blobs', 'sha256', d.slice(7, 9), d.slice(7)));
    assert.ok(stored(firstDigest), 'a blob within the quota is stored (where the check below looks)');
    const big = randomData(1000);
    const digest = sha256(big);
    const loc = await startUpload(base, 'quota/app');
    const errors = await expectError(
      await call(base, 'PUT', withQuery(loc, { digest }), { headers: { 'Content-Type': 'application/octet-stream' }, body: big }),
      403,
      'DENIED',
      'PUT over quota',
    );
    assert.match(errors[0]!.message ?? '', /storage quota exceeded/);
    assert.match(errors[0]!.message ?? '', /quota\/\*\*/);
    assert.match(errors[0]!.message ?? '', /1\.95 KiB|2000/);
    await expectError(await call(base, 'GET', loc.pathname), 404, 'BLOB_UPLOAD_UNKNOWN', 'the refused session is gone');
    assert.equal((await call(base, 'HEAD', `/v2/quota/app/blobs/${digest}`)).status, 404, 'the blob is not in the repository');
    assert.equal(stored(digest), false, 'no bytes in storage');
    assert.ok(!JSON.stringify((await getJSON(base, '/v2/quota/app/_wharf/usage')).body).includes('"storedBytes":2500'), 'usage did not grow');

    // Monolithic POST with Content-Length.
    await expectError(
      await call(base, 'POST', `/v2/quota/app/blobs/uploads/?digest=${digest}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: big }),
      403,
      'DENIED',
      'monolithic POST over quota',
    );
    // A chunked PATCH without Content-Length is stopped where it crosses, and the session discarded.
    const session = await startUpload(base, 'quota/app');
    const res = await patchChunked(session, Array.from({ length: 8 }, () => randomData(100)));
    assert.equal(res.status, 403, `chunked PATCH over quota: ${res.body}`);
    assert.match(res.body, /storage quota exceeded/);
    await expectError(await call(base, 'GET', session.pathname), 404, 'BLOB_UPLOAD_UNKNOWN', 'the crossing session is discarded');
    const usage = (await getJSON<{ storedBytes: number }>(base, '/v2/quota/app/_wharf/usage')).body;
    assert.equal(usage.storedBytes, 1500, 'only the first blob counts');
  });

  test('a mount and a manifest that would pass the quota are denied; other repositories are free', async () => {
    const base = reg.url;
    const layer = randomData(1800);
    await pushBlob(base, 'free/src', layer);
    await pushBlob(base, 'quota/m', randomData(1000));
    const mount = await call(base, 'POST', `/v2/quota/m/blobs/uploads/?mount=${sha256(layer)}&from=free/src`);
    await expectError(mount, 403, 'DENIED', 'mount over quota');
    const img = buildImage({ layers: [randomData(100)] });
    await pushBlob(base, 'quota/n', img.configData);
    await pushBlob(base, 'quota/n', img.layerData[0]!);
    await pushBlob(base, 'quota/n', randomData(2000 - img.configData.length - 100 - 10));
    await expectError(await putManifest(base, 'quota/n', 'v1', img.body, img.mediaType), 403, 'DENIED', 'manifest over quota');
    const idx = buildIndex([{ mediaType: img.mediaType, body: img.body }]);
    assert.ok(idx.length > 0, 'index built');
    await pushImage(base, 'free/big', { layers: [randomData(5000)], tag: 'v1' });
  });
});

describe('Wharf extensions: retention on a schedule in serve', () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => {
    ({ reg, dir } = await startWith({ retention: [{ repositories: ['sched/**'], keepLast: 1 }], retentionIntervalMinutes: 0.005 }));
  });
  after(async () => {
    await reg.close();
    removeDir(dir);
  });

  test('the server applies the rules by itself', async () => {
    const base = reg.url;
    const old = await pushImage(base, 'sched/app', { tag: 'old' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pushImage(base, 'sched/app', { tag: 'new' });
    let status = 200;
    for (let i = 0; i < 200 && status !== 404; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await call(base, 'HEAD', `/v2/sched/app/manifests/${old.digest}`)).status;
    }
    assert.equal(status, 404, 'the old manifest was deleted by the scheduled run');
    assert.equal((await call(base, 'HEAD', '/v2/sched/app/manifests/new')).status, 200, 'the newest tag stays');
  });
});
