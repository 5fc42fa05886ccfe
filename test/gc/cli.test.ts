// `wharf gc` against the data directory of a running `wharf serve` (dry run, JSON, human summary, grace,
// errors), the collection schedule inside serve, and the `gc` configuration section.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, spawnWharf, tempDir, removeDir, wharfCommand, type SpawnedRegistry } from '../helpers/processes.js';
import { loadConfig, ConfigError } from '../../src/config/load.js';

const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Runs `wharf gc` as a child process (asynchronously: the event loop keeps serving the test's connections). */
function gc(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { cmd, argv } = wharfCommand(['gc', ...args]);
  return new Promise((resolve) => {
    const proc = spawn(cmd, argv, { cwd: projectRoot, env: { ...process.env, WHARF_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function putBlob(base: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  await r.arrayBuffer();
  assert.equal(r.status, 201);
  return digest;
}

async function pushImage(base: string, repo: string, tag: string): Promise<{ digest: string; blobs: string[] }> {
  const config = Buffer.from(JSON.stringify({ os: 'linux', nonce: randomBytes(4).toString('hex') }));
  const layer = randomBytes(5000);
  const blobs = [await putBlob(base, repo, config), await putBlob(base, repo, layer)];
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: manifestType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0], size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blobs[1], size: layer.length }],
  });
  const r = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body, headers: { 'Content-Type': manifestType } });
  await r.arrayBuffer();
  assert.equal(r.status, 201);
  return { digest: r.headers.get('docker-content-digest')!, blobs };
}

const bytesPath = (data: string, digest: string) => join(data, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7));

describe('wharf gc against a running server', () => {
  let data: string;
  let server: SpawnedRegistry;
  before(async () => {
    data = tempDir('wharf-gc-cli-');
    server = await spawnWharf({ data });
  });
  after(async () => {
    await server?.stop();
    removeDir(data);
  });

  test('dry run, then the real run deletes exactly that; grace keeps fresh blobs; the server keeps serving', async () => {
    const kept = await pushImage(server.url, 'cli/app', 'v1');
    const gone = await pushImage(server.url, 'cli/app', 'v2');
    const loose = await putBlob(server.url, 'cli/loose', randomBytes(777));
    const del = await fetch(`${server.url}/v2/cli/app/manifests/${gone.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);

    const graceful = await gc(['--data', data, '--json']);
    assert.equal(graceful.code, 0, graceful.stderr);
    assert.deepEqual(JSON.parse(graceful.stdout).blobs, [], 'the default grace (1h) keeps what was just pushed');

    const dry = await gc(['--data', data, '--grace', '0', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout) as { dryRun: boolean; blobs: { digest: string; size: number }[]; links: unknown[]; bytesReclaimed: number };
    assert.equal(planned.dryRun, true);
    assert.deepEqual(planned.blobs.map((b) => b.digest).sort(), [...gone.blobs, loose].sort());
    assert.equal(planned.bytesReclaimed, planned.blobs.reduce((s, b) => s + b.size, 0));
    for (const d of [...gone.blobs, loose]) assert.ok(existsSync(bytesPath(data, d)), `dry run left ${d}`);

    const real = await gc(['--data', data, '--grace', '0', '--json']);
    assert.equal(real.code, 0, real.stderr);
    const done = JSON.parse(real.stdout) as typeof planned;
    assert.equal(done.dryRun, false);
    assert.deepEqual(done.blobs, planned.blobs, 'the real run deleted exactly what the dry run reported');
    assert.deepEqual(done.links, planned.links);
    assert.ok(done.bytesReclaimed > 5000, `bytes reclaimed (${done.bytesReclaimed})`);
    for (const d of [...gone.blobs, loose]) assert.ok(!existsSync(bytesPath(data, d)), `${d} deleted from storage`);
    for (const d of kept.blobs) {
      const b = await fetch(`${server.url}/v2/cli/app/blobs/${d}`);
      assert.equal(b.status, 200, `${d} still served`);
      assert.equal(sha256(Buffer.from(await b.arrayBuffer())), d);
    }
    // The server goes on accepting pushes, the collected content included.
    await putBlob(server.url, 'cli/loose', randomBytes(10));

    const human = await gc(['--data', data, '--grace', '0', '--dry-run']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^would delete blob sha256:[0-9a-f]{64} \(10 B\)$/m);
    assert.match(human.stdout, /dry run: would delete 1 blob\(s\), 10 B; 1 unreferenced repository link\(s\); 0 abandoned upload\(s\)/);
  });

  test('bad flags and configuration are refused with a clear message (exit 2)', async () => {
    const bad = await gc(['--data', data, '--grace', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /wharf gc: invalid duration "soon"/);
    const cfg = join(data, 'bad.yaml');
    writeFileSync(cfg, 'gc:\n  uploadMaxAge: forever\n');
    const badConfig = await gc(['--config', cfg]);
    assert.equal(badConfig.code, 2);
    assert.match(badConfig.stderr, /gc\.uploadMaxAge/);
  });
});

test('the gc section: defaults, durations checked when the file loads', () => {
  const dir = tempDir('wharf-gc-config-');
  try {
    const defaults = loadConfig({}, {}, dir);
    assert.deepEqual(defaults.gc, { intervalMinutes: 60, grace: '1h', uploadMaxAge: '24h' });
    writeFileSync(join(dir, 'c.yaml'), 'gc:\n  intervalMinutes: 0\n  grace: 30m\n');
    assert.deepEqual(loadConfig({ config: 'c.yaml' }, {}, dir).gc, { intervalMinutes: 0, grace: '30m', uploadMaxAge: '24h' });
    writeFileSync(join(dir, 'd.yaml'), 'gc:\n  grace: 1 hour\n');
    assert.throws(() => loadConfig({ config: 'd.yaml' }, {}, dir), (e: unknown) => e instanceof ConfigError && /gc\.grace/.test(e.message));
  } finally {
    removeDir(dir);
  }
});

test('serve collects on its schedule (config gc.intervalMinutes)', async () => {
  const data = tempDir('wharf-gc-schedule-');
  const config = join(data, 'config.yaml');
  writeFileSync(config, 'gc:\n  intervalMinutes: 0.01\n  grace: "0"\n');
  const server = await spawnWharf({ data, args: ['--config', config] });
  try {
    const loose = await putBlob(server.url, 'sched/loose', randomBytes(321));
    let status = 200;
    for (let i = 0; i < 300 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await fetch(`${server.url}/v2/sched/loose/blobs/${loose}`, { method: 'HEAD' });
      status = r.status;
    }
    assert.equal(status, 404, 'the unreferenced blob was collected by the schedule');
    // The link goes first (phase 1), the bytes in phase 2 of the same or the next pass.
    for (let i = 0; i < 300 && existsSync(bytesPath(data, loose)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!existsSync(bytesPath(data, loose)), 'and its bytes deleted');
  } finally {
    await server.stop();
    removeDir(data);
  }
});

test('wharf gc opens plugin storage the way serve does (plugins named in the config are loaded first)', async () => {
  const data = tempDir('wharf-gc-plugin-');
  try {
    const res = await gc(['--config', join(projectRoot, 'examples', 'plugin-storage.yaml'), '--data', data, '--dry-run', '--json', '--grace', '0']);
    assert.equal(res.code, 0, `gc on a plugin storage: ${res.stderr}`);
    const report = JSON.parse(res.stdout) as { dryRun: boolean; bytesReclaimed: number };
    assert.equal(report.dryRun, true, 'a dry run');
    assert.equal(report.bytesReclaimed, 0, 'an empty store has nothing to reclaim');
  } finally {
    removeDir(data);
  }
});
