// Build test images locally (no network): OCI layouts made with umoci, a hand-written multi-arch index, and a
// Docker manifest list in skopeo's dir: format.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './run.js';
import { dirRef, ociRef, type Skopeo } from './skopeo.js';
import { MediaTypes, resolveRef, sha256, tagInLayout, writeJsonBlob, type Descriptor, type ImageIndex } from './layout.js';

/** An image (manifest or index) stored in an OCI layout under a ref name. */
export interface LayoutImage {
  layout: string;
  ref: string;
  descriptor: Descriptor;
}

export interface MultiArchImage extends LayoutImage {
  /** The per-platform image manifests, in index order. */
  platforms: Descriptor[];
  /** The buildx-style attestation manifest (platform unknown/unknown). */
  attestation: Descriptor;
}

async function umoci(args: string[]): Promise<void> {
  await run('umoci', args);
}

/** Writes `files` (relative path → content) under `dir` and returns `dir`. */
function writeTree(dir: string, files: Record<string, string | Buffer>): string {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  }
  return dir;
}

/** Creates an empty image `layout:ref` (umoci init when the layout is new, then umoci new). */
async function newImage(layout: string, ref: string, initLayout: boolean): Promise<void> {
  if (initLayout) await umoci(['init', '--layout', layout]);
  await umoci(['new', '--image', `${layout}:${ref}`]);
}

/** Adds one layer containing `source` (a file or directory) at `dest` inside the image. */
async function addLayer(layout: string, ref: string, source: string, dest: string): Promise<void> {
  await umoci(['insert', '--image', `${layout}:${ref}`, source, dest]);
}

/**
 * A three-layer image at `<workDir>/layout:<ref>`: a small text file, a directory tree, and a
 * 3 MiB incompressible file (so uploads are large enough to be streamed in several chunks).
 */
export async function buildMultiLayerImage(workDir: string, ref = 'multilayer'): Promise<LayoutImage> {
  const layout = join(workDir, 'layout');
  const src = join(workDir, 'src');
  writeTree(src, {
    'hello.txt': 'hello from wharf interop tests\n',
    'tree/etc/app.conf': 'listen = 0.0.0.0:8080\n',
    'tree/usr/share/doc/readme': 'a directory layer\n',
    'big/random.bin': randomBytes(3 * 1024 * 1024),
  });
  await newImage(layout, ref, true);
  await addLayer(layout, ref, join(src, 'hello.txt'), '/hello.txt');
  await addLayer(layout, ref, join(src, 'tree'), '/');
  await addLayer(layout, ref, join(src, 'big'), '/data');
  await umoci(['config', '--image', `${layout}:${ref}`, '--config.cmd', '/hello.txt', '--config.label', 'wharf.test=multilayer']);
  await umoci(['gc', '--layout', layout]);
  return { layout, ref, descriptor: resolveRef(layout, ref) };
}

/** A one-layer linux/<arch> image in `layout` tagged `<arch>`; returns its manifest descriptor with platform set. */
async function buildPlatformImage(layout: string, src: string, architecture: string, initLayout: boolean): Promise<Descriptor> {
  const dir = writeTree(join(src, architecture), { 'arch.txt': `built for linux/${architecture}\n` });
  await newImage(layout, architecture, initLayout);
  await addLayer(layout, architecture, join(dir, 'arch.txt'), '/arch.txt');
  await umoci(['config', '--image', `${layout}:${architecture}`, '--architecture', architecture, '--os', 'linux']);
  const { mediaType, digest, size } = resolveRef(layout, architecture);
  return { mediaType, digest, size, platform: { architecture, os: 'linux' } };
}

/** An attestation manifest like the ones `docker buildx` attaches to an index (platform unknown/unknown). */
function writeAttestation(layout: string, subject: Descriptor): Descriptor {
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: [{ name: 'pkg:docker/wharf/interop', digest: { sha256: subject.digest.slice('sha256:'.length) } }],
    predicate: { builder: { id: 'wharf-interop-tests' } },
  };
  const layer = writeJsonBlob(layout, MediaTypes.inToto, statement);
  layer.annotations = { 'in-toto.io/predicate-type': statement.predicateType };
  const config = writeJsonBlob(layout, MediaTypes.ociConfig, {
    architecture: 'unknown',
    os: 'unknown',
    config: {},
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  });
  const manifest = writeJsonBlob(layout, MediaTypes.ociManifest, {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config,
    layers: [layer],
  });
  return {
    ...manifest,
    platform: { architecture: 'unknown', os: 'unknown' },
    annotations: { 'vnd.docker.reference.digest': subject.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
  };
}

/**
 * An OCI index at `<workDir>/layout:<ref>` with linux/amd64, linux/arm64 and linux/s390x images
 * (built with umoci) plus an unknown/unknown attestation manifest for the amd64 image.
 */
export async function buildMultiArchIndex(workDir: string, ref = 'multiarch'): Promise<MultiArchImage> {
  const layout = join(workDir, 'layout');
  const src = join(workDir, 'src');
  const platforms: Descriptor[] = [];
  for (const arch of ['amd64', 'arm64', 's390x']) {
    platforms.push(await buildPlatformImage(layout, src, arch, platforms.length === 0));
  }
  await umoci(['gc', '--layout', layout]);
  const attestation = writeAttestation(layout, platforms[0]!);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [...platforms, attestation],
    annotations: { 'org.opencontainers.image.description': 'wharf interop multi-arch index' },
  };
  const descriptor = writeJsonBlob(layout, MediaTypes.ociIndex, index);
  tagInLayout(layout, ref, descriptor);
  return { layout, ref, descriptor, platforms, attestation };
}

/** A second, different image in the same layout: `image` with one more config label, tagged `ref`. */
export async function buildVariant(image: LayoutImage, ref: string, label: string): Promise<LayoutImage> {
  await umoci(['config', '--image', `${image.layout}:${image.ref}`, '--tag', ref, '--config.label', label]);
  return { layout: image.layout, ref, descriptor: resolveRef(image.layout, ref) };
}

/** A Docker manifest list and its schema2 images in skopeo's `dir:` format. */
export interface DockerListDir {
  dir: string;
  list: Descriptor;
  instances: Descriptor[];
}

/** Instance manifests of a list live in a `dir:` as `<hex>.manifest.json`, blobs as `<hex>`. */
export function dirInstanceManifest(dir: string, digest: string): Buffer {
  return readFileSync(join(dir, `${digest.slice('sha256:'.length)}.manifest.json`));
}

/**
 * A Docker manifest list (application/vnd.docker.distribution.manifest.list.v2+json) over the linux
 * platform images of `image`, each converted to schema2 with `skopeo copy --format v2s2`.
 */
export async function buildDockerManifestList(image: MultiArchImage, workDir: string, skopeo: Skopeo): Promise<DockerListDir> {
  const dir = join(workDir, 'list');
  mkdirSync(dir, { recursive: true });
  const instances: Descriptor[] = [];
  for (const platform of image.platforms) {
    const single = join(workDir, `v2s2-${platform.platform!.architecture}`);
    await skopeo.copy(ociRef(image.layout, platform.platform!.architecture), dirRef(single), ['--format', 'v2s2']);
    for (const file of readdirSync(single).filter((f) => /^[0-9a-f]{64}$/.test(f))) copyFileSync(join(single, file), join(dir, file));
    const manifest = readFileSync(join(single, 'manifest.json'));
    const digest = sha256(manifest);
    writeFileSync(join(dir, `${digest.slice('sha256:'.length)}.manifest.json`), manifest);
    instances.push({ mediaType: MediaTypes.dockerManifest, digest, size: manifest.length, platform: platform.platform! });
  }
  const list = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifestList, manifests: instances }, null, 3);
  writeFileSync(join(dir, 'manifest.json'), list);
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  return { dir, list: { mediaType: MediaTypes.dockerManifestList, digest: sha256(list), size: Buffer.byteLength(list) }, instances };
}
