// The places the operation tests run on: MemoryStore, an OCI image layout directory, and a RegistryStore over
// Wharf (in-process) and over the reference registry (Distribution 2.8, which has no referrers API). Plus images built for a platform and
// pushed through the ContentSink interface.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { MediaType, MemoryStore, openLayout, RegistryClient, type ContentStore, type Descriptor } from '../../src/client/index.js';
import { RegistryStore } from '../../src/client/remote-store.js';
import { removeDir, sha256, startReference, startWharf, tempDir, uniqueRepo, type Target } from './helpers.js';

export interface Place {
  name: string;
  /** A fresh, empty store (a new repository for registries, a new directory for layouts). */
  store(): Promise<ContentStore>;
  close(): Promise<void>;
}

function registryPlace(target: Target): Place {
  const client = new RegistryClient(target.host, { credentials: false, retryBaseDelayMs: 10 });
  return {
    name: target.name,
    store: async () => new RegistryStore(client, uniqueRepo('ops')),
    close: async () => {
      await client.close();
      await target.close();
    },
  };
}

function layoutPlace(): Place {
  const root = tempDir('wharf-ops-layout-');
  let n = 0;
  return {
    name: 'layout',
    store: async () => openLayout(join(root, `l${++n}`), { create: true }),
    close: async () => removeDir(root),
  };
}

export const places: { name: string; start: () => Promise<Place> }[] = [
  { name: 'memory', start: async () => ({ name: 'memory', store: async () => new MemoryStore(), close: async () => {} }) },
  { name: 'layout', start: async () => layoutPlace() },
  { name: 'wharf', start: async () => registryPlace(await startWharf()) },
  { name: 'reference', start: async () => registryPlace(await startReference()) },
];

export interface PlatformImageOptions {
  os?: string;
  architecture: string;
  variant?: string;
  /** Docker schema2 instead of OCI. */
  docker?: boolean;
  labels?: Record<string, string>;
  created?: string;
  layers?: Buffer[];
  tag?: string;
}

/** Builds an image for a platform and pushes its blobs and manifest to `store`; returns its descriptor. */
export async function pushPlatformImage(store: ContentStore, opts: PlatformImageOptions): Promise<Descriptor & { layers: Descriptor[] }> {
  const config: Record<string, unknown> = {
    architecture: opts.architecture,
    os: opts.os ?? 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
    config: { Labels: opts.labels ?? {}, Cmd: ['/bin/sh'] },
    created: opts.created ?? '2026-01-02T03:04:05Z',
    nonce: randomBytes(4).toString('hex'),
  };
  if (opts.variant) config.variant = opts.variant;
  const configBytes = Buffer.from(JSON.stringify(config));
  const layers = opts.layers ?? [randomBytes(3000), randomBytes(1000)];
  const layerType = opts.docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar';
  const mediaType = opts.docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const configDesc: Descriptor = { mediaType: opts.docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length };
  const layerDescs: Descriptor[] = layers.map((l) => ({ mediaType: layerType, digest: sha256(l), size: l.length }));
  for (const [d, bytes] of [[configDesc, configBytes] as const, ...layerDescs.map((d, i) => [d, layers[i]!] as const)]) {
    await store.pushBlob(d, async (offset) => Readable.from([bytes.subarray(offset)]));
  }
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: configDesc, layers: layerDescs }));
  const digest = sha256(manifest);
  await store.pushManifest({ digest, mediaType, bytes: manifest }, { root: true, ...(opts.tag ? { tag: opts.tag } : {}) });
  return { mediaType, digest, size: manifest.length, layers: layerDescs };
}

/** Pushes a manifest document as it is (for manifests the operations would refuse to build). */
export async function pushRawManifest(store: ContentStore, doc: Record<string, unknown>, tag?: string): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(doc));
  const mediaType = String(doc.mediaType);
  const digest = sha256(bytes);
  await store.pushManifest({ digest, mediaType, bytes }, { root: true, ...(tag ? { tag } : {}) });
  return { mediaType, digest, size: bytes.length };
}

/** Pushes bytes as a blob and returns the descriptor. */
export async function pushBlobBytes(store: ContentStore, bytes: Buffer, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
  const d: Descriptor = { mediaType, digest: sha256(bytes), size: bytes.length };
  await store.pushBlob(d, async (offset) => Readable.from([bytes.subarray(offset)]));
  return annotations ? { ...d, annotations } : d;
}
