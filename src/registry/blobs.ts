// Reading and deleting blobs, scoped to a repository: a blob exists for a repository only once it was pushed
// or mounted there, whatever other repositories hold.
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { MetadataStore } from '../metadata/store.js';
import { isNotFound, type ByteRange, type StorageDriver } from '../storage/index.js';
import { blobPath } from './paths.js';

export interface BlobInfo {
  digest: string;
  size: number;
  /** Set when the digest names a manifest of the repository (served through the blob endpoint too). */
  manifestBody?: Buffer;
}

function unknownBlob(digest: string): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in this repository`, { detail: { digest } });
}

export class Blobs {
  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: MetadataStore,
  ) {}

  async stat(repo: string, digest: string): Promise<BlobInfo> {
    parseDigest(digest);
    const blob = await this.metadata.getRepositoryBlob(repo, digest);
    if (blob) return blob;
    const manifest = await this.metadata.getManifest(repo, digest);
    if (manifest) return { digest, size: manifest.size, manifestBody: manifest.body };
    throw unknownBlob(digest);
  }

  async open(info: BlobInfo, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    if (info.manifestBody) {
      const start = range?.offset ?? 0;
      const end = range?.length === undefined ? info.size : start + range.length;
      return ReadableStream.from([info.manifestBody.subarray(start, end)]);
    }
    try {
      // Always say how many bytes to read: drivers size their buffers by it (a 1 MiB blob never gets a 4 MiB one).
      const bytes = range ?? { offset: 0, length: info.size };
      // Blobs live at their content address: their bytes never change, so drivers may keep them open.
      return await this.storage.reader(blobPath(parseDigest(info.digest)), bytes, signal ? { signal, immutable: true } : { immutable: true });
    } catch (e) {
      if (isNotFound(e)) throw unknownBlob(info.digest);
      throw e;
    }
  }

  async redirectURL(info: BlobInfo): Promise<string | undefined> {
    if (info.manifestBody || !this.storage.redirectURL) return undefined;
    return this.storage.redirectURL(blobPath(parseDigest(info.digest)));
  }

  async delete(repo: string, digest: string): Promise<void> {
    parseDigest(digest);
    if (!(await this.metadata.unlinkBlob(repo, digest))) throw unknownBlob(digest);
  }
}
