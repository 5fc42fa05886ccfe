// A blob download as a Readable that hashes every byte as it passes, resumes with `Range` after a dropped
// connection (continuing the same hash, so the check still covers every byte), and fails at the end of
// the stream with DigestMismatchError when the bytes are not the digest asked for. Nothing is buffered
// beyond what the stream itself holds.
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DigestMismatchError, ProtocolError, SizeMismatchError } from './errors.js';
import { isRetryableError, sleep, type TransportResponse } from './transport.js';

export interface BlobStream extends Readable {
  /** The digest asked for. */
  readonly digest: string;
  /** The whole blob's size, when the registry said (Content-Length of a 200, or the total of a Content-Range). */
  readonly size: number | undefined;
  /** First byte delivered (0 unless a range was asked for). */
  readonly start: number;
  /** Whether the stream's digest is checked at its end (whole-blob downloads). */
  readonly verified: boolean;
  /** How many times the download was resumed after a failure. */
  readonly resumes: number;
}

export interface ContentRange {
  start: number;
  end: number;
  total: number | undefined;
}

/** `bytes <first>-<last>/<total|*>`. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const m = value ? /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

export interface OpenedBlob {
  res: TransportResponse;
  /** Bytes at the start of this body to drop (a registry that ignored Range and sent everything). */
  skip: number;
  /** Size of the whole blob, if known. */
  size: number | undefined;
}

export interface DownloadInit {
  digest: string;
  start: number;
  /** Inclusive last byte, when a range was asked for. */
  end: number | undefined;
  verify: boolean;
  first: OpenedBlob;
  /** Opens the blob again from `offset` (Range request). */
  reopen: (offset: number, signal: AbortSignal) => Promise<OpenedBlob>;
  maxResumes: number;
  /** Aborted when the consumer destroys the stream early; requests must use it. */
  controller: AbortController;
  userSignal: AbortSignal | undefined;
  backoff: (attempt: number) => number;
}

class Truncated extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
}

export function downloadStream(init: DownloadInit): BlobStream {
  const algorithm = init.digest.slice(0, init.digest.indexOf(':'));
  const hash: Hash | undefined = init.verify ? createHash(algorithm) : undefined;
  let resumes = 0;
  let size = init.first.size;
  let finished = false;
  async function* chunks(): AsyncGenerator<Buffer> {
    let current = init.first;
    let offset = init.start;
    try {
      for (;;) {
        let skip = current.skip;
        try {
          for await (const raw of current.res.body) {
            let chunk = raw as Buffer;
            if (skip > 0) {
              if (chunk.length <= skip) {
                skip -= chunk.length;
                continue;
              }
              chunk = chunk.subarray(skip);
              skip = 0;
            }
            if (init.end !== undefined && offset + chunk.length > init.end + 1) chunk = chunk.subarray(0, init.end + 1 - offset);
            if (chunk.length === 0) continue;
            hash?.update(chunk);
            offset += chunk.length;
            yield chunk;
          }
          const expectedEnd = init.end !== undefined ? (size !== undefined ? Math.min(init.end + 1, size) : init.end + 1) : size;
          if (expectedEnd !== undefined && offset < expectedEnd) throw new Truncated(`the body ended at byte ${offset} of ${expectedEnd}`);
          if (expectedEnd !== undefined && offset > expectedEnd) throw new SizeMismatchError(expectedEnd - init.start, offset - init.start, 'blob');
          break;
        } catch (e) {
          current.res.body.destroy();
          if (init.controller.signal.aborted || init.userSignal?.aborted) throw e;
          if (!(e instanceof Truncated) && !isRetryableError(e)) throw e;
          if (resumes >= init.maxResumes) throw e;
          await sleep(init.backoff(resumes), init.controller.signal);
          resumes++;
          current = await init.reopen(offset, init.controller.signal);
          if (current.size !== undefined) {
            if (size !== undefined && current.size !== size) throw new ProtocolError(`blob ${init.digest} changed size between requests (${size} then ${current.size})`);
            size = current.size;
          }
        }
      }
      if (hash) {
        const actual = `${algorithm}:${hash.digest('hex')}`;
        if (actual !== init.digest) throw new DigestMismatchError(init.digest, actual, 'blob');
      }
      finished = true;
    } finally {
      current.res.body.destroy();
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 }) as Readable;
  // A consumer that stops early must not leave a request hanging on a slot.
  stream.once('close', () => {
    if (!finished) init.controller.abort();
  });
  Object.defineProperties(stream, {
    digest: { value: init.digest, enumerable: true },
    size: { get: () => size, enumerable: true },
    start: { value: init.start, enumerable: true },
    verified: { value: init.verify, enumerable: true },
    resumes: { get: () => resumes, enumerable: true },
  });
  return stream as BlobStream;
}
