// A file's bytes as a Readable, with a faster path for sending them to a socket.
//
// As a Readable it behaves like fs.createReadStream (fresh buffers, backpressure). `sendTo(dest)` skips the
// stream machinery: it reads into two pooled buffers (up to 4 MiB each), one filling from disk while the other
// is being written to the socket, and hands a buffer back to the disk only after the socket has taken all of
// it (the write callback). Fresh multi-megabyte buffers cost page faults on every chunk; reusing two measured
// 2.0–2.2 GB/s against 1.5–1.6 GB/s for createReadStream on this machine (docs/benchmarks.md). Small blobs
// get pooled buffers of their size class too: a fresh 1 MiB buffer per GET was a quarter of its CPU.
import type { FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

const chunkSize = 4 * 1024 * 1024;
/** Buffers below this size come from Node's own small-buffer pool, not this one. */
const smallestClass = 64 * 1024;
/** Bytes of idle buffers kept for the next send, over all size classes. */
const poolBytesLimit = 8 * 1024 * 1024;
/** Idle buffers by size class (a power of two from 64 KiB to chunkSize). */
const pool = new Map<number, Buffer[]>();
let poolBytes = 0;

function sizeClass(size: number): number {
  let c = smallestClass;
  while (c < size) c *= 2;
  return c;
}

/** A buffer of at least `size` bytes (at most chunkSize), pooled when it is big enough to be worth it. */
function takeBuffer(size: number): Buffer {
  if (size < smallestClass) return Buffer.allocUnsafe(size);
  const c = sizeClass(size);
  const b = pool.get(c)?.pop();
  if (b) {
    poolBytes -= c;
    return b;
  }
  return Buffer.allocUnsafeSlow(c);
}

/** Keeps `b` for the next send, dropping idle buffers of other sizes to make room: the sizes in use win. */
function returnBuffer(b: Buffer): void {
  if (b.length < smallestClass || b.length !== sizeClass(b.length) || b.length > poolBytesLimit) return;
  for (const [size, list] of pool) {
    if (poolBytes + b.length <= poolBytesLimit) break;
    if (size === b.length) continue;
    while (list.length > 0 && poolBytes + b.length > poolBytesLimit) {
      list.pop();
      poolBytes -= size;
    }
  }
  if (poolBytes + b.length > poolBytesLimit) return;
  let list = pool.get(b.length);
  if (!list) pool.set(b.length, (list = []));
  list.push(b);
  poolBytes += b.length;
}

/** Resolves when `dest` has taken `chunk` (its write callback), rejects on a write error or abort. */
function write(dest: Writable, chunk: Buffer, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    dest.write(chunk, (err) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    });
  });
}

export class FileReadStream extends Readable {
  private position: number;
  private remaining: number;
  private sending = false;

  /** Streams `length` bytes of `fh` from `start`; when done or destroyed calls `release` (default: closes `fh`). */
  constructor(
    private readonly fh: FileHandle,
    start: number,
    length: number,
    private readonly release: () => Promise<void> = () => fh.close(),
  ) {
    super({ highWaterMark: Math.max(1, Math.min(chunkSize, length)) });
    this.position = start;
    this.remaining = length;
  }

  override _read(size: number): void {
    if (this.remaining === 0) {
      this.push(null);
      return;
    }
    const want = Math.min(this.remaining, Math.max(size, 64 * 1024), chunkSize);
    const buf = Buffer.allocUnsafe(want);
    this.fh.read(buf, 0, want, this.position).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.destroy(new Error(`file ended ${this.remaining} bytes early`));
          return;
        }
        this.position += bytesRead;
        this.remaining -= bytesRead;
        this.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      },
      (e: unknown) => this.destroy(e as Error),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.release().then(
      () => cb(err),
      (e: unknown) => cb(err ?? (e as Error)),
    );
  }

  /**
   * Writes every remaining byte to `dest`, ends it and waits until it finished. Use instead of piping, not
   * as well. On failure or abort the buffers in flight are dropped, never reused: the socket may still hold them.
   */
  async sendTo(dest: Writable, signal?: AbortSignal): Promise<void> {
    if (this.sending || this.readableDidRead || this.destroyed) throw new Error('FileReadStream: sendTo on a stream already in use');
    this.sending = true;
    const buffers: Array<Buffer | undefined> = [undefined, undefined];
    const writes: Array<Promise<void> | undefined> = [undefined, undefined];
    let done = false;
    try {
      let i = 0;
      while (this.remaining > 0) {
        if (writes[i]) await writes[i];
        const buf = (buffers[i] ??= takeBuffer(Math.min(chunkSize, this.remaining)));
        const want = Math.min(buf.length, this.remaining);
        const { bytesRead } = await this.fh.read(buf, 0, want, this.position);
        if (bytesRead === 0) throw new Error(`file ended ${this.remaining} bytes early`);
        this.position += bytesRead;
        this.remaining -= bytesRead;
        const pending = write(dest, buf.subarray(0, bytesRead), signal);
        pending.catch(() => {});
        writes[i] = pending;
        i ^= 1;
      }
      await Promise.all(writes);
      done = true;
    } finally {
      if (done) for (const b of buffers) if (b) returnBuffer(b);
      this.destroy();
    }
    dest.end();
    await finished(dest);
  }
}

/** Whether `stream` offers the socket fast path. */
export function canSendTo(stream: Readable): stream is FileReadStream {
  return stream instanceof FileReadStream;
}
