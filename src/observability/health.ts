// Liveness and readiness. Liveness (/healthz) is answered without touching anything: a reply at all shows the
// event loop runs. Readiness (/readyz) asks the metadata store one indexed query and the storage driver one
// stat, each bounded by a short timeout, and names what failed. Probes that arrive while a check runs share it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetadataStore } from '../metadata/store.js';
import type { StorageDriver } from '../storage/index.js';
import { isNotFound } from '../storage/index.js';

export type CheckStatus = 'ok' | 'fail';

export interface CheckResult {
  status: CheckStatus;
  /** Milliseconds the check took. */
  ms: number;
  /** What went wrong, when status is fail. */
  error?: string;
}

export interface ReadinessReport {
  status: CheckStatus;
  checks: { metadata: CheckResult; storage: CheckResult };
}

export interface HealthOptions {
  /** Longest a single check may take before it counts as failed; 2000 ms when not given. */
  timeoutMs?: number;
}

/** A digest no blob has: looking it up exercises the store's connection and blob index, and finds nothing. */
const probeDigest = `sha256:${'0'.repeat(64)}`;
/** Looked up in the storage driver; not-found is a good answer (the store answered). */
const probePath = '_uploads';

class CheckTimeout extends Error {
  override name = 'CheckTimeout';
}

async function timed(timeoutMs: number, fn: (signal: AbortSignal) => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new CheckTimeout(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([fn(abort.signal), expired]);
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (e) {
    return { status: 'fail', ms: Math.round(performance.now() - started), error: (e as Error)?.message ?? String(e) };
  } finally {
    clearTimeout(timer);
  }
}

export class HealthChecks {
  private readonly timeoutMs: number;
  private pending: Promise<ReadinessReport> | undefined;

  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: MetadataStore,
    options: HealthOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  /** Whether the metadata store and the storage answer; one check at a time, shared by concurrent callers. */
  ready(): Promise<ReadinessReport> {
    return (this.pending ??= this.check().finally(() => (this.pending = undefined)));
  }

  private async check(): Promise<ReadinessReport> {
    const [metadata, storage] = await Promise.all([
      timed(this.timeoutMs, () => this.metadata.getBlob(probeDigest)),
      timed(this.timeoutMs, async (signal) => {
        try {
          await this.storage.stat(probePath, { signal });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }),
    ]);
    return { status: metadata.status === 'ok' && storage.status === 'ok' ? 'ok' : 'fail', checks: { metadata, storage } };
  }
}

function writeJSON(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length, 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** The health paths, on the main listener and on the debug listener. */
export type HealthPath = '/healthz' | '/readyz';

export function isHealthPath(path: string): path is HealthPath {
  return path === '/healthz' || path === '/readyz';
}

/** Answers GET or HEAD /healthz (200 always) or /readyz (200, or 503 naming the failed checks). */
export async function serveHealth(req: IncomingMessage, res: ServerResponse, path: HealthPath, health: HealthChecks): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
    res.end();
    return;
  }
  if (path === '/healthz') {
    writeJSON(req, res, 200, { status: 'ok' });
    return;
  }
  const report = await health.ready();
  const failed = Object.entries(report.checks)
    .filter(([, c]) => c.status === 'fail')
    .map(([name]) => name);
  writeJSON(req, res, report.status === 'ok' ? 200 : 503, failed.length > 0 ? { ...report, failed } : report);
}
