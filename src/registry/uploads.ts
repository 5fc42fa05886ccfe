// Blob upload sessions: start, append chunks, report progress, complete with digest verification, cancel, mount.
// Bytes stream from the request through a hasher into the storage driver; nothing is buffered.
// The hasher lives in memory with the session; a session that resumes in a process that does not hold it
// (after a restart), or whose bytes another process has appended to since (several processes sharing one
// metadata store and storage), re-hashes the bytes already stored.
import { randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, type DigestAlgorithm, type ParsedDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { BlobBusyError, type BlobRecord, type MetadataStore, type UploadRecord } from '../metadata/store.js';
import { isNotFound, type StorageDriver } from '../storage/index.js';
import { blobPath } from './paths.js';
import { uploadBytesFor, type UploadBytes } from './upload-bytes.js';
import { DigestingStream } from './digesting-stream.js';

interface Session {
  id: string;
  repo: string;
  /** Bytes stored so far. */
  size: number;
  /** Hash over bytes [0, size), or undefined when it must be rebuilt from storage. */
  hash: Hash | undefined;
  algorithm: DigestAlgorithm;
  busy: boolean;
}

/** A chunk as the request describes it. */
export interface Chunk {
  body: Readable;
  /** Inclusive byte range from Content-Range, if given. */
  range?: { start: number; end: number };
  /** Content-Length, if given. */
  length?: number;
}

const uploadIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** How long a completion waits for the garbage collector to finish deleting the same digest. */
const claimWaitMs = 30_000;

function unknownUpload(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload session unknown: it was completed, cancelled or never started here');
}

export class Uploads {
  private readonly sessions = new Map<string, Session>();
  private readonly bytes: UploadBytes;

  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: MetadataStore,
  ) {
    this.bytes = uploadBytesFor(storage);
  }

  async start(repo: string): Promise<{ id: string; size: number }> {
    const id = randomUUID();
    await this.metadata.createUpload({ id, repository: repo, createdAt: Date.now() });
    this.sessions.set(id, { id, repo, size: 0, hash: undefined, algorithm: 'sha256', busy: false });
    return { id, size: 0 };
  }

  /** The session, loaded from the metadata store when this process does not hold it. */
  private async load(repo: string, id: string): Promise<Session> {
    if (!uploadIdPattern.test(id)) throw unknownUpload();
    const held = this.sessions.get(id);
    if (held) {
      if (held.repo !== repo) throw unknownUpload();
      if (!held.busy) await this.refresh(held);
      return held;
    }
    const record = await this.metadata.getUpload(id);
    if (!record || record.repository !== repo) throw unknownUpload();
    const size = await this.bytes.size(id);
    const session: Session = { id, repo, size, hash: undefined, algorithm: 'sha256', busy: false };
    this.sessions.set(id, session);
    return session;
  }

  /**
   * Several processes may serve one session (a shared metadata store and storage, no sticky sessions): when the
   * stored bytes are not what this process last wrote, another process appended (or completed, or cancelled)
   * in between, so the held hash is stale. Re-read the size, rebuild the hash when next needed, and forget the
   * session if it is gone from the metadata store.
   */
  private async refresh(s: Session): Promise<void> {
    const stored = await this.bytes.size(s.id);
    if (stored === s.size) return;
    s.size = stored;
    s.hash = undefined;
    const record = await this.metadata.getUpload(s.id);
    if (!record || record.repository !== s.repo) {
      this.sessions.delete(s.id);
      throw unknownUpload();
    }
  }

  private async withSession<T>(repo: string, id: string, fn: (s: Session) => Promise<T>): Promise<T> {
    const s = await this.load(repo, id);
    if (s.busy) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload session; retry when it has finished', {
        status: 409,
        headers: { 'Retry-After': '1' },
      });
    }
    s.busy = true;
    try {
      return await fn(s);
    } finally {
      s.busy = false;
    }
  }

  async status(repo: string, id: string): Promise<{ size: number }> {
    const s = await this.load(repo, id);
    return { size: s.busy ? s.size : await this.bytes.size(id) };
  }

  async append(repo: string, id: string, chunk: Chunk): Promise<{ size: number }> {
    return this.withSession(repo, id, async (s) => {
      await this.write(s, chunk);
      return { size: s.size };
    });
  }

  /** Completes an upload: appends the final chunk (if any), verifies the digest and makes the blob visible. */
  async complete(repo: string, id: string, digest: ParsedDigest, chunk: Chunk | undefined): Promise<BlobRecord> {
    return this.withSession(repo, id, async (s) => {
      if (chunk && s.size === 0 && (await this.bytes.size(s.id)) === 0) {
        // The whole blob in the final request (POST, then PUT with the body): stream it straight to its address.
        this.checkChunk(s, chunk);
        await this.claim({ id: s.id, repository: repo, createdAt: Date.now() }, digest.digest);
        const blob = await this.streamToBlob(digest, chunk).catch(async (e: unknown) => {
          if (e instanceof RegistryError && e.code === 'DIGEST_INVALID') await this.discard(s);
          throw e;
        });
        await this.bytes.discard(s.id);
        await this.metadata.linkBlob(repo, blob, s.id);
        this.sessions.delete(s.id);
        return blob;
      }
      await this.write(s, chunk);
      const actual = await this.digestOf(s, digest.algorithm);
      if (actual !== digest.digest) {
        await this.discard(s);
        throw new RegistryError('DIGEST_INVALID', `digest ${digest.digest} does not match the uploaded content (${actual}); the upload was discarded`);
      }
      const blob = { digest: digest.digest, size: s.size };
      await this.claim({ id: s.id, repository: repo, createdAt: Date.now() }, digest.digest);
      await this.publish(s.id, digest, blob.size);
      await this.metadata.linkBlob(repo, blob, s.id);
      this.sessions.delete(s.id);
      return blob;
    });
  }

  async cancel(repo: string, id: string): Promise<void> {
    await this.withSession(repo, id, (s) => this.discard(s));
  }

  /** `POST ?digest=`: the whole blob in one request, never registered as a session. */
  async monolithic(repo: string, digest: ParsedDigest, chunk: Chunk): Promise<BlobRecord> {
    // An upload record that exists only to claim the digest while its bytes are written (docs/gc.md).
    const claim = { id: randomUUID(), repository: repo, createdAt: Date.now() };
    await this.claim(claim, digest.digest);
    let blob: BlobRecord;
    try {
      blob = await this.streamToBlob(digest, chunk);
    } catch (e) {
      await this.metadata.deleteUpload(claim.id).catch(() => undefined);
      throw e;
    }
    await this.metadata.linkBlob(repo, blob, claim.id);
    return blob;
  }

  /**
   * Claims the digest for this upload before its bytes go to the content address, so that garbage collection
   * leaves the digest alone until linkBlob ends the upload. While a collector is deleting the same digest's
   * bytes, waits for it to finish (then the bytes written here are never deleted).
   */
  private async claim(upload: UploadRecord, digest: string): Promise<void> {
    const deadline = Date.now() + claimWaitMs;
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      try {
        await this.metadata.claimBlob(upload, digest);
        return;
      } catch (e) {
        if (!(e instanceof BlobBusyError)) throw e;
        if (Date.now() >= deadline) {
          throw new RegistryError('UNAVAILABLE', `blob ${digest} is being deleted by garbage collection; retry the upload later`, {
            headers: { 'Retry-After': '5' },
          });
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /**
   * Streams a whole blob whose digest is known to its content address. The driver's writer makes it visible
   * only on commit, which happens only after the digest is verified.
   */
  private async streamToBlob(digest: ParsedDigest, chunk: Chunk): Promise<BlobRecord> {
    const expected = chunk.range ? chunk.range.end - chunk.range.start + 1 : chunk.length;
    if (chunk.range && chunk.range.start !== 0) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at byte ${chunk.range.start} but the upload is empty`, {
        status: 416,
        headers: rangeHeaders({ size: 0 }),
      });
    }
    const hash = createDigester(digest.algorithm);
    const digesting = new DigestingStream(hash, expected);
    const writer = await this.storage.writer(blobPath(digest), false);
    try {
      await pipeline(chunk.body, digesting, writer.stream);
      if (expected !== undefined && digesting.bytes !== expected) {
        throw new RegistryError('SIZE_INVALID', `received ${digesting.bytes} bytes but ${expected} were announced`);
      }
      const actual = `${digest.algorithm}:${hash.digest('hex')}`;
      if (actual !== digest.digest) {
        throw new RegistryError('DIGEST_INVALID', `digest ${digest.digest} does not match the uploaded content (${actual})`);
      }
    } catch (e) {
      await writer.cancel().catch(() => undefined);
      throw e;
    }
    await writer.commit();
    return { digest: digest.digest, size: digesting.bytes };
  }

  /** Links a blob from another repository; undefined when `from` does not hold it. */
  async mount(repo: string, digest: string, from: string): Promise<BlobRecord | undefined> {
    // One atomic step: a check and a separate link could link a blob that garbage collection reclaimed between them.
    return this.metadata.mountBlob(repo, from, digest);
  }

  private checkChunk(s: Session, chunk: Chunk): number | undefined {
    const { range, length } = chunk;
    if (!range) return length;
    if (range.start !== s.size) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at byte ${range.start} but the upload holds ${s.size} bytes: send the chunk that starts at ${s.size}`, {
        status: 416,
        headers: rangeHeaders(s),
      });
    }
    const rangeLength = range.end - range.start + 1;
    if (length !== undefined && length !== rangeLength) {
      throw new RegistryError('SIZE_INVALID', `Content-Range announces ${rangeLength} bytes but Content-Length is ${length}`);
    }
    return rangeLength;
  }

  /** Streams a chunk to the end of the session's bytes, hashing it on the way. */
  private async write(s: Session, chunk: Chunk | undefined): Promise<void> {
    const expected = chunk ? this.checkChunk(s, chunk) : 0;
    if (!chunk || expected === 0) return;
    await this.ensureHash(s, s.algorithm);
    const digesting = new DigestingStream(s.hash, expected);
    try {
      s.size = await this.bytes.append(s.id, (sink) => pipeline(chunk.body, digesting, sink));
    } catch (e) {
      // Part of the chunk may be stored: trust what is there and rebuild the hash when it is next needed.
      s.hash = undefined;
      s.size = await this.bytes.size(s.id);
      throw e;
    }
    if (expected !== undefined && digesting.bytes !== expected) {
      s.hash = undefined;
      throw new RegistryError('SIZE_INVALID', `received ${digesting.bytes} bytes but ${expected} were announced`);
    }
  }

  /** Makes sure s.hash covers exactly the stored bytes, re-reading them if needed. */
  private async ensureHash(s: Session, algorithm: DigestAlgorithm): Promise<void> {
    if (s.hash && s.algorithm === algorithm) return;
    s.algorithm = algorithm;
    s.size = await this.bytes.size(s.id);
    const hash = createDigester(algorithm);
    if (s.size > 0) {
      for await (const chunk of await this.bytes.read(s.id, s.size)) hash.update(chunk);
    }
    s.hash = hash;
  }

  private async digestOf(s: Session, algorithm: DigestAlgorithm): Promise<string> {
    await this.ensureHash(s, algorithm);
    const hex = s.hash!.digest('hex');
    s.hash = undefined;
    return `${algorithm}:${hex}`;
  }

  /** Moves verified bytes to their content address, unless identical bytes are already there. */
  private async publish(id: string, digest: ParsedDigest, size: number): Promise<void> {
    const target = blobPath(digest);
    try {
      const existing = await this.storage.stat(target);
      if (existing.size === size) {
        await this.bytes.discard(id);
        return;
      }
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await this.bytes.finish(id, target);
  }

  private async discard(s: Session): Promise<void> {
    this.sessions.delete(s.id);
    await this.bytes.discard(s.id);
    await this.metadata.deleteUpload(s.id);
  }
}

export function rangeHeaders(s: { size: number }): Record<string, string> {
  return { Range: `0-${Math.max(s.size - 1, 0)}` };
}
