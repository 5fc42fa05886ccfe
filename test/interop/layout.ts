// Read and write OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md) on disk.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  inToto: 'application/vnd.in-toto+json',
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function blobPath(layout: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (!algorithm || !hex) throw new Error(`not a digest: ${digest}`);
  return join(layout, 'blobs', algorithm, hex);
}

export function hasBlob(layout: string, digest: string): boolean {
  return existsSync(blobPath(layout, digest));
}

export function readBlob(layout: string, digest: string): Buffer {
  return readFileSync(blobPath(layout, digest));
}

/** Stores bytes as a blob and returns their descriptor. */
export function writeBlob(layout: string, mediaType: string, data: Buffer | string): Descriptor {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const digest = sha256(bytes);
  writeFileSync(blobPath(layout, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Stores a JSON document (serialised once, so its digest is fixed) as a blob. */
export function writeJsonBlob(layout: string, mediaType: string, doc: unknown): Descriptor {
  return writeBlob(layout, mediaType, JSON.stringify(doc));
}

export function readJsonBlob<T>(layout: string, digest: string): T {
  return JSON.parse(readBlob(layout, digest).toString()) as T;
}

export function readLayoutIndex(layout: string): ImageIndex {
  return JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as ImageIndex;
}

/** The descriptor that index.json tags with `ref` (org.opencontainers.image.ref.name). */
export function resolveRef(layout: string, ref: string): Descriptor {
  const found = readLayoutIndex(layout).manifests.find((d) => d.annotations?.[REF_NAME] === ref);
  if (!found) throw new Error(`no ref ${ref} in ${layout}/index.json`);
  return found;
}

/** Adds (or replaces) the entry for `ref` in index.json. */
export function tagInLayout(layout: string, ref: string, desc: Descriptor): void {
  const index = readLayoutIndex(layout);
  const others = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== ref);
  const tagged: Descriptor = { ...desc, annotations: { ...desc.annotations, [REF_NAME]: ref } };
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ ...index, manifests: [...others, tagged] }));
}

function isIndex(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerManifestList;
}

/** Every blob digest reachable from `root` (the root itself, child manifests, configs, layers). */
export function reachableDigests(layout: string, root: Descriptor): string[] {
  const seen = new Set<string>();
  const visit = (desc: Descriptor): void => {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    if (isIndex(desc.mediaType)) {
      readJsonBlob<ImageIndex>(layout, desc.digest).manifests.forEach(visit);
    } else if (desc.mediaType === MediaTypes.ociManifest || desc.mediaType === MediaTypes.dockerManifest) {
      const manifest = readJsonBlob<ImageManifest>(layout, desc.digest);
      visit(manifest.config);
      manifest.layers.forEach(visit);
    }
  };
  visit(root);
  return [...seen];
}
