// Images for the layout interop tests that real tools accept as they are: gzip-compressed tar layers with the
// matching diff_ids, so skopeo keeps the manifest byte-identical (it recompresses uncompressed layers when
// writing an OCI layout) and umoci can unpack them.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { MediaType, type Descriptor } from '../../src/oci/index.js';
import type { ContentSink } from '../../src/client/index.js';
import { sha256, type Image } from '../client/helpers.js';

export const gzipLayerType = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** An uncompressed tar holding `files` (path → content), regular files with mode 0644. */
export async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    await new Promise<void>((res, rej) => pack.entry({ name, size: body.length, mode: 0o644, mtime: new Date(1_700_000_000_000) }, body, (e) => (e ? rej(e) : res())));
  }
  pack.finalize();
  await collecting;
  return Buffer.concat(chunks);
}

/** An OCI image with one gzip layer per entry of `layers`, for linux/`architecture`. */
export async function buildTarGzImage(layers: Record<string, string | Buffer>[], architecture = 'amd64'): Promise<Image> {
  const tars = await Promise.all(layers.map((files) => tarOf(files)));
  const gzipped = tars.map((t) => gzipSync(t));
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      config: { Env: ['PATH=/bin'], Labels: { 'wharf.test': randomBytes(4).toString('hex') } },
      rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) },
      history: tars.map(() => ({ created_by: 'wharf layout interop test' })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
      layers: gzipped.map((g) => ({ mediaType: gzipLayerType, digest: sha256(g), size: g.length })),
    }),
  );
  return { config, layers: gzipped, manifest, digest: sha256(manifest) };
}

export function descriptorOf(data: Buffer, mediaType: string): Descriptor {
  return { mediaType, digest: sha256(data), size: data.length };
}

/** Pushes `image` (blobs, then manifest) into a sink. */
export async function pushToSink(sink: ContentSink, image: Image, opts: { tag?: string; root: boolean }): Promise<void> {
  const doc = JSON.parse(image.manifest.toString()) as { config: Descriptor; layers: Descriptor[] };
  const blobs: [Descriptor, Buffer][] = [[doc.config, image.config], ...image.layers.map((l, i): [Descriptor, Buffer] => [doc.layers[i]!, l])];
  for (const [d, bytes] of blobs) await sink.pushBlob(d, async () => Readable.from([bytes]));
  await sink.pushManifest({ digest: image.digest, mediaType: MediaType.ociManifest, bytes: image.manifest }, opts);
}
