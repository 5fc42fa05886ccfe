// Two `wharf serve` processes sharing one PostgreSQL database and one filesystem storage directory, as in a
// scale-out deployment behind a load balancer without sticky sessions: what one process stores the other serves,
// a chunked upload can hop between them on every request, and tag moves from both never corrupt anything.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnWharf, tempDir, removeDir, type SpawnedRegistry } from '../helpers/processes.js';
import { createPostgresDatabase, sharedPostgres, type PostgresDatabase } from '../helpers/services.js';

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const manifestType = 'application/vnd.oci.image.manifest.v1+json';

async function request(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

async function pushBlob(base: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const r = await request(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 201, `monolithic upload: ${r.body.toString()}`);
  return digest;
}

/** An image manifest over a config and one layer (both already pushed). */
function imageManifest(config: Buffer, layer: Buffer, note: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      annotations: { note },
    }),
  );
}

async function putManifest(base: string, repo: string, ref: string, body: Buffer): Promise<void> {
  const r = await request(`${base}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body, headers: { 'Content-Type': manifestType } });
  assert.equal(r.status, 201, `PUT manifest ${repo}:${ref}: ${r.body.toString()}`);
}

describe('two wharf processes sharing PostgreSQL and one storage directory', () => {
  let db: PostgresDatabase;
  let storageDir: string;
  const dataDirs: string[] = [];
  let a: SpawnedRegistry;
  let b: SpawnedRegistry;

  before(async () => {
    db = await createPostgresDatabase(await sharedPostgres(), 'wharf_multi');
    storageDir = tempDir('wharf-multi-storage-');
    const storage = pathToFileURL(join(storageDir, 'blobs')).href;
    // Started together: both apply migrations at the same moment on the empty database.
    const start = () => {
      const data = tempDir('wharf-multi-data-');
      dataDirs.push(data);
      return spawnWharf({ data, args: ['--metadata', db.url, '--storage', storage] });
    };
    [a, b] = await Promise.all([start(), start()]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
    if (storageDir) removeDir(storageDir);
    for (const d of dataDirs) removeDir(d);
  });

  test('pushed through one, pulled through the other', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = randomBytes(300_000);
    await pushBlob(a.url, 'shared/app', config);
    await pushBlob(a.url, 'shared/app', layer);
    const manifest = imageManifest(config, layer, 'one');
    await putManifest(a.url, 'shared/app', 'v1', manifest);

    const m = await request(`${b.url}/v2/shared/app/manifests/v1`, { headers: { Accept: manifestType } });
    assert.equal(m.status, 200);
    assert.deepEqual(m.body, manifest, 'the manifest bytes are identical');
    assert.equal(m.headers.get('docker-content-digest'), sha256(manifest));
    const l = await request(`${b.url}/v2/shared/app/blobs/${sha256(layer)}`);
    assert.equal(l.status, 200);
    assert.ok(l.body.equals(layer), 'the layer bytes are identical');
    for (const r of [a, b]) {
      const tags = await request(`${r.url}/v2/shared/app/tags/list`);
      assert.deepEqual(JSON.parse(tags.body.toString()), { name: 'shared/app', tags: ['v1'] });
      const catalog = JSON.parse((await request(`${r.url}/v2/_catalog`)).body.toString()) as { repositories: string[] };
      assert.ok(catalog.repositories.includes('shared/app'), `the catalog of ${r.url} lists shared/app`);
    }
    // A delete through B is seen by A.
    const del = await request(`${b.url}/v2/shared/app/manifests/${sha256(manifest)}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    assert.equal((await request(`${a.url}/v2/shared/app/manifests/v1`, { headers: { Accept: manifestType } })).status, 404);
  });

  test('a chunked upload hops between the processes on every request and completes', async () => {
    const data = randomBytes(700_000);
    const parts = [data.subarray(0, 200_000), data.subarray(200_000, 350_000), data.subarray(350_000, 600_000), data.subarray(600_000)];
    const start = await request(`${a.url}/v2/hop/blob/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const location = start.headers.get('location');
    assert.ok(location?.startsWith('/v2/hop/blob/blobs/uploads/'), `a relative upload location: ${location}`);
    // A, B, A (A's own copy of the session is now stale), then B completes with the last chunk.
    const hops = [a, b, a];
    let offset = 0;
    for (const [i, part] of parts.slice(0, 3).entries()) {
      const via = hops[i]!;
      const r = await request(`${via.url}${location}`, {
        method: 'PATCH',
        body: part,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + part.length - 1}` },
      });
      assert.equal(r.status, 202, `chunk ${i} through ${via.url}: ${r.body.toString()}`);
      offset += part.length;
      assert.equal(r.headers.get('range'), `0-${offset - 1}`);
    }
    const status = await request(`${b.url}${location}`);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${offset - 1}`, 'the other process reports the same progress');
    const done = await request(`${b.url}${location}?digest=${sha256(data)}`, {
      method: 'PUT',
      body: parts[3],
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(done.status, 201, `completion through B: ${done.body.toString()}`);
    const pulled = await request(`${a.url}/v2/hop/blob/blobs/${sha256(data)}`);
    assert.equal(pulled.status, 200);
    assert.ok(pulled.body.equals(data), 'the assembled blob is byte-identical');
    // The session is gone on both.
    for (const r of [a, b]) assert.equal((await request(`${r.url}${location}`)).status, 404, `no session left on ${r.url}`);
  });

  test('chunks without Content-Range, alternating processes, end with the right digest', async () => {
    const data = randomBytes(120_000);
    const start = await request(`${b.url}/v2/hop/stream/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    const via = [b, a, b, a];
    for (let i = 0; i < 4; i++) {
      const part = data.subarray(i * 30_000, (i + 1) * 30_000);
      const r = await request(`${via[i]!.url}${location}`, { method: 'PATCH', body: part, headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(r.status, 202, `chunk ${i}: ${r.body.toString()}`);
    }
    const done = await request(`${b.url}${location}?digest=${sha256(data)}`, { method: 'PUT' });
    assert.equal(done.status, 201, `completion: ${done.body.toString()}`);
    assert.ok((await request(`${a.url}/v2/hop/stream/blobs/${sha256(data)}`)).body.equals(data), 'byte-identical');
  });

  test('both processes moving the same tags at once: last write wins, the history chains every move, nothing dangles', async () => {
    const config = Buffer.from('{"architecture":"arm64","os":"linux"}');
    const layer = randomBytes(1000);
    await pushBlob(a.url, 'race/app', config);
    await pushBlob(b.url, 'race/app', layer);
    const manifests = Array.from({ length: 6 }, (_, i) => imageManifest(config, layer, `m${i}`));
    const tags = ['latest', 'stable', 'edge'];
    const writes: Promise<void>[] = [];
    for (let round = 0; round < 12; round++) {
      for (const [i, registry] of [a, b].entries()) {
        const body = manifests[(round + i * 3) % manifests.length]!;
        for (const tag of tags) writes.push(putManifest(registry.url, 'race/app', tag, body));
      }
    }
    await Promise.all(writes);
    const digests = new Set(manifests.map(sha256));
    for (const tag of tags) {
      const fromA = await request(`${a.url}/v2/race/app/manifests/${tag}`, { method: 'HEAD', headers: { Accept: manifestType } });
      const fromB = await request(`${b.url}/v2/race/app/manifests/${tag}`, { method: 'HEAD', headers: { Accept: manifestType } });
      assert.equal(fromA.status, 200);
      const digest = fromA.headers.get('docker-content-digest')!;
      assert.ok(digests.has(digest), `${tag} points at one of the pushed manifests`);
      assert.equal(fromB.headers.get('docker-content-digest'), digest, 'both processes agree');
    }
    // The tag history (the same through both processes) is one chain of moves ending where the tag is now.
    for (const tag of tags) {
      const [fromA, fromB] = await Promise.all([a, b].map(async (r) => {
        const res = await request(`${r.url}/v2/race/app/_wharf/tags/${tag}/history?n=1000`);
        assert.equal(res.status, 200, res.body.toString());
        return (JSON.parse(res.body.toString()) as { history: { id: number; oldDigest?: string; newDigest?: string }[] }).history;
      }));
      assert.deepEqual(fromA, fromB, `${tag}: both processes show the same history`);
      const history = fromA!;
      assert.ok(history.length >= 2, `${tag}: moves from both processes are recorded (${history.length} entries)`);
      const now = (await request(`${a.url}/v2/race/app/manifests/${tag}`, { method: 'HEAD', headers: { Accept: manifestType } })).headers.get('docker-content-digest');
      assert.equal(history[0]!.newDigest, now, `${tag}: the newest entry is where the tag points`);
      for (let i = 0; i + 1 < history.length; i++) {
        assert.equal(history[i]!.oldDigest, history[i + 1]!.newDigest, `${tag}: entry ${history[i]!.id} starts where the one before it ended`);
      }
      assert.equal(history[history.length - 1]!.oldDigest, undefined, `${tag}: the first entry creates the tag`);
    }
    const list = JSON.parse((await request(`${b.url}/v2/race/app/tags/list`)).body.toString()) as { tags: string[] };
    assert.deepEqual(list.tags, ['edge', 'latest', 'stable']);
    for (const m of manifests) {
      const r = await request(`${a.url}/v2/race/app/manifests/${sha256(m)}`, { headers: { Accept: manifestType } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, m, 'every manifest pushed is stored intact');
    }
  });
});
