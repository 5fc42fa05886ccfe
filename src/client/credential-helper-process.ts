/**
 * Runs one `docker-credential-<helper> <action>` process: checks the helper name, writes the input to its
 * stdin, collects stdout and stderr, and kills it when it does not answer in time. What the exit status and
 * output mean is for the caller (get, store and erase read them differently).
 */

import { spawn } from 'node:child_process';
import { CredentialsError } from './errors.js';

/** What a helper process left behind once it exited. */
export interface HelperProcessResult {
  /** `docker-credential-<helper>`, for messages. */
  program: string;
  /** Exit status; null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface HelperProcessOptions {
  env?: NodeJS.ProcessEnv;
  /** Kill the helper and fail after this long; 15 s by default. */
  timeoutMs?: number;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Runs the helper and resolves with its exit status and output, whatever the status. CredentialsError for a
 * bad helper name, a helper that cannot be started (e.g. not on PATH) or one that does not exit in time.
 */
export function runHelperProcess(helper: string, action: string, input: string, opts: HelperProcessOptions = {}): Promise<HelperProcessResult> {
  if (!HELPER_NAME.test(helper)) return Promise.reject(new CredentialsError(`invalid credential helper name ${JSON.stringify(helper)}`));
  const program = `docker-credential-${helper}`;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new CredentialsError(`${program} ${action} did not answer within ${timeoutMs} ms`)));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {
      /* the helper may exit without reading stdin; its exit status tells */
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? `${program} is not on PATH (the auth file names it in credsStore/credHelpers)` : e.message;
      finish(() => reject(new CredentialsError(`credential helper ${program}: ${why}`, { cause: e })));
    });
    child.on('close', (code) => finish(() => resolve({ program, code, stdout, stderr })));
    child.stdin.end(input);
  });
}
