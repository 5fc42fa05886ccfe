// A pass-through stream that hashes what flows through it and counts the bytes, optionally refusing more than a limit.
import { Transform, type TransformCallback } from 'node:stream';
import type { Hash } from 'node:crypto';
import { RegistryError } from '../oci/errors.js';

export class DigestingStream extends Transform {
  bytes = 0;

  constructor(
    private readonly hash: Hash | undefined,
    private readonly limit?: number,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.limit !== undefined && this.bytes > this.limit) {
      cb(new RegistryError('SIZE_INVALID', `request body is longer than the ${this.limit} bytes announced`));
      return;
    }
    this.hash?.update(chunk);
    cb(null, chunk);
  }
}
