// Purging abandoned upload sessions: sessions created longer ago than the configured age are removed with their
// bytes (one appended file, or a prefix of segment objects: see registry/upload-bytes.ts), record first.
// Session bytes that no record names any more (a crash between the two deletes) are removed once they are as old.
import type { MetadataStore, UploadRecord } from '../metadata/store.js';
import { isNotFound, type StorageDriver } from '../storage/index.js';
import { uploadsPrefix } from '../registry/paths.js';
import { uploadBytesFor } from '../registry/upload-bytes.js';

export interface PurgeOptions {
  /** Sessions created at least this long ago are purged (ms). */
  maxAgeMs: number;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface PurgeReport {
  dryRun: boolean;
  maxAgeMs: number;
  /** Sessions removed (or that would be). */
  uploads: UploadRecord[];
  /** Ids of stored session bytes without a session record, removed (or that would be). */
  orphans: string[];
  /** Bytes those sessions and orphans held in storage. */
  bytes: number;
}

const pageSize = 500;

export async function purgeUploads(storage: StorageDriver, metadata: MetadataStore, options: PurgeOptions): Promise<PurgeReport> {
  const cutoff = Date.now() - options.maxAgeMs;
  const report: PurgeReport = { dryRun: options.dryRun ?? false, maxAgeMs: options.maxAgeMs, uploads: [], orphans: [], bytes: 0 };
  const stored = await storedSessions(storage);
  const bytes = uploadBytesFor(storage);
  const old: UploadRecord[] = [];
  for (let page = await metadata.listUploadsBefore(cutoff, pageSize); page.length > 0; ) {
    old.push(...page);
    page = page.length < pageSize ? [] : await metadata.listUploadsBefore(cutoff, pageSize, page[page.length - 1]!.id);
  }
  for (const upload of old) {
    options.signal?.throwIfAborted();
    if (!options.dryRun) {
      if (!(await metadata.deleteUpload(upload.id))) continue; // completed or cancelled meanwhile
      await bytes.discard(upload.id);
    }
    report.uploads.push(upload);
    report.bytes += stored.get(upload.id)?.size ?? 0;
  }
  const listed = new Set(old.map((u) => u.id));
  for (const [id, found] of stored) {
    options.signal?.throwIfAborted();
    if (found.newest > cutoff || listed.has(id)) continue;
    if (await metadata.getUpload(id)) continue;
    if (!options.dryRun) await bytes.discard(id);
    report.orphans.push(id);
    report.bytes += found.size;
  }
  return report;
}

/** Every session's stored bytes: total size and the newest modification time of its file or segments. */
async function storedSessions(storage: StorageDriver): Promise<Map<string, { size: number; newest: number }>> {
  const sessions = new Map<string, { size: number; newest: number }>();
  try {
    for await (const f of storage.walk(uploadsPrefix)) {
      const id = f.path.slice(uploadsPrefix.length + 1).split('/')[0]!;
      const s = sessions.get(id) ?? { size: 0, newest: 0 };
      s.size += f.size;
      s.newest = Math.max(s.newest, f.modTime.getTime());
      sessions.set(id, s);
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  return sessions;
}
