// Assertions shared by the interop tests: byte-identical manifests and blobs.
import assert from 'node:assert/strict';
import { hasBlob, readBlob, reachableDigests, sha256, type Descriptor, type ImageManifest } from './layout.js';
import type { Skopeo } from './skopeo.js';

/** The registry serves `ref` with exactly `expected` bytes (so the same digest). */
export async function assertServedManifest(skopeo: Skopeo, ref: string, expected: Buffer): Promise<void> {
  const served = await skopeo.inspectRaw(ref);
  assert.equal(sha256(served), sha256(expected), `manifest digest served for ${ref}`);
  assert.ok(served.equals(expected), `manifest bytes served for ${ref}`);
}

/** Every blob reachable from `root` in `source` is in `copy` with identical bytes. */
export function assertSameBlobs(source: string, copy: string, root: Descriptor): void {
  const digests = reachableDigests(source, root);
  assert.ok(digests.length > 1, `expected ${root.digest} to reference blobs`);
  for (const digest of digests) {
    assert.ok(hasBlob(copy, digest), `blob ${digest} missing from ${copy}`);
    const bytes = readBlob(copy, digest);
    assert.equal(sha256(bytes), digest, `blob ${digest} in ${copy} does not hash to its name`);
    assert.ok(bytes.equals(readBlob(source, digest)), `blob ${digest} differs between ${source} and ${copy}`);
  }
}

/** Config digest and layer digests of a manifest, for images whose manifest bytes may be re-serialised. */
export interface ImageDigests {
  config: string;
  layers: string[];
}

export function imageDigests(manifestBytes: Buffer): ImageDigests {
  const manifest = JSON.parse(manifestBytes.toString()) as ImageManifest;
  return { config: manifest.config.digest, layers: manifest.layers.map((l) => l.digest) };
}
