// Shared pieces of the client tests: the two real registries (Wharf in-process, the reference registry as
// a child process), htpasswd files, image building and stream helpers.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import bcrypt from 'bcryptjs';
import { startTestRegistry } from '../helpers/registry.js';
import { removeDir, spawnReference, tempDir } from '../helpers/processes.js';
import { MediaType } from '../../src/oci/index.js';
import type { RegistryClient } from '../../src/client/index.js';

export interface Target {
  name: 'wharf' | 'reference';
  url: string;
  host: string;
  close(): Promise<void>;
}

export async function startWharf(): Promise<Target> {
  const reg = await startTestRegistry();
  return { name: 'wharf', url: reg.url, host: new URL(reg.url).host, close: () => reg.close() };
}

export async function startReference(opts: { htpasswd?: string } = {}): Promise<Target> {
  const data = tempDir('wharf-client-ref-');
  try {
    const ref = await spawnReference({ data, ...(opts.htpasswd ? { htpasswd: opts.htpasswd } : {}) });
    return {
      name: 'reference',
      url: ref.url,
      host: ref.host,
      close: async () => {
        await ref.kill();
        removeDir(data);
      },
    };
  } catch (e) {
    removeDir(data);
    throw e;
  }
}

export const targets: { name: 'wharf' | 'reference'; start: () => Promise<Target> }[] = [
  { name: 'wharf', start: startWharf },
  { name: 'reference', start: () => startReference() },
];

/** A bcrypt htpasswd file (cost 4 keeps the reference registry's per-request check fast). */
export function writeHtpasswd(dir: string, users: Record<string, string>): string {
  const path = join(dir, 'htpasswd');
  writeFileSync(path, Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 4)}\n`).join(''));
  return path;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

let counter = 0;
export function uniqueRepo(prefix = 'client'): string {
  counter += 1;
  return `${prefix}/r${process.pid}-${counter}`;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface Image {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  digest: string;
}

/** An OCI image (config + layers, not yet pushed) with an optional subject and artifactType. */
export function buildImage(opts: { layers?: Buffer[]; subject?: { digest: string; size: number; mediaType: string }; artifactType?: string; annotations?: Record<string, string> } = {}): Image {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(4).toString('hex') }));
  const layers = opts.layers ?? [randomData(2048)];
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
  };
  if (opts.artifactType) doc.artifactType = opts.artifactType;
  if (opts.subject) doc.subject = opts.subject;
  if (opts.annotations) doc.annotations = opts.annotations;
  const manifest = Buffer.from(JSON.stringify(doc));
  return { config, layers, manifest, digest: sha256(manifest) };
}

/** Pushes an image's blobs and manifest with the client. */
export async function pushImage(client: RegistryClient, repository: string, image: Image, tag?: string): Promise<string> {
  await client.uploadBlob(repository, image.config);
  for (const l of image.layers) await client.uploadBlob(repository, l);
  const r = await client.putManifest(repository, tag ?? image.digest, image.manifest);
  return r.digest;
}

export { tempDir, removeDir };
