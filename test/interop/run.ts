// Run external tools (skopeo, umoci, podman, buildah) with a deadline and error messages that say what went wrong.
import { spawn, spawnSync } from 'node:child_process';

export interface RunOptions {
  /** Kill the command (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  /** stdout exactly as written (manifests are compared byte for byte). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** Thrown when a command exits non-zero, is killed, or cannot start. */
export class CommandError extends Error {
  constructor(
    readonly commandLine: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
    reason: string,
  ) {
    super(`${reason}: ${commandLine}\n--- stderr ---\n${tail(stderr)}\n--- stdout ---\n${tail(stdout)}`);
    this.name = 'CommandError';
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;

function tail(text: string, max = 4000): string {
  return text.length > max ? '…' + text.slice(-max) : text;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(quote).join(' ');
}

/** Runs `cmd args…`, resolves with its output when it exits 0, rejects with a CommandError otherwise. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const line = commandLine(cmd, args);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const stdout = () => Buffer.concat(out).toString();
    const stderr = () => Buffer.concat(err).toString();
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(line, null, stdout(), stderr(), `could not start (${e.message})`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new CommandError(line, code, stdout(), stderr(), `timed out after ${timeoutMs} ms`));
      else if (code !== 0) reject(new CommandError(line, code, stdout(), stderr(), `exit ${code ?? 'signal ' + signal}`));
      else resolve({ stdout: stdout(), stdoutBytes: Buffer.concat(out), stderr: stderr() });
    });
  });
}

/** Like run(), but resolves with the CommandError instead of rejecting (for commands expected to fail). */
export async function runExpectingFailure(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandError> {
  try {
    const out = await run(cmd, args, opts);
    throw new Error(`expected failure but it succeeded: ${commandLine(cmd, args)}\n${out.stdout}`);
  } catch (e) {
    if (e instanceof CommandError) return e;
    throw e;
  }
}

/** Throws (never skips) when one of the tools is not on PATH: the CI image installs all of them. */
export function requireTools(...tools: string[]): void {
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${quote(t)}`]).status !== 0);
  if (missing.length > 0) {
    throw new Error(`interop tests need ${missing.join(', ')} on PATH (Debian packages: skopeo umoci podman buildah docker-registry)`);
  }
}
