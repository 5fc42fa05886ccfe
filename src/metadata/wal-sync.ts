// Makes SQLite commits durable without blocking the event loop.
//
// The store runs SQLite with synchronous=NORMAL in WAL mode: a COMMIT writes its frames to the -wal file
// (page cache) and returns; SQLite itself fsyncs only around checkpoints. Before a write is acknowledged the
// store awaits `sync()`, which fdatasyncs the -wal file on the libuv thread pool. One fdatasync covers every
// frame written before it started, so concurrent callers share it: while one runs, later callers wait for
// the next one, which starts when it ends (group fsync). The outcome equals synchronous=FULL for every
// acknowledged write; the event loop keeps serving while the disk flushes.
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

export class WalSync {
  private fd: number | undefined;
  private ino: number | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /** `walFile`: the database file's name plus `-wal`; undefined for an in-memory database (nothing to sync). */
  constructor(private readonly walFile: string | undefined) {}

  /** Resolves once every commit made before this call is on disk. */
  sync(): Promise<void> {
    if (this.walFile === undefined) return Promise.resolve();
    if (this.queued) return this.queued;
    if (!this.running) {
      this.running = this.flush().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    // The running fdatasync may have started before this caller's commit: wait for the next one.
    this.queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.sync();
      });
    return this.queued;
  }

  private flush(): Promise<void> {
    let fd: number | undefined;
    try {
      fd = this.open();
    } catch (e) {
      return Promise.reject(e);
    }
    // No -wal file: SQLite checkpointed everything into the database file and synced it.
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }

  /** The -wal file's descriptor, reopened when SQLite replaced the file (a different inode). */
  private open(): number | undefined {
    const st = statSync(this.walFile!, { throwIfNoEntry: false });
    if (!st) {
      this.close();
      return undefined;
    }
    if (this.fd !== undefined && this.ino === st.ino) return this.fd;
    this.close();
    this.fd = openSync(this.walFile!, 'r');
    this.ino = fstatSync(this.fd).ino;
    return this.fd;
  }

  /** Waits for the fdatasync in flight, then lets the descriptor go. */
  async end(): Promise<void> {
    await Promise.allSettled([this.running, this.queued]);
    this.close();
  }

  private close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.ino = undefined;
  }
}
