// Online garbage collection of blobs (docs/gc.md): what no manifest references and no upload has claimed is
// reclaimed while the registry serves reads and writes. Two phases, every step re-checked inside a transaction
// of the metadata store:
// 1. repository links no manifest of their repository references (created before the grace cutoff) are removed;
// 2. blobs with no link, no reference and no upload claim are marked as being deleted (row first), their bytes
//    are deleted, then their row. A mark held by a collector that died is taken over once it is stale.
// Several collectors may run at once: each step is conditional and idempotent.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseDigest } from '../oci/digest.js';
import type { BlobLink, BlobRecord, MetadataStore } from '../metadata/store.js';
import type { StorageDriver } from '../storage/index.js';
import { blobPath } from '../registry/paths.js';

export interface CollectOptions {
  /** Only links and blobs created at least this long ago are reclaimed (ms). */
  graceMs: number;
  /** Report what a real run would reclaim, change nothing. */
  dryRun?: boolean;
  /** A deleting mark older than this is taken over from the collector that left it (ms; default 1 h). */
  staleMarkMs?: number;
  /** Stops between steps when aborted (what is done stays done). */
  signal?: AbortSignal;
}

export interface CollectReport {
  dryRun: boolean;
  graceMs: number;
  /** Time (ms since the epoch) at or before which a link or blob had to be created to qualify. */
  cutoff: number;
  /** Repository links removed (or that would be). */
  links: BlobLink[];
  /** Blobs whose bytes and row were deleted (or would be). */
  blobs: BlobRecord[];
  /** Sum of the sizes of `blobs`. */
  bytesReclaimed: number;
}

const pageSize = 500;
const defaultStaleMarkMs = 60 * 60 * 1000;

export class GarbageCollector {
  /** Names this collector in the deleting marks it sets. */
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: MetadataStore,
  ) {}

  async collect(options: CollectOptions): Promise<CollectReport> {
    const cutoff = Date.now() - options.graceMs;
    const report: CollectReport = { dryRun: options.dryRun ?? false, graceMs: options.graceMs, cutoff, links: [], blobs: [], bytesReclaimed: 0 };
    if (options.dryRun) {
      report.links = await this.allLinks(cutoff);
      report.blobs = await this.allBlobs(cutoff, false);
    } else {
      await this.sweepLinks(cutoff, report, options.signal);
      await this.sweepBlobs(cutoff, report, options);
    }
    report.bytesReclaimed = report.blobs.reduce((sum, b) => sum + b.size, 0);
    return report;
  }

  private async allLinks(cutoff: number): Promise<BlobLink[]> {
    const all: BlobLink[] = [];
    for (let page = await this.metadata.listUnreferencedLinks(cutoff, pageSize); page.length > 0; ) {
      all.push(...page);
      const last = page[page.length - 1]!;
      page = page.length < pageSize ? [] : await this.metadata.listUnreferencedLinks(cutoff, pageSize, last);
    }
    return all;
  }

  private async allBlobs(cutoff: number, withoutLinks: boolean): Promise<BlobRecord[]> {
    const all: BlobRecord[] = [];
    for (let page = await this.metadata.listCollectableBlobs(cutoff, pageSize, { withoutLinks }); page.length > 0; ) {
      all.push(...page.map((b) => ({ digest: b.digest, size: b.size })));
      const after = page[page.length - 1]!.digest;
      page = page.length < pageSize ? [] : await this.metadata.listCollectableBlobs(cutoff, pageSize, { after, withoutLinks });
    }
    return all;
  }

  /** Phase 1: each listed link is removed only if the store, checking again in a transaction, agrees. */
  private async sweepLinks(cutoff: number, report: CollectReport, signal?: AbortSignal): Promise<void> {
    for (const link of await this.allLinks(cutoff)) {
      signal?.throwIfAborted();
      if (await this.metadata.sweepLink(link.repository, link.digest, cutoff)) report.links.push(link);
    }
  }

  /** Phase 2: mark (re-checked), delete the bytes, delete the row (only while this collector holds the mark). */
  private async sweepBlobs(cutoff: number, report: CollectReport, options: CollectOptions): Promise<void> {
    const staleBefore = Date.now() - (options.staleMarkMs ?? defaultStaleMarkMs);
    for (const candidate of await this.allBlobs(cutoff, true)) {
      options.signal?.throwIfAborted();
      const marked = await this.metadata.markBlobDeleting(candidate.digest, cutoff, this.id, staleBefore);
      if (!marked) continue; // referenced, linked or claimed again since it was listed, or another collector has it
      // The row is marked first: from now on no upload can claim the digest and no mount or manifest can use it,
      // so the bytes deleted here cannot be bytes someone has just written or is about to reference.
      await this.storage.delete(blobPath(parseDigest(marked.digest)));
      if (await this.metadata.deleteMarkedBlob(marked.digest, this.id)) report.blobs.push(marked);
    }
  }
}
