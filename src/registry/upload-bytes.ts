// Where the bytes of an unfinished upload live, in one of two shapes chosen by what the driver can do:
// - AppendedBytes: one file that each chunk appends to (filesystem, memory): finishing is fsync + rename.
// - SegmentedBytes: one object per chunk (object stores cannot append); chunks smaller than the driver's
//   minimum concat part are merged into the segment before them, and finishing concatenates the segments at
//   the blob's address on the server side (S3 multipart copy, Azure block lists).
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isNotFound, type StorageDriver } from '../storage/index.js';
import { uploadPath } from './paths.js';

/** Pumps the chunk's bytes (already counted and hashed by the caller) into the sink and ends it. */
export type Pump = (sink: Writable) => Promise<void>;

export interface UploadBytes {
  /** Bytes stored for the session. */
  size(id: string): Promise<number>;
  /** Appends one chunk; resolves to the new size. A failed append leaves the stored bytes as they were or a prefix of the chunk appended. */
  append(id: string, pump: Pump): Promise<number>;
  /** Every stored byte in order (to re-hash a resumed session). */
  read(id: string, size: number): Promise<AsyncIterable<Buffer>>;
  /** Durably moves the bytes to `dest`. */
  finish(id: string, dest: string): Promise<void>;
  discard(id: string): Promise<void>;
}

export class AppendedBytes implements UploadBytes {
  constructor(private readonly storage: StorageDriver) {}

  async size(id: string): Promise<number> {
    try {
      return (await this.storage.stat(uploadPath(id))).size;
    } catch (e) {
      if (isNotFound(e)) return 0;
      throw e;
    }
  }

  async append(id: string, pump: Pump): Promise<number> {
    const writer = await this.storage.writer(uploadPath(id), true);
    try {
      await pump(writer.stream);
    } finally {
      await writer.close();
    }
    return writer.size;
  }

  async read(id: string, size: number): Promise<AsyncIterable<Buffer>> {
    return (await this.storage.reader(uploadPath(id), { offset: 0, length: size })) as AsyncIterable<Buffer>;
  }

  async finish(id: string, dest: string): Promise<void> {
    const writer = await this.storage.writer(uploadPath(id), true);
    await writer.commit(); // fsync of everything the chunks wrote
    await this.storage.move(uploadPath(id), dest);
  }

  async discard(id: string): Promise<void> {
    await this.storage.delete(uploadPath(id));
  }
}

interface Segment {
  path: string;
  offset: number;
  size: number;
}

const offsetDigits = 16;

export class SegmentedBytes implements UploadBytes {
  constructor(private readonly storage: StorageDriver) {}

  private segmentPath(id: string, offset: number): string {
    return `${uploadPath(id)}/${String(offset).padStart(offsetDigits, '0')}`;
  }

  /** The session's segments in order; a segment that does not start where the previous ended is ignored with what follows. */
  private async segments(id: string): Promise<Segment[]> {
    const found: Segment[] = [];
    for await (const f of this.storage.walk(uploadPath(id))) {
      const name = f.path.slice(f.path.lastIndexOf('/') + 1);
      if (/^\d+$/.test(name)) found.push({ path: f.path, offset: Number(name), size: f.size });
    }
    found.sort((a, b) => a.offset - b.offset);
    const chain: Segment[] = [];
    let next = 0;
    for (const s of found) {
      if (s.offset !== next) break;
      chain.push(s);
      next += s.size;
    }
    return chain;
  }

  async size(id: string): Promise<number> {
    const segs = await this.segments(id);
    const last = segs[segs.length - 1];
    return last ? last.offset + last.size : 0;
  }

  async append(id: string, pump: Pump): Promise<number> {
    const segs = await this.segments(id);
    const last = segs[segs.length - 1];
    const min = this.storage.capabilities.minConcatPart;
    // A short last segment could not be a part of the final concat: rewrite it with this chunk after it.
    const merge = last !== undefined && last.size < min ? last : undefined;
    const offset = merge ? merge.offset : last ? last.offset + last.size : 0;
    const writer = await this.storage.writer(this.segmentPath(id, offset), false);
    try {
      if (merge) await pipeline(await this.storage.reader(merge.path), writer.stream, { end: false });
      await pump(writer.stream);
    } catch (e) {
      await writer.cancel().catch(() => undefined);
      throw e;
    }
    await writer.commit();
    return offset + writer.size;
  }

  async read(id: string, size: number): Promise<AsyncIterable<Buffer>> {
    const segs = await this.segments(id);
    const storage = this.storage;
    return (async function* () {
      let left = size;
      for (const s of segs) {
        if (left <= 0) break;
        const stream: Readable = await storage.reader(s.path, { offset: 0, length: Math.min(s.size, left) });
        for await (const chunk of stream) yield chunk as Buffer;
        left -= s.size;
      }
    })();
  }

  async finish(id: string, dest: string): Promise<void> {
    const segs = await this.segments(id);
    if (segs.length === 0) await this.storage.putContent(dest, Buffer.alloc(0));
    else await this.storage.concat(segs.map((s) => s.path), dest);
    await this.discard(id);
  }

  async discard(id: string): Promise<void> {
    await this.storage.delete(uploadPath(id));
  }
}

export function uploadBytesFor(storage: StorageDriver): UploadBytes {
  return storage.capabilities.append ? new AppendedBytes(storage) : new SegmentedBytes(storage);
}
