// Where bytes live in the storage driver. Blobs are content-addressed; upload sessions have their own files.
import type { ParsedDigest } from '../oci/digest.js';

export function blobPath(d: ParsedDigest): string {
  return `${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}`;
}

export const uploadsPrefix = '_uploads';

export function uploadPath(id: string): string {
  return `${uploadsPrefix}/${id}`;
}
