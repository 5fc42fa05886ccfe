// The default driver: files under a root directory on any POSIX filesystem.
// Durability: file data is fsynced on commit/putContent, and the parent directory after every rename.
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import type { ByteRange, FileInfo, FileWriter, ReadOpts, StorageDriver } from '../driver.js';
import { StorageError } from '../driver.js';
import { FileReadStream } from '../file-read-stream.js';
import { HandleCache } from './handle-cache.js';

export interface FilesystemOptions {
  root: string;
}

function wrap(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new StorageError('not-found', path, `not found: ${path}`, 'filesystem', { cause: e });
  return e;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const writeBuffer = 4 * 1024 * 1024;

/** Temporary files sit beside their target (same filesystem, so rename is atomic) with a recognisable suffix. */
export const tempSuffix = '.tmp-';

function tempName(file: string): string {
  return `${file}${tempSuffix}${randomBytes(6).toString('hex')}`;
}

/** Writes to an open file handle, batching queued chunks into one writev. The handle stays open for fsync. */
class HandleWritable extends Writable {
  bytesWritten = 0;
  constructor(private readonly fh: FileHandle) {
    super({ highWaterMark: writeBuffer });
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    let pending = buffers;
    while (pending.length > 0) {
      const { bytesWritten } = await this.fh.writev(pending);
      this.bytesWritten += bytesWritten;
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const b of pending) {
        if (skip >= b.length) skip -= b.length;
        else {
          rest.push(skip > 0 ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      pending = rest;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }
}

/**
 * An appending writer writes the file in place (upload sessions resume from what is there). A new-file writer
 * writes a temporary file beside the target and renames it on commit, so nothing half-written is ever
 * readable under the final name.
 */
class FsWriter implements FileWriter {
  private closed = false;
  constructor(
    private readonly fh: FileHandle,
    /** The file the bytes go to. */
    private readonly file: string,
    /** Where a new-file writer renames `file` to; undefined for appends. */
    private readonly target: string | undefined,
    private readonly initial: number,
    readonly stream: HandleWritable,
  ) {}

  get size(): number {
    return this.initial + this.stream.bytesWritten;
  }

  private async drain(): Promise<void> {
    if (!this.stream.writableEnded) this.stream.end();
    await finished(this.stream);
  }

  async commit(): Promise<void> {
    try {
      await this.drain();
      await this.fh.datasync();
    } catch (e) {
      await this.cancel();
      throw e;
    }
    await this.release();
    await this.publish(true);
  }

  async close(): Promise<void> {
    try {
      await this.drain();
    } finally {
      await this.release();
    }
    await this.publish(false);
  }

  async cancel(): Promise<void> {
    this.stream.destroy();
    await this.release();
    await rm(this.file, { force: true });
  }

  private async publish(durable: boolean): Promise<void> {
    if (this.target === undefined) return;
    await rename(this.file, this.target);
    if (durable) await fsyncDir(dirname(this.target));
  }

  private async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}

export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly capabilities = { append: true, minConcatPart: 0 };
  /** Handles of immutable files (blobs), kept between reads. */
  private readonly handles = new HandleCache();
  constructor(private readonly opts: FilesystemOptions) {}

  private full(path: string): string {
    return join(this.opts.root, path);
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      return await readFile(this.full(path));
    } catch (e) {
      throw wrap(e, path);
    }
  }

  async putContent(path: string, data: Uint8Array): Promise<void> {
    const file = this.full(path);
    await this.handles.forget(file);
    const tmp = tempName(file);
    await mkdir(dirname(file), { recursive: true });
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    await fsyncDir(dirname(file));
  }

  async reader(path: string, range?: ByteRange, o?: ReadOpts): Promise<Readable> {
    let fh: FileHandle;
    let release: () => Promise<void>;
    try {
      if (o?.immutable) ({ fh, release } = await this.handles.acquire(this.full(path)));
      else {
        const opened = await open(this.full(path), 'r');
        fh = opened;
        release = () => opened.close();
      }
    } catch (e) {
      throw wrap(e, path);
    }
    const start = range?.offset ?? 0;
    let length = range?.length;
    if (length === undefined) {
      try {
        length = Math.max(0, (await fh.stat()).size - start);
      } catch (e) {
        await release();
        throw e;
      }
    }
    return new FileReadStream(fh, start, length, release);
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    const file = this.full(path);
    await mkdir(dirname(file), { recursive: true });
    if (append) {
      const fh = await open(file, 'a');
      return new FsWriter(fh, file, undefined, (await fh.stat()).size, new HandleWritable(fh));
    }
    const tmp = tempName(file);
    const fh = await open(tmp, 'wx');
    return new FsWriter(fh, tmp, file, 0, new HandleWritable(fh));
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const s = await stat(this.full(path));
      return { path, size: s.size, modTime: s.mtime, isDir: s.isDirectory() };
    } catch (e) {
      throw wrap(e, path);
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      const names = await readdir(this.full(path));
      return names.sort().map((n) => `${path}/${n}`);
    } catch (e) {
      throw wrap(e, path);
    }
  }

  async *walk(path: string): AsyncIterable<FileInfo> {
    let entries;
    try {
      entries = await readdir(this.full(path), { withFileTypes: true });
    } catch (e) {
      const err = wrap(e, path);
      if (err instanceof StorageError && err.kind === 'not-found') return;
      throw err;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory()) yield* this.walk(child);
      else if (entry.isFile()) yield await this.stat(child);
    }
  }

  async move(from: string, to: string): Promise<void> {
    const dest = this.full(to);
    await this.handles.forget(dest);
    await mkdir(dirname(dest), { recursive: true });
    try {
      await rename(this.full(from), dest);
    } catch (e) {
      throw wrap(e, from);
    }
    await fsyncDir(dirname(dest));
  }

  async concat(sources: string[], dest: string): Promise<void> {
    if (sources.length === 1) {
      await this.move(sources[0]!, dest);
      return;
    }
    const w = await this.writer(dest, false);
    try {
      for (const src of sources) {
        for await (const chunk of await this.reader(src)) {
          if (!w.stream.write(chunk)) await new Promise((r) => w.stream.once('drain', r));
        }
      }
    } catch (e) {
      await w.cancel();
      throw e;
    }
    await w.commit();
    await Promise.all(sources.map((src) => this.delete(src)));
  }

  async delete(path: string): Promise<void> {
    await this.handles.forgetUnder(this.full(path));
    await rm(this.full(path), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.handles.closeAll();
  }
}
