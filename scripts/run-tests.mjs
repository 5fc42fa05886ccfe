#!/usr/bin/env node
// Runs every test file under test/ (or the files/folders given) with node's test runner and tsx.
// node 20's `node --test` finds no .ts files by itself, and sh globs do not recurse, so walk the tree here.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (entry.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = [];
for (const r of roots.length ? roots : ['test']) {
  if (statSync(r).isDirectory()) walk(r, files);
  else files.push(r);
}
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

// One PostgreSQL and one Ceph RGW for every test file that needs them (each start costs 3–15 s, and several
// files need one), unless the environment already names a server (PG_URL, RGW_ENDPOINT). The test helpers
// (test/helpers/services.ts) use these; files that need a server of their own still start one.
const started = [];
function stopServices() {
  for (const { script, dir } of started.splice(0)) {
    spawnSync('bash', [script, 'stop', dir], { stdio: 'ignore', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  }
}
async function startService(name, env) {
  const script = resolve('scripts', 'services', `${name}.sh`);
  const dir = mkdtempSync(join(tmpdir(), `wharf-tests-${name}-`));
  rmSync(dir, { recursive: true, force: true });
  started.push({ script, dir });
  const res = spawnSync('bash', [script, 'start', dir], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
  if (res.status !== 0) {
    stopServices();
    console.error(`run-tests: cannot start ${name} for the tests:\n${res.stderr}${res.stdout}`);
    process.exit(1);
  }
  for (const line of res.stdout.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)='(.*)'$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2];
  }
}
const sources = files.map((f) => readFileSync(f, 'utf8'));
if (!process.env.PG_URL && sources.some((t) => /sharedPostgres|createPostgresDatabase/.test(t))) {
  await startService('postgres', { PG_PORT: String(await freePort()) });
}
if (!process.env.RGW_ENDPOINT && sources.some((t) => /sharedRgw\(/.test(t))) {
  await startService('ceph-rgw', { RGW_PORT: String(await freePort()), CEPH_MON_PORT: String(await freePort()) });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    stopServices();
    process.exit(130);
  });
}

const concurrency = process.env.WHARF_TEST_CONCURRENCY ?? '2';
// The AWS SDK warns on Node 20 in every process; the version is pinned on purpose (see package.json).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// A hung test file would hold CI for its whole budget: past this bound the run is killed and fails.
const limitMinutes = Number(process.env.WHARF_TEST_TIMEOUT_MINUTES ?? '30');
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files.map((f) => resolve(f))], {
  stdio: 'inherit',
  timeout: limitMinutes * 60_000,
  killSignal: 'SIGKILL',
});
if (res.error || res.signal) console.error(`run-tests: the test run was stopped after ${limitMinutes} minutes (${res.error?.message ?? res.signal}); a test file hangs`);
stopServices();
process.exit(res.status ?? 1);
