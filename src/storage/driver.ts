// The storage driver interface: bytes only, addressed by relative slash-separated paths.
// Names, tags and references live in the MetadataStore; a driver never interprets paths.
import type { Readable, Writable } from 'node:stream';

export interface Opts {
  signal?: AbortSignal;
}

export interface ReadOpts extends Opts {
  /**
   * The caller promises that the bytes at this path never change while it exists (content-addressed blobs),
   * so a driver may keep what it opened for the next read (the filesystem driver caches file handles).
   */
  immutable?: boolean;
}

export interface FileInfo {
  path: string;
  size: number;
  modTime: Date;
  isDir: boolean;
}

export interface ByteRange {
  offset: number;
  /** Number of bytes to read from offset; undefined reads to the end. */
  length?: number;
}

/** A writer to one path. Bytes go to `stream`; nothing is promised until commit() resolves. */
export interface FileWriter {
  /** Bytes in the file, counting what was there before an append, once `stream` has finished. */
  readonly size: number;
  readonly stream: Writable;
  /** Waits for `stream` to finish and makes the content durable at its path. */
  commit(o?: Opts): Promise<void>;
  /** Waits for `stream` to finish without the durability promise (the content stays for a later append). */
  close(): Promise<void>;
  /** Discards the writer and everything at its path. */
  cancel(): Promise<void>;
}

export interface DriverCapabilities {
  /** `writer(path, true)` appends to what is stored. Object stores cannot; uploads then use segments + concat. */
  append: boolean;
  /** The smallest source concat() accepts for every source but the last (S3 multipart: 5 MiB); 0 if any. */
  minConcatPart: number;
}

export interface StorageDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  getContent(path: string, o?: Opts): Promise<Buffer>;
  /** Atomically replaces the content at path, durably. */
  putContent(path: string, data: Uint8Array, o?: Opts): Promise<void>;
  /** o.immutable: the bytes at path never change while it exists (blobs): the driver may keep them open. */
  reader(path: string, range?: ByteRange, o?: ReadOpts): Promise<Readable>;
  writer(path: string, append: boolean, o?: Opts): Promise<FileWriter>;
  stat(path: string, o?: Opts): Promise<FileInfo>;
  /** Direct children of a directory-like prefix, as full paths, sorted. */
  list(path: string, o?: Opts): Promise<string[]>;
  /** Every file below a prefix, depth first, sorted. */
  walk(path: string, o?: Opts): AsyncIterable<FileInfo>;
  /** Atomically and durably moves a file; replaces the destination. */
  move(from: string, to: string, o?: Opts): Promise<void>;
  /**
   * Moves the concatenation of `sources` (in order) to `dest`, atomically visible there, without passing the
   * bytes through this process where the backend can avoid it (S3 multipart copy, Azure block lists).
   * The sources are removed afterwards.
   */
  concat(sources: string[], dest: string, o?: Opts): Promise<void>;
  /** Deletes a file or everything below a prefix. Deleting nothing is not an error. */
  delete(path: string, o?: Opts): Promise<void>;
  /** Optional: a URL the client may fetch the bytes from directly. */
  redirectURL?(path: string, o?: Opts): Promise<string | undefined>;
  close?(): Promise<void>;
}

export type StorageErrorKind = 'not-found' | 'invalid-path' | 'aborted' | 'io';

export class StorageError extends Error {
  constructor(
    readonly kind: StorageErrorKind,
    readonly path: string,
    message: string,
    readonly driver?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof StorageError && e.kind === 'not-found';
}
