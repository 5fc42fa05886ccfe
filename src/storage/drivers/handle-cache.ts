// Open file handles of immutable files, kept between reads so that a hot blob is not opened and closed for
// every GET (two thread-pool round trips of the three a small read costs).
//
// Only files whose bytes never change while they exist may be cached (content-addressed blobs: the caller says
// so with `immutable`). Reads are positional, so one handle serves any number of concurrent readers. A handle
// is closed when it has been unused for `idleMs`, when the cache is over `max` handles (least recently used
// first, never while a reader holds it), and when the driver deletes the file. A file deleted by another
// process stays readable through a cached handle until then, with the same bytes it had: harmless for
// content-addressed data, and its disk space is freed when the handle closes.
import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  fh: FileHandle;
  refs: number;
  lastUsed: number;
  /** Removed from the cache (deleted, evicted): closed when the last reader lets go. */
  dropped: boolean;
}

export interface HandleLease {
  fh: FileHandle;
  release(): Promise<void>;
}

export class HandleCache {
  private readonly entries = new Map<string, Entry>();
  private readonly opening = new Map<string, Promise<Entry>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly max = 256,
    private readonly idleMs = 10_000,
  ) {}

  /** A handle on `file`, opened or reused; release() it when done. Rejects like open() (ENOENT…). */
  async acquire(file: string): Promise<HandleLease> {
    let entry = this.entries.get(file);
    while (!entry) {
      let pending = this.opening.get(file);
      if (!pending) {
        pending = this.openEntry(file);
        this.opening.set(file, pending);
        pending.then(
          () => this.opening.delete(file),
          () => this.opening.delete(file),
        );
      }
      const opened = await pending;
      // Dropped while this caller waited (evicted, deleted) with no reader: it is closing, open it again.
      entry = opened.dropped && opened.refs === 0 ? this.entries.get(file) : opened;
    }
    entry.refs++;
    // Map order is recency order: re-inserting makes it the most recently used.
    if (!entry.dropped) {
      this.entries.delete(file);
      this.entries.set(file, entry);
    }
    const lease = entry;
    let released = false;
    return {
      fh: lease.fh,
      release: async () => {
        if (released) return;
        released = true;
        lease.refs--;
        lease.lastUsed = Date.now();
        if (lease.dropped && lease.refs === 0) await lease.fh.close().catch(() => undefined);
      },
    };
  }

  private async openEntry(file: string): Promise<Entry> {
    const fh = await open(file, 'r');
    const entry: Entry = { fh, refs: 0, lastUsed: Date.now(), dropped: false };
    this.entries.set(file, entry);
    await this.trim(file);
    this.startTimer();
    return entry;
  }

  /** Forgets `file` (the driver is deleting it); its handle closes once no reader holds it. */
  async forget(file: string): Promise<void> {
    const entry = this.entries.get(file);
    if (!entry) return;
    await this.drop(file, entry);
  }

  /** Forgets every cached file under `dir` (a recursive delete). */
  async forgetUnder(dir: string): Promise<void> {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    for (const [file, entry] of [...this.entries]) if (file === dir || file.startsWith(prefix)) await this.drop(file, entry);
  }

  private async drop(file: string, entry: Entry): Promise<void> {
    this.entries.delete(file);
    entry.dropped = true;
    if (entry.refs === 0) await entry.fh.close().catch(() => undefined);
  }

  /** Evicts idle handles over `max`, oldest first, never `keep` (just opened for a caller). */
  private async trim(keep: string): Promise<void> {
    if (this.entries.size <= this.max) return;
    const closing: Promise<void>[] = [];
    for (const [file, entry] of this.entries) {
      if (this.entries.size <= this.max) break;
      if (entry.refs === 0 && file !== keep) closing.push(this.drop(file, entry));
    }
    await Promise.all(closing);
  }

  private sweep(): void {
    const before = Date.now() - this.idleMs;
    for (const [file, entry] of this.entries) if (entry.refs === 0 && entry.lastUsed <= before) void this.drop(file, entry);
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), Math.max(100, this.idleMs / 2));
    this.timer.unref();
  }

  /** Closes every idle handle now (and the rest as their readers finish). */
  async closeAll(): Promise<void> {
    for (const [file, entry] of [...this.entries]) await this.drop(file, entry);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
