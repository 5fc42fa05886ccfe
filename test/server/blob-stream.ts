// Pushing and pulling large blobs without holding them: contents are generated on the fly from a seed
// (random-data.ts), uploads stream with backpressure, downloads are hashed as they arrive.
import { CheckFailure, PushClient, expectStatus, hashStream, header, parseUploadRange, requireLocation, type RequestBody } from './push-client.js';
import { pseudoRandomChunks, pseudoRandomDigest } from './random-data.js';
import type { RegistryTarget } from './registry-target.js';

/** The generator's chunk size; upload chunk sizes must be multiples of it. */
export const generatorChunk = 1024 * 1024;

export interface BigBlob {
  repo: string;
  seed: string;
  size: number;
  digest: string;
}

/** Describes a generated blob, computing its digest by streaming the content once (constant memory). */
export function describeBlob(repo: string, seed: string, size: number): BigBlob {
  return { repo, seed, size, digest: pseudoRandomDigest(seed, size, generatorChunk) };
}

function* take(source: Iterator<Buffer>, count: number): Generator<Buffer> {
  for (let i = 0; i < count; i++) {
    const next = source.next();
    if (next.done) return;
    yield next.value;
  }
}

function streamed(blob: BigBlob): RequestBody {
  return { length: blob.size, chunks: pseudoRandomChunks(blob.seed, blob.size, generatorChunk) };
}

/**
 * Monolithic upload: POST /blobs/uploads/?digest=… with the whole blob as body (201).
 * Distribution does not implement that, so against the reference: POST, then PUT ?digest= with the body.
 */
export async function pushMonolithic(client: PushClient, target: RegistryTarget, blob: BigBlob): Promise<void> {
  if (target.singlePostUpload) {
    const res = await client.monolithicUpload(blob.repo, blob.digest, streamed(blob));
    expectStatus(res, 201, 'monolithic upload');
    return;
  }
  const started = expectStatus(await client.startUpload(blob.repo), 202, 'start upload');
  expectStatus(await client.completeUpload(requireLocation(started, 'start upload'), blob.digest, streamed(blob)), 201, 'monolithic PUT');
}

/** Chunked upload: POST, PATCHes of `chunkBytes` each (checking Range), then PUT ?digest=. */
export async function pushChunked(client: PushClient, blob: BigBlob, chunkBytes: number): Promise<number> {
  if (chunkBytes % generatorChunk !== 0) throw new Error(`chunk size must be a multiple of ${generatorChunk}`);
  const source = pseudoRandomChunks(blob.seed, blob.size, generatorChunk);
  let location = requireLocation(expectStatus(await client.startUpload(blob.repo), 202, 'start upload'), 'start upload');
  let offset = 0;
  let patches = 0;
  while (offset < blob.size) {
    const length = Math.min(chunkBytes, blob.size - offset);
    const res = expectStatus(await client.patchChunk(location, offset, { length, chunks: take(source, length / generatorChunk) }), 202, `PATCH at ${offset}`);
    offset += length;
    patches++;
    const range = parseUploadRange(header(res, 'range'));
    if (!range || range.maxBytes !== offset) throw new CheckFailure(`${res.request}: Range ${header(res, 'range')}, expected 0-${offset - 1}`);
    location = requireLocation(res, 'PATCH');
  }
  expectStatus(await client.completeUpload(location, blob.digest), 201, 'complete chunked upload');
  return patches;
}

/** GETs the blob, hashing it as it streams; throws unless length and digest match. */
export async function pullAndCheck(client: PushClient, blob: BigBlob, timeoutMs: number): Promise<void> {
  const res = await client.openBlob(blob.repo, blob.digest, timeoutMs);
  if (res.statusCode !== 200) {
    res.resume();
    throw new CheckFailure(`GET blob ${blob.digest} answered ${res.statusCode}`);
  }
  const declared = Number(res.headers['content-length']);
  const got = await hashStream(res);
  if (declared !== blob.size) throw new CheckFailure(`GET blob ${blob.digest}: Content-Length ${res.headers['content-length']}, expected ${blob.size}`);
  if (got.size !== blob.size || got.digest !== blob.digest) {
    throw new CheckFailure(`GET blob ${blob.digest}: received ${got.size} bytes with digest ${got.digest}, expected ${blob.size} bytes`);
  }
}
