// The GC race workload shared by race-sqlite.test.ts and race-postgres.test.ts: at least 8 clients push
// (monolithic, POST+PUT, chunked, HEAD-and-skip, cross-repository mount), re-tag and delete over HTTP against a
// real `wharf serve`, while two `wharf gc --grace 0` child processes collect in a loop (and the server's own
// schedule, every few seconds, a third). Afterwards: every manifest that exists is fully pullable, every deleted
// image's unshared blobs are gone (bytes included), and the collectors reclaimed bytes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, spawnWharf, wharfCommand, type SpawnedRegistry } from '../helpers/processes.js';

export interface RaceOptions {
  /** Data directory (blobs under DATA/blobs). */
  data: string;
  /** Extra flags for serve and gc (e.g. --metadata postgres://…). */
  storeArgs: string[];
  clients?: number;
  durationMs?: number;
}

export interface RaceResult {
  pushes: number;
  retags: number;
  deletes: number;
  manifestRetries: number;
  gcRuns: number;
  bytesReclaimed: number;
  liveManifests: number;
  deletedImages: number;
}

const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const repos = ['race/a', 'race/b', 'race/c', 'race/d'];

interface Pushed {
  repo: string;
  digest: string;
  body: Buffer;
  blobs: string[];
  /** Blobs no other image has (its config and its own layer). */
  unshared: string[];
}

/** Runs `wharf gc` once; resolves to its JSON report. */
function runGc(args: string[]): Promise<{ code: number | null; report?: { bytesReclaimed: number }; output: string }> {
  const { cmd, argv } = wharfCommand(['gc', '--grace', '0', '--json', ...args]);
  return new Promise((resolve) => {
    const proc = spawn(cmd, argv, { cwd: projectRoot, env: { ...process.env, WHARF_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code) => {
      let report;
      try {
        report = JSON.parse(out) as { bytesReclaimed: number };
      } catch {
        report = undefined;
      }
      resolve({ code, report, output: out + err });
    });
  });
}

export async function runGcRace(opts: RaceOptions): Promise<RaceResult> {
  const clients = opts.clients ?? 8;
  const durationMs = opts.durationMs ?? 60_000;
  const config = join(opts.data, 'race.yaml');
  // The server collects too, every 3 s, with grace 0: three collectors at once.
  writeFileSync(config, 'gc:\n  intervalMinutes: 0.05\n  grace: "0"\n  uploadMaxAge: 1h\n');
  const server: SpawnedRegistry = await spawnWharf({ data: opts.data, args: ['--config', config, ...opts.storeArgs] });
  const errors: string[] = [];
  const result: RaceResult = { pushes: 0, retags: 0, deletes: 0, manifestRetries: 0, gcRuns: 0, bytesReclaimed: 0, liveManifests: 0, deletedImages: 0 };
  const live = new Map<string, Pushed>();
  const deleted: Pushed[] = [];
  const sharedLayers = Array.from({ length: 6 }, (_, i) => randomBytes(8192 + i * 1024));
  const base = server.url;

  const request = async (method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> => {
    const r = await fetch(base + path, { method, body, headers, redirect: 'manual', signal: AbortSignal.timeout(60_000) });
    if (r.status >= 500) errors.push(`${method} ${path}: ${r.status} ${await r.clone().text()}`);
    return r;
  };

  const upload = async (repo: string, bytes: Buffer, how: number): Promise<void> => {
    const digest = sha256(bytes);
    if (how === 0) {
      const r = await request('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, bytes, { 'Content-Type': 'application/octet-stream' });
      await r.arrayBuffer();
      if (r.status !== 201) errors.push(`monolithic upload: ${r.status}`);
      return;
    }
    const start = await request('POST', `/v2/${repo}/blobs/uploads/`);
    await start.arrayBuffer();
    let location = start.headers.get('location')!;
    if (how === 2) {
      const half = Math.floor(bytes.length / 2);
      for (const [from, to] of [[0, half], [half, bytes.length]] as const) {
        const p = await request('PATCH', location, bytes.subarray(from, to), { 'Content-Range': `${from}-${to - 1}`, 'Content-Type': 'application/octet-stream' });
        await p.arrayBuffer();
        if (p.status !== 202) errors.push(`PATCH: ${p.status}`);
        location = p.headers.get('location') ?? location;
      }
      const done = await request('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`);
      await done.arrayBuffer();
      if (done.status !== 201) errors.push(`chunked completion: ${done.status}`);
      return;
    }
    const done = await request('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, bytes, { 'Content-Type': 'application/octet-stream' });
    await done.arrayBuffer();
    if (done.status !== 201) errors.push(`PUT completion: ${done.status}`);
  };

  /** Puts the blob into the repository by one of the ways clients do, the racy ones included. */
  const ensureBlob = async (repo: string, bytes: Buffer, shared: boolean, forceUpload: boolean): Promise<void> => {
    const digest = sha256(bytes);
    if (shared && !forceUpload) {
      const way = Math.random();
      if (way < 0.4) {
        const head = await request('HEAD', `/v2/${repo}/blobs/${digest}`);
        if (head.status === 200) return; // skip: the manifest PUT may then find it collected (MANIFEST_BLOB_UNKNOWN)
      } else if (way < 0.7) {
        const from = pick(repos.filter((r) => r !== repo));
        const m = await request('POST', `/v2/${repo}/blobs/uploads/?mount=${digest}&from=${from}`);
        await m.arrayBuffer();
        if (m.status === 201) return;
        if (m.status === 202) {
          const loc = m.headers.get('location')!;
          const done = await request('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${digest}`, bytes, { 'Content-Type': 'application/octet-stream' });
          await done.arrayBuffer();
          if (done.status !== 201) errors.push(`completion after a refused mount: ${done.status}`);
          return;
        }
        errors.push(`mount: ${m.status}`);
        return;
      }
    }
    await upload(repo, bytes, Math.floor(Math.random() * 3));
  };

  const push = async (client: number, n: number): Promise<void> => {
    const repo = pick(repos);
    const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', client, n, nonce: randomBytes(8).toString('hex') }));
    const own = randomBytes(1024 + Math.floor(Math.random() * 32768));
    const layers = Math.random() < 0.6 ? [pick(sharedLayers), own] : [own];
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: manifestType,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBytes), size: configBytes.length },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
      }),
    );
    for (let attempt = 0; attempt < 6; attempt++) {
      await ensureBlob(repo, configBytes, false, attempt > 0);
      for (const l of layers) await ensureBlob(repo, l, l !== own, attempt > 0);
      const r = await request('PUT', `/v2/${repo}/manifests/t${Math.floor(Math.random() * 5)}`, body, { 'Content-Type': manifestType });
      const text = await r.text();
      if (r.status === 201) {
        const digest = r.headers.get('docker-content-digest')!;
        live.set(digest, { repo, digest, body, blobs: [sha256(configBytes), ...layers.map(sha256)], unshared: [sha256(configBytes), sha256(own)] });
        result.pushes++;
        return;
      }
      if (!text.includes('MANIFEST_BLOB_UNKNOWN')) {
        errors.push(`manifest PUT: ${r.status} ${text}`);
        return;
      }
      result.manifestRetries++; // a blob was collected between its upload (or HEAD) and the manifest: upload again
    }
    errors.push('manifest PUT kept failing with MANIFEST_BLOB_UNKNOWN after re-uploading');
  };

  const client = async (id: number, deadline: number): Promise<void> => {
    const mine: string[] = [];
    for (let n = 0; Date.now() < deadline && n < 100_000; n++) {
      const roll = Math.random();
      try {
        if (roll < 0.55 || mine.length === 0) {
          const before = live.size;
          await push(id, n);
          if (live.size > before) mine.push([...live.keys()].pop()!);
        } else if (roll < 0.8) {
          const img = live.get(pick(mine))!;
          const r = await request('PUT', `/v2/${img.repo}/manifests/t${Math.floor(Math.random() * 5)}`, img.body, { 'Content-Type': manifestType });
          const text = await r.text();
          if (r.status !== 201) errors.push(`re-tag: ${r.status} ${text}`);
          else result.retags++;
        } else {
          const i = Math.floor(Math.random() * mine.length);
          const digest = mine.splice(i, 1)[0]!;
          const img = live.get(digest)!;
          const r = await request('DELETE', `/v2/${img.repo}/manifests/${digest}`);
          await r.arrayBuffer();
          if (r.status !== 202) errors.push(`delete: ${r.status}`);
          live.delete(digest);
          deleted.push(img);
          result.deletes++;
        }
      } catch (e) {
        errors.push(`client ${id}: ${(e as Error).message}`);
      }
    }
  };

  const gcArgs = ['--data', opts.data, ...opts.storeArgs];
  let stop = false;
  const gcLoop = async (): Promise<void> => {
    for (let i = 0; !stop && i < 10_000; i++) {
      const r = await runGc(gcArgs);
      if (r.code !== 0 || !r.report) errors.push(`wharf gc exited ${r.code}: ${r.output.slice(0, 2000)}`);
      else {
        result.gcRuns++;
        result.bytesReclaimed += r.report.bytesReclaimed;
      }
    }
  };

  try {
    const deadline = Date.now() + durationMs;
    const collectors = [gcLoop(), gcLoop()];
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i, deadline)));
    stop = true;
    await Promise.all(collectors);
    // One last collection once everything is quiet: what the deleted images held must go now.
    const last = await runGc(gcArgs);
    assert.equal(last.code, 0, last.output);
    result.bytesReclaimed += last.report!.bytesReclaimed;
    result.gcRuns++;

    assert.deepEqual(errors.slice(0, 20), [], `no request failed with 5xx or an unexpected answer (${errors.length} errors)`);
    // Every manifest that exists is fully pullable: the ones the clients know of, and whatever the tags name.
    const exists = new Map<string, { repo: string; body: Buffer }>();
    for (const img of live.values()) exists.set(`${img.repo}@${img.digest}`, { repo: img.repo, body: img.body });
    for (const repo of repos) {
      const tags = await fetch(`${base}/v2/${repo}/tags/list?n=1000`);
      const list = tags.status === 200 ? ((await tags.json()) as { tags: string[] | null }).tags ?? [] : [];
      for (const tag of list) {
        const m = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { headers: { Accept: manifestType } });
        assert.equal(m.status, 200, `${repo}:${tag} resolves`);
        const body = Buffer.from(await m.arrayBuffer());
        exists.set(`${repo}@${sha256(body)}`, { repo, body });
      }
    }
    for (const [name, { repo, body }] of exists) {
      const m = await fetch(`${base}/v2/${repo}/manifests/${name.slice(name.indexOf('@') + 1)}`, { headers: { Accept: manifestType } });
      assert.equal(m.status, 200, `${name} exists`);
      assert.ok(Buffer.from(await m.arrayBuffer()).equals(body), `${name}: the stored manifest bytes`);
      const parsed = JSON.parse(body.toString()) as { config: { digest: string }; layers: { digest: string }[] };
      for (const d of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)]) {
        const b = await fetch(`${base}/v2/${repo}/blobs/${d}`);
        assert.equal(b.status, 200, `${name}: blob ${d} is pullable`);
        assert.equal(sha256(Buffer.from(await b.arrayBuffer())), d, `${name}: blob ${d} has the right bytes`);
      }
    }
    // Every deleted image's unshared blobs are gone, bytes and all.
    for (const img of deleted) {
      for (const d of img.unshared) {
        const b = await fetch(`${base}/v2/${img.repo}/blobs/${d}`, { method: 'HEAD' });
        assert.equal(b.status, 404, `blob ${d} of deleted ${img.repo}@${img.digest} is gone`);
        const hex = d.slice('sha256:'.length);
        assert.ok(!existsSync(join(opts.data, 'blobs', 'sha256', hex.slice(0, 2), hex)), `bytes of ${d} deleted`);
      }
    }
    assert.ok(result.bytesReclaimed > 0, `the collectors reclaimed bytes (${result.bytesReclaimed})`);
    assert.doesNotMatch(server.output(), /garbage collection failed|"level":50/, 'the server logged no error (its own scheduled collections included)');
    result.liveManifests = exists.size;
    result.deletedImages = deleted.length;
    return result;
  } finally {
    stop = true;
    await server.stop();
  }
}
