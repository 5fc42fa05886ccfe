// Real storage servers for the S3 and Azure storage driver tests: Ceph RGW (S3) and Azurite (Azure Blob).
// Each start runs scripts/services/{ceph-rgw,azurite}.sh with free ports and a fresh temp dir; stop() kills
// the server by its PIDs and removes the dir. A missing binary is an error, never a skip.
//
//   import { sharedRgw, startAzurite } from '../helpers/services.js';
//   let rgw: RgwService;
//   before(async () => { rgw = await sharedRgw(); });          // no stop(): it is stopped when the process exits
//   const s3 = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true,
//     credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
//     requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
//
// Sharing one RGW (a start takes about 13 s):
// - sharedRgw() starts RGW once per process and hands every caller the same one (a memoized promise); it is
//   stopped on process exit (and on SIGINT/SIGTERM). node --test runs each test file in its own process, so this
//   shares one RGW among the suites of one file, not across files.
// - To share one RGW across all test files, start it once before the test runner and export what the script
//   prints; sharedRgw() then uses that one and never starts or stops it:
//     set -a; eval "$(RGW_PORT=7480 CEPH_MON_PORT=6789 scripts/services/ceph-rgw.sh start .cache/rgw)"; set +a
//     npm test; scripts/services/ceph-rgw.sh stop .cache/rgw
//   (exports RGW_ENDPOINT, RGW_ACCESS_KEY, RGW_SECRET_KEY, RGW_REGION.)
// Test files may then run at the same time against one server, so every test must use its own bucket names.
// The servers start empty: creating buckets/containers is the tests' job.
//
// PostgreSQL (for the postgres MetadataStore and the multi-process tests): startPostgres() runs
// scripts/services/postgres.sh (initdb into a temp dir, about 3 s, as the `postgres` user when root);
// sharedPostgres() is one per test process, or the server named by PG_URL in the environment (start one with
// `eval "$(PG_PORT=54329 scripts/services/postgres.sh start .cache/pg)"; export PG_URL`). Tests that share a
// server must not share a database: createPostgresDatabase() makes a fresh one and hands back its URL.
//
// If the test process is killed (SIGKILL, so no exit handler runs), a small watchdog shell started with each
// server notices within a second or two and stops the server and removes its dir, so no daemons leak.
import { spawn, spawnSync } from 'node:child_process';
import { S3Client } from '@aws-sdk/client-s3';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, projectRoot, tempDir } from './processes.js';

export interface RgwService {
  /** http://127.0.0.1:PORT (path-style: use forcePathStyle: true). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The cluster's dir (config, logs); undefined for an RGW taken from the environment. */
  dir: string | undefined;
  /** Kills the cluster and removes its dir. Idempotent. A no-op for an RGW taken from the environment. */
  stop(): Promise<void>;
}

export interface AzuriteService {
  /** The Blob service URL, account included: http://127.0.0.1:PORT/devstoreaccount1 (for `new BlobServiceClient(endpoint, cred)`). */
  endpoint: string;
  accountName: string;
  accountKey: string;
  /** For BlobServiceClient.fromConnectionString(). */
  connectionString: string;
  dir: string;
  /** Stops Azurite and removes its dir. Idempotent. */
  stop(): Promise<void>;
}

const rgwScript = join(projectRoot, 'scripts', 'services', 'ceph-rgw.sh');
const azuriteScript = join(projectRoot, 'scripts', 'services', 'azurite.sh');
const postgresScript = join(projectRoot, 'scripts', 'services', 'postgres.sh');
const azuriteBin = join(projectRoot, 'node_modules', '.bin', 'azurite-blob');

const CEPH_PACKAGES = 'ceph-mon ceph-osd radosgw ceph-common';
const CEPH_COMMANDS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'ceph-authtool', 'monmaptool', 'curl'];

function requireCommands(commands: string[], hint: string): void {
  const missing = commands.filter((c) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', c]).status !== 0);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')} on PATH: ${hint}`);
}

/** Parses the KEY='VALUE' lines that the service scripts print when ready. */
function parseVars(stdout: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([A-Z_]+)='(.*)'$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

/** Runs `bash SCRIPT start DIR` and returns the variables it printed; throws with its output if it fails. */
function runStart(script: string, dir: string, env: Record<string, string>, timeoutMs: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const proc = spawn('bash', [script, 'start', dir], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(parseVars(out));
      const why = signal ? `was killed after ${timeoutMs} ms` : `exited with ${code}`;
      reject(new Error(`${script} start ${dir} ${why}:\n${err}${out}`));
    });
  });
}

function stopSync(script: string, dir: string): void {
  spawnSync('bash', [script, 'stop', dir], { stdio: 'ignore', timeout: 30_000 });
  rmSync(dir, { recursive: true, force: true });
}

/** A detached shell that stops the server when this process is gone without having stopped it (e.g. SIGKILL). */
function startWatchdog(script: string, dir: string): { cancel(): void } {
  const sh = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; bash "$0" stop "$1" >/dev/null 2>&1; rm -rf -- "$1"`;
  const w = spawn('bash', ['-c', sh, script, dir], { detached: true, stdio: 'ignore' });
  w.unref();
  return {
    cancel() {
      if (w.exitCode === null && w.signalCode === null) {
        try {
          w.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
  };
}

/** Stops what is still running when the process exits (normally or by SIGINT/SIGTERM). */
const cleanups = new Set<() => void>();
let exitHooked = false;
function onExit(fn: () => void): void {
  cleanups.add(fn);
  if (!exitHooked) {
    exitHooked = true;
    const runAll = () => {
      for (const f of [...cleanups]) {
        cleanups.delete(f);
        try {
          f();
        } catch {
          /* best effort at exit */
        }
      }
    };
    process.once('exit', runAll);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        runAll();
        // The default action (exit by the signal), now that this listener is gone.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    }
  }
}

interface Started {
  vars: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
}

async function startService(
  script: string,
  prefix: string,
  env: () => Promise<Record<string, string>>,
  timeoutMs: number,
  attempts: number,
): Promise<Started> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const dir = tempDir(prefix);
    const watchdog = startWatchdog(script, dir);
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      cleanups.delete(stop);
      stopSync(script, dir);
      watchdog.cancel();
    };
    onExit(stop);
    try {
      const vars = await runStart(script, dir, await env(), timeoutMs);
      return { vars, dir, stop: async () => stop() };
    } catch (e) {
      stop();
      lastError = e;
      // A free port can be taken between freePort() and the server's bind: one retry with new ports.
      if (attempt < attempts) console.error(`services: start failed (attempt ${attempt}), retrying with new ports:\n${String(e)}`);
    }
  }
  throw lastError;
}

/**
 * Starts a fresh single-node Ceph cluster with radosgw (about 13 s) on free ports. Call stop() when done.
 * Throws if the Ceph binaries are missing (Debian: ceph-mon ceph-osd radosgw ceph-common) or it does not come up.
 */
export async function startRgw(): Promise<RgwService> {
  requireCommands(CEPH_COMMANDS, `install the Debian packages: apt-get install -y --no-install-recommends ${CEPH_PACKAGES} curl`);
  const s = await startService(
    rgwScript,
    'wharf-rgw-',
    async () => ({ RGW_PORT: String(await freePort()), CEPH_MON_PORT: String(await freePort()) }),
    240_000,
    2,
  );
  return {
    endpoint: need(s.vars, 'RGW_ENDPOINT'),
    accessKeyId: need(s.vars, 'RGW_ACCESS_KEY'),
    secretAccessKey: need(s.vars, 'RGW_SECRET_KEY'),
    region: need(s.vars, 'RGW_REGION'),
    dir: s.dir,
    stop: s.stop,
  };
}

/** Starts Azurite's Blob service (in memory, about 1.5 s) on a free port. Call stop() when done. */
export async function startAzurite(): Promise<AzuriteService> {
  requireCommands(['node', 'curl'], 'azurite.sh needs node and curl');
  if (!existsSync(azuriteBin)) {
    throw new Error(`missing ${azuriteBin}: the devDependency azurite (3.35.x, the last for Node 20) is not installed; run npm ci`);
  }
  const s = await startService(azuriteScript, 'wharf-azurite-', async () => ({ AZURITE_PORT: String(await freePort()) }), 60_000, 2);
  return {
    endpoint: need(s.vars, 'AZURITE_BLOB_ENDPOINT'),
    accountName: need(s.vars, 'AZURITE_ACCOUNT_NAME'),
    accountKey: need(s.vars, 'AZURITE_ACCOUNT_KEY'),
    connectionString: need(s.vars, 'AZURITE_CONNECTION_STRING'),
    dir: s.dir,
    stop: s.stop,
  };
}

function need(vars: Record<string, string>, key: string): string {
  const v = vars[key];
  if (v === undefined) throw new Error(`service script printed no ${key}: ${JSON.stringify(vars)}`);
  return v;
}

let rgwOnce: Promise<RgwService> | undefined;

/**
 * One RGW for the whole test process: the first call starts it, later calls get the same one (see the top of
 * this file). Its stop() does nothing; it is stopped when the process exits. If RGW_ENDPOINT is set in the
 * environment (with RGW_ACCESS_KEY, RGW_SECRET_KEY and optionally RGW_REGION), that server is used instead.
 * A failed start is not cached: the next call tries again.
 */
export function sharedRgw(): Promise<RgwService> {
  const env = process.env;
  if (env.RGW_ENDPOINT) {
    if (!env.RGW_ACCESS_KEY || !env.RGW_SECRET_KEY) throw new Error('RGW_ENDPOINT is set but RGW_ACCESS_KEY / RGW_SECRET_KEY are not');
    return Promise.resolve({
      endpoint: env.RGW_ENDPOINT,
      accessKeyId: env.RGW_ACCESS_KEY,
      secretAccessKey: env.RGW_SECRET_KEY,
      region: env.RGW_REGION ?? 'us-east-1',
      dir: undefined,
      stop: async () => {},
    });
  }
  if (!rgwOnce) {
    rgwOnce = startRgw().then(
      (rgw) => ({ ...rgw, stop: async () => {} }), // the exit hook registered by startRgw stops it
      (e: unknown) => {
        rgwOnce = undefined;
        throw e;
      },
    );
  }
  return rgwOnce;
}

let azuriteOnce: Promise<AzuriteService> | undefined;

/** Like sharedRgw(), for Azurite: one per test process, stopped on exit. */
export function sharedAzurite(): Promise<AzuriteService> {
  if (!azuriteOnce) {
    azuriteOnce = startAzurite().then(
      (az) => ({ ...az, stop: async () => {} }),
      (e: unknown) => {
        azuriteOnce = undefined;
        throw e;
      },
    );
  }
  return azuriteOnce;
}

/** An S3 client for an RGW (path-style; checksums only where required, which RGW 16 needs for streamed bodies). */
export function rgwClient(rgw: RgwService): S3Client {
  return new S3Client({
    endpoint: rgw.endpoint,
    region: rgw.region,
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface PostgresService {
  /** postgres://wharf:PASSWORD@127.0.0.1:PORT/postgres (a superuser; create a database per test file). */
  url: string;
  /** The server's dir (data, log); undefined for a server taken from PG_URL. */
  dir: string | undefined;
  /** Stops the server and removes its dir. Idempotent. A no-op for a server taken from PG_URL. */
  stop(): Promise<void>;
}

/** Starts a private PostgreSQL server (initdb in a temp dir) on a free port. Throws if the binaries are missing. */
export async function startPostgres(): Promise<PostgresService> {
  const bins = spawnSync('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/initdb']);
  if (!process.env.PG_BIN && bins.status !== 0) {
    throw new Error('no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): install the Debian package postgresql (scripts/test.sh does)');
  }
  const s = await startService(postgresScript, 'wharf-pg-', async () => ({ PG_PORT: String(await freePort()) }), 90_000, 2);
  return { url: need(s.vars, 'PG_URL'), dir: s.dir, stop: s.stop };
}

let postgresOnce: Promise<PostgresService> | undefined;

/** One PostgreSQL server per test process (stopped on exit), or the one PG_URL names (never stopped here). */
export function sharedPostgres(): Promise<PostgresService> {
  const fromEnv = process.env.PG_URL;
  if (fromEnv) return Promise.resolve({ url: fromEnv, dir: undefined, stop: async () => {} });
  if (!postgresOnce) {
    postgresOnce = startPostgres().then(
      (p) => ({ ...p, stop: async () => {} }),
      (e: unknown) => {
        postgresOnce = undefined;
        throw e;
      },
    );
  }
  return postgresOnce;
}

export interface PostgresDatabase {
  /** The server URL with this database as its path. */
  url: string;
  name: string;
  /** Drops the database (closing whatever is still connected to it). */
  drop(): Promise<void>;
}

/**
 * Creates a fresh, uniquely named database on the server, so test files can share one server. `options` is
 * appended to CREATE DATABASE, e.g. `TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`.
 */
export async function createPostgresDatabase(server: PostgresService, prefix = 'wharf_test', options = ''): Promise<PostgresDatabase> {
  const { default: pg } = await import('pg');
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`.replace(/[^a-z0-9_]/g, '_');
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}" ${options}`);
  const u = new URL(server.url);
  u.pathname = `/${name}`;
  return { url: u.href, name, drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
