// Storage quotas per repository (config `lifecycle.quotas`). What counts is the repository's stored bytes: every
// blob linked into it once (pushed or mounted, referenced by a manifest or not) plus its manifests' own bytes
// (docs/lifecycle.md). Writes are checked before their bytes are stored: a known length (Content-Length,
// a mount's blob size, a manifest body) up front; a body of unknown length is counted as it streams and stopped
// the moment it crosses the quota, and the upload is then discarded.
import { Transform, type TransformCallback } from 'node:stream';
import { RegistryError } from '../oci/errors.js';
import type { MetadataStore } from '../metadata/store.js';
import { formatBytes, type LifecyclePolicies, type QuotaRule } from './lifecycle.js';
import type { Chunk } from './uploads.js';

export interface QuotaState {
  rule: QuotaRule;
  usedBytes: number;
}

export function quotaExceeded(repo: string, rule: QuotaRule, used: number, adding: number, what: string): RegistryError {
  const globs = rule.repositories.join(', ');
  return new RegistryError(
    'DENIED',
    `storage quota exceeded: ${what} of ${formatBytes(adding)} would bring ${repo} to ${formatBytes(used + adding)}, over its quota of ${formatBytes(rule.maxBytes)} (lifecycle.quotas rule for ${globs}); it uses ${formatBytes(used)}`,
    { detail: { repository: repo, maxBytes: rule.maxBytes, usedBytes: used, requestedBytes: adding } },
  );
}

/** Counts the bytes flowing through and fails the stream as soon as they pass `room`. */
class QuotaMeter extends Transform {
  private seen = 0;
  constructor(
    private readonly room: number,
    private readonly refuse: (bytes: number) => RegistryError,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.room) {
      done(this.refuse(this.seen));
      return;
    }
    done(null, chunk);
  }
}

export class Quotas {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly policies: LifecyclePolicies,
  ) {}

  /** The quota of a repository and what it uses now; undefined when no quota applies. */
  async state(repo: string): Promise<QuotaState | undefined> {
    const rule = this.policies.quotaFor(repo);
    if (!rule) return undefined;
    return { rule, usedBytes: (await this.metadata.repositoryUsage(repo))?.storedBytes ?? 0 };
  }

  /** Throws 403 DENIED when adding `bytes` would exceed the repository's quota. */
  async check(repo: string, bytes: number, what: string): Promise<void> {
    const q = await this.state(repo);
    if (q && q.usedBytes + bytes > q.rule.maxBytes) throw quotaExceeded(repo, q.rule, q.usedBytes, bytes, what);
  }

  /** A cross-repository mount adds the blob's size unless the repository already holds it. */
  async checkMount(repo: string, digest: string): Promise<void> {
    if (!this.policies.quotaFor(repo) || (await this.metadata.getRepositoryBlob(repo, digest))) return;
    const blob = await this.metadata.getBlob(digest);
    if (blob) await this.check(repo, blob.size, `mounting blob ${digest}`);
  }

  /**
   * Guards a request that carries blob bytes. `pending` is what the upload session already holds (those bytes
   * become the repository's when the upload completes); `digest`, when the request completes a known blob the
   * repository already holds, adds nothing. Returns the chunk to store: with a known length it is checked now;
   * with an unknown length its body is metered and fails at the byte that crosses the quota.
   */
  async guard(repo: string, chunk: Chunk | undefined, pending: number, digest?: string): Promise<Chunk | undefined> {
    const q = await this.state(repo);
    if (!q) return chunk;
    if (digest !== undefined && (await this.metadata.getRepositoryBlob(repo, digest))) return chunk;
    const room = q.rule.maxBytes - q.usedBytes - pending;
    const refuse = (bytes: number) => quotaExceeded(repo, q.rule, q.usedBytes, pending + bytes, 'this upload');
    const announced = chunk?.range ? chunk.range.end - chunk.range.start + 1 : chunk?.length;
    if (room < 0 || (announced !== undefined && announced > room)) throw refuse(announced ?? 0);
    if (!chunk || announced !== undefined) return chunk;
    const meter = new QuotaMeter(room, refuse);
    chunk.body.once('error', (e) => meter.destroy(e));
    return { ...chunk, body: chunk.body.pipe(meter) };
  }
}
