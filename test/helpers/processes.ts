// Start and stop the registries the tests talk to: Wharf itself (as a real child process, or in-process)
// and the reference registry (Debian's docker-registry, CNCF Distribution 2.8).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';

export const projectRoot = resolve(import.meta.dirname, '..', '..');

export function tempDir(prefix = 'wharf-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for tests on loopback). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export interface SpawnedRegistry {
  url: string;
  host: string; // 127.0.0.1:PORT
  port: number;
  proc: ChildProcess;
  pid: number;
  output: () => string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

function waitForExit(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((res) => proc.once('exit', (code) => res(code)));
}

async function waitHttp(url: string, proc: ChildProcess, output: () => string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`registry exited before it was ready (code ${proc.exitCode}, signal ${proc.signalCode}):\n${output()}`);
    }
    try {
      const r = await fetch(url + '/v2/', { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200 || r.status === 401) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`registry at ${url} not ready after ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function track(proc: ChildProcess): () => string {
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  return () => out;
}

/** Runs `wharf <args>` from the sources (tsx), so tests never depend on a stale dist/. */
export function wharfCommand(args: string[]): { cmd: string; argv: string[] } {
  return { cmd: process.execPath, argv: ['--import', 'tsx', join(projectRoot, 'src', 'cli', 'run.ts'), ...args] };
}

export interface SpawnWharfOptions {
  data: string;
  port?: number;
  args?: string[];
  env?: Record<string, string>;
}

/** Starts `wharf serve` as a child process and waits until GET /v2/ answers. */
export async function spawnWharf(opts: SpawnWharfOptions): Promise<SpawnedRegistry> {
  const port = opts.port ?? (await freePort());
  const { cmd, argv } = wharfCommand(['serve', '--listen', `127.0.0.1:${port}`, '--data', opts.data, ...(opts.args ?? [])]);
  const proc = spawn(cmd, argv, {
    cwd: projectRoot,
    env: { ...process.env, WHARF_LOG_LEVEL: process.env.WHARF_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = track(proc);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(url, proc, output);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    proc,
    pid: proc.pid!,
    output,
    async stop() {
      proc.kill('SIGTERM');
      return waitForExit(proc);
    },
    async kill() {
      proc.kill('SIGKILL');
      await waitForExit(proc);
    },
  };
}

/** Starts the reference registry (Debian package docker-registry) with filesystem storage and deletes enabled. */
export async function spawnReference(opts: { data: string; port?: number; htpasswd?: string }): Promise<SpawnedRegistry> {
  const port = opts.port ?? (await freePort());
  mkdirSync(opts.data, { recursive: true });
  const auth = opts.htpasswd
    ? `auth:\n  htpasswd:\n    realm: wharf-test\n    path: ${opts.htpasswd}\n`
    : '';
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(opts.data, 'root')}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
${auth}`;
  const configPath = join(opts.data, 'config.yml');
  writeFileSync(configPath, config);
  const proc = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = track(proc);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(url, proc, output);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    proc,
    pid: proc.pid!,
    output,
    async stop() {
      proc.kill('SIGTERM');
      return waitForExit(proc);
    },
    async kill() {
      proc.kill('SIGKILL');
      await waitForExit(proc);
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
