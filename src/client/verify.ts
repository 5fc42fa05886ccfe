// Checking content while it streams: a pass-through that hashes every byte and fails the stream at its end
// when the size or digest is not what the descriptor says. Used by every local store; the registry
// download path does the same inside its resumable stream.
import { Transform, type Readable } from 'node:stream';
import { createDigester, parseDigest, type Descriptor } from '../oci/index.js';
import { DigestMismatchError, SizeMismatchError } from './errors.js';

/** `source` piped through a check of `descriptor` (digest and size). Errors of `source` pass on. */
export function verifying(source: Readable, descriptor: Pick<Descriptor, 'digest' | 'size'>, what = 'blob'): Readable {
  const { algorithm } = parseDigest(descriptor.digest);
  const hash = createDigester(algorithm);
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > descriptor.size) {
        cb(new SizeMismatchError(descriptor.size, size, `${what} ${descriptor.digest}`));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (size !== descriptor.size) {
        cb(new SizeMismatchError(descriptor.size, size, `${what} ${descriptor.digest}`));
        return;
      }
      const actual = `${algorithm}:${hash.digest('hex')}`;
      cb(actual === descriptor.digest ? null : new DigestMismatchError(descriptor.digest, actual, `${what}`));
    },
  });
  source.once('error', (e) => check.destroy(e));
  check.once('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(check);
}

/** Throws unless `bytes` are exactly `descriptor` (for manifests, which are read whole). */
export function checkBytes(bytes: Uint8Array, descriptor: Pick<Descriptor, 'digest' | 'size'>, what = 'manifest'): void {
  if (bytes.length !== descriptor.size) throw new SizeMismatchError(descriptor.size, bytes.length, `${what} ${descriptor.digest}`);
  const { algorithm } = parseDigest(descriptor.digest);
  const actual = `${algorithm}:${createDigester(algorithm).update(bytes).digest('hex')}`;
  if (actual !== descriptor.digest) throw new DigestMismatchError(descriptor.digest, actual, what);
}
