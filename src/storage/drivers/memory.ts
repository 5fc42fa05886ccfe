// Keeps everything in process memory: tests and ephemeral registries.
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ByteRange, FileInfo, FileWriter, StorageDriver } from '../driver.js';
import { StorageError } from '../driver.js';

interface Entry {
  data: Buffer;
  modTime: Date;
}

export interface MemoryOptions {
  /** Behave like an object store (no appends, a minimum concat part) to exercise the segmented upload path. */
  objectStore?: { minConcatPart: number };
}

export class MemoryDriver implements StorageDriver {
  readonly name = 'memory';
  readonly capabilities;
  private readonly files = new Map<string, Entry>();

  constructor(opts: MemoryOptions = {}) {
    this.capabilities = opts.objectStore ? { append: false, minConcatPart: opts.objectStore.minConcatPart } : { append: true, minConcatPart: 0 };
  }

  private get(path: string): Entry {
    const e = this.files.get(path);
    if (!e) throw new StorageError('not-found', path, `not found: ${path}`, this.name);
    return e;
  }

  async getContent(path: string): Promise<Buffer> {
    return Buffer.from(this.get(path).data);
  }

  async putContent(path: string, data: Uint8Array): Promise<void> {
    this.files.set(path, { data: Buffer.from(data), modTime: new Date() });
  }

  async reader(path: string, range?: ByteRange): Promise<Readable> {
    const { data } = this.get(path);
    const start = Math.min(range?.offset ?? 0, data.length);
    const end = range?.length === undefined ? data.length : Math.min(data.length, start + range.length);
    const slice = data.subarray(start, end);
    const step = 64 * 1024;
    return Readable.from(
      (function* () {
        for (let off = 0; off < slice.length; off += step) yield slice.subarray(off, off + step);
      })(),
    );
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    if (append && !this.capabilities.append) throw new StorageError('io', path, 'this driver cannot append', this.name);
    const chunks: Buffer[] = [];
    const initial = append && this.files.has(path) ? this.files.get(path)!.data : Buffer.alloc(0);
    let written = 0;
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        written += chunk.length;
        cb();
      },
    });
    const files = this.files;
    // Appends become visible when the writer finishes, as a file's bytes would.
    const publish = async () => {
      if (!stream.writableEnded) stream.end();
      await finished(stream);
      files.set(path, { data: Buffer.concat([initial, ...chunks]), modTime: new Date() });
    };
    return {
      stream,
      get size() {
        return initial.length + written;
      },
      commit: publish,
      close: publish,
      async cancel() {
        stream.destroy();
        files.delete(path);
      },
    };
  }

  async stat(path: string): Promise<FileInfo> {
    const e = this.files.get(path);
    if (e) return { path, size: e.data.length, modTime: e.modTime, isDir: false };
    const prefix = path + '/';
    for (const key of this.files.keys()) {
      if (key.startsWith(prefix)) return { path, size: 0, modTime: new Date(), isDir: true };
    }
    throw new StorageError('not-found', path, `not found: ${path}`, this.name);
  }

  async list(path: string): Promise<string[]> {
    const prefix = path + '/';
    const children = new Set<string>();
    for (const key of this.files.keys()) {
      if (key.startsWith(prefix)) children.add(prefix + key.slice(prefix.length).split('/', 1)[0]);
    }
    if (children.size === 0) throw new StorageError('not-found', path, `not found: ${path}`, this.name);
    return [...children].sort();
  }

  async *walk(path: string): AsyncIterable<FileInfo> {
    const prefix = path + '/';
    const keys = [...this.files.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const e = this.files.get(key);
      if (e) yield { path: key, size: e.data.length, modTime: e.modTime, isDir: false };
    }
  }

  async move(from: string, to: string): Promise<void> {
    const e = this.get(from);
    this.files.set(to, e);
    this.files.delete(from);
  }

  async concat(sources: string[], dest: string): Promise<void> {
    const parts = sources.map((src, i) => {
      const data = this.get(src).data;
      if (i < sources.length - 1 && data.length < this.capabilities.minConcatPart) {
        throw new StorageError('io', src, `concat part ${src} is smaller than ${this.capabilities.minConcatPart} bytes`, this.name);
      }
      return data;
    });
    this.files.set(dest, { data: Buffer.concat(parts), modTime: new Date() });
    for (const src of sources) if (src !== dest) this.files.delete(src);
  }

  async delete(path: string): Promise<void> {
    const prefix = path + '/';
    for (const key of [...this.files.keys()]) {
      if (key === path || key.startsWith(prefix)) this.files.delete(key);
    }
  }
}
