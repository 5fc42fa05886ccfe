// Wraps any driver: validates every path before it reaches the backend, tags errors with the driver's name,
// and reports each call to an optional hook (metrics).
import { addAbortSignal } from 'node:stream';
import type { ByteRange, FileInfo, FileWriter, Opts, ReadOpts, StorageDriver } from './driver.js';
import { StorageError } from './driver.js';

const segment = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function checkPath(path: string): string {
  const parts = path.split('/');
  if (path.length === 0 || path.length > 1024 || !parts.every((p) => segment.test(p) && p !== '.' && p !== '..')) {
    throw new StorageError('invalid-path', path, `invalid storage path ${JSON.stringify(path.slice(0, 200))}`);
  }
  return path;
}

export type CallHook = (driver: string, op: string, ms: number, error?: unknown) => void;

function tag(driver: string, path: string, e: unknown): unknown {
  if (e instanceof StorageError) {
    if (e.driver) return e;
    return new StorageError(e.kind, e.path, e.message, driver, { cause: e.cause });
  }
  if (e instanceof Error && e.name === 'AbortError') return new StorageError('aborted', path, 'operation aborted', driver, { cause: e });
  return new StorageError('io', path, `${driver}: ${(e as Error)?.message ?? String(e)}`, driver, { cause: e });
}

export class CheckedDriver implements StorageDriver {
  readonly name: string;
  readonly capabilities: StorageDriver['capabilities'];
  readonly redirectURL?: (path: string, o?: Opts) => Promise<string | undefined>;

  constructor(
    private readonly inner: StorageDriver,
    private readonly hook?: CallHook,
  ) {
    this.name = inner.name;
    this.capabilities = inner.capabilities;
    if (inner.redirectURL) {
      const redirect = inner.redirectURL.bind(inner);
      this.redirectURL = (path, o) => this.call('redirectURL', path, () => redirect(checkPath(path), o));
    }
  }

  private async call<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      const v = await fn();
      this.hook?.(this.name, op, performance.now() - start);
      return v;
    } catch (e) {
      const tagged = tag(this.name, path, e);
      this.hook?.(this.name, op, performance.now() - start, tagged);
      throw tagged;
    }
  }

  getContent(path: string, o?: Opts) {
    return this.call('getContent', path, () => this.inner.getContent(checkPath(path), o));
  }
  putContent(path: string, data: Uint8Array, o?: Opts) {
    return this.call('putContent', path, () => this.inner.putContent(checkPath(path), data, o));
  }
  /** Reads honour `o.signal` whatever the backend does: an abort destroys the stream. */
  async reader(path: string, range?: ByteRange, o?: ReadOpts) {
    const stream = await this.call('reader', path, () => this.inner.reader(checkPath(path), range, o));
    return o?.signal ? addAbortSignal(o.signal, stream) : stream;
  }
  writer(path: string, append: boolean, o?: Opts): Promise<FileWriter> {
    return this.call('writer', path, () => this.inner.writer(checkPath(path), append, o));
  }
  stat(path: string, o?: Opts): Promise<FileInfo> {
    return this.call('stat', path, () => this.inner.stat(checkPath(path), o));
  }
  list(path: string, o?: Opts) {
    return this.call('list', path, () => this.inner.list(checkPath(path), o));
  }
  async *walk(path: string, o?: Opts): AsyncIterable<FileInfo> {
    checkPath(path);
    try {
      yield* this.inner.walk(path, o);
    } catch (e) {
      throw tag(this.name, path, e);
    }
  }
  move(from: string, to: string, o?: Opts) {
    return this.call('move', from, () => this.inner.move(checkPath(from), checkPath(to), o));
  }
  concat(sources: string[], dest: string, o?: Opts) {
    return this.call('concat', dest, () => this.inner.concat(sources.map(checkPath), checkPath(dest), o));
  }
  delete(path: string, o?: Opts) {
    return this.call('delete', path, () => this.inner.delete(checkPath(path), o));
  }
  async close() {
    await this.inner.close?.();
  }
}
