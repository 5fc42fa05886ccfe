// Shared building blocks of the operations that write manifests (artifacts, indexes, tags): compact JSON
// bytes with their digest, descriptors of bytes and of files (hashed by streaming, never buffered), pushing
// a blob from bytes or a file, reading a small JSON blob, and the platform an image's config declares.
import { createReadStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestOf, MediaType, parseManifest, type Descriptor, type ParsedManifest, type Platform } from '../../oci/index.js';
import type { ContentSink, ContentSource, ManifestBytes, PushBlobResult } from '../content.js';
import { ClientError } from '../errors.js';

/** The bytes `{}`: the config (and the only layer) of an artifact that has nothing to put there. */
export const emptyJsonBytes: Buffer = Buffer.from('{}');

/** The OCI empty descriptor (image-spec "Guidelines for Artifact Usage"), with its content inline as oras writes it. */
export const emptyDescriptor: Readonly<Descriptor> = Object.freeze({
  mediaType: MediaType.ociEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
});

/** Config media types whose blob is an image configuration (os, architecture, rootfs, config.Labels). */
export const imageConfigTypes: readonly string[] = [MediaType.ociConfig, MediaType.dockerConfig];

/** Upper bound on a config blob read whole (the same bound registries put on manifests). */
export const maxConfigBytes = 4 * 1024 * 1024;

/** A manifest, index or config the caller gave that cannot be used as asked. */
export class InvalidContentError extends ClientError {}

/**
 * Compact JSON bytes of `value`: no white space, keys in the order the object was built, `undefined` fields
 * left out. Manifests built by the operations are always serialized here, so the same input gives the same digest.
 */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** A manifest ready to push: its bytes, their digest and its media type. */
export function manifestOf(doc: Record<string, unknown>, mediaType: string): ManifestBytes {
  const bytes = jsonBytes(doc);
  return { digest: digestOf(bytes), mediaType, bytes };
}

/** The descriptor of bytes: media type, sha256 digest and size (plus any extra fields given). */
export function describeBytes(bytes: Uint8Array, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra };
}

/** The descriptor of a stored manifest (media type, digest, size). */
export function describeManifest(m: ManifestBytes): Descriptor {
  return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
}

/** sha256 digest and size of a file, read as a stream (constant memory, whatever the size). */
export async function hashFile(path: string, signal?: AbortSignal): Promise<{ digest: string; size: number }> {
  const hash = createDigester('sha256');
  let size = 0;
  await pipeline(
    createReadStream(path),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        hash.update(chunk);
        cb();
      },
    }),
    signal ? { signal } : {},
  );
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Pushes bytes as a blob described by `descriptor`. */
export function pushBytes(sink: ContentSink, descriptor: Descriptor, bytes: Uint8Array, opts: { signal?: AbortSignal; onProgress?: (bytes: number) => void } = {}): Promise<PushBlobResult> {
  return sink.pushBlob(descriptor, async (offset) => Readable.from([Buffer.from(bytes.subarray(offset))]), opts);
}

/**
 * Pushes a file as a blob described by `descriptor` (hashed beforehand with `hashFile`). The file is streamed
 * from the offset the sink asks for; a file changed in between is caught by the sink's digest check.
 */
export function pushFile(
  sink: ContentSink,
  descriptor: Descriptor,
  path: string,
  opts: { signal?: AbortSignal; onProgress?: (bytes: number) => void } = {},
): Promise<PushBlobResult> {
  return sink.pushBlob(descriptor, async (offset) => createReadStream(path, { start: offset }), opts);
}

/** Parses a stored manifest; structural problems become InvalidContentError naming where it came from. */
export function parseStored(m: ManifestBytes, where: string): ParsedManifest {
  try {
    return parseManifest(m.bytes, m.mediaType);
  } catch (e) {
    throw new InvalidContentError(`${where}: ${(e as Error).message}`, { cause: e });
  }
}

/** The document of a stored manifest as a plain object (for operations that rewrite one field of it). */
export function manifestDocument(m: ManifestBytes, where: string): Record<string, unknown> {
  const doc: unknown = JSON.parse(m.bytes.toString('utf8'));
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidContentError(`${where}: not a JSON object`);
  return doc as Record<string, unknown>;
}

/** A small JSON blob (a config), read whole and digest-checked; refuses blobs above `maxConfigBytes`. */
export async function readJsonBlob(source: ContentSource, descriptor: Descriptor, signal?: AbortSignal): Promise<unknown> {
  if (descriptor.size > maxConfigBytes) {
    throw new InvalidContentError(`${source.name}: config ${descriptor.digest} is ${descriptor.size} bytes, more than the ${maxConfigBytes} read whole`);
  }
  if (descriptor.data !== undefined) {
    const inline = Buffer.from(descriptor.data, 'base64');
    if (inline.length === descriptor.size && digestOf(inline) === descriptor.digest) return parseJson(inline, source, descriptor);
  }
  const stream = await source.fetchBlob(descriptor, signal ? { signal } : {});
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return parseJson(Buffer.concat(chunks), source, descriptor);
}

function parseJson(bytes: Buffer, source: ContentSource, descriptor: Descriptor): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new InvalidContentError(`${source.name}: config ${descriptor.digest} is not JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** The platform an image configuration declares (os, architecture, variant, os.version, os.features), if it has both os and architecture. */
export function platformOfConfig(config: unknown): Platform | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const c = config as Record<string, unknown>;
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string' || c.os === '' || c.architecture === '') return undefined;
  const p: Platform = { architecture: c.architecture, os: c.os };
  if (typeof c.variant === 'string' && c.variant !== '') p.variant = c.variant;
  if (typeof c['os.version'] === 'string' && c['os.version'] !== '') p['os.version'] = c['os.version'];
  const features = c['os.features'];
  if (Array.isArray(features) && features.length > 0 && features.every((f) => typeof f === 'string')) p['os.features'] = features as string[];
  return p;
}

/** The config of an image manifest when it is an image configuration, parsed; undefined for artifacts and indexes. */
export async function readImageConfig(source: ContentSource, parsed: ParsedManifest, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
  if (parsed.kind !== 'image' || !parsed.config || !imageConfigTypes.includes(parsed.config.mediaType)) return undefined;
  const doc = await readJsonBlob(source, parsed.config, signal);
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
}

/** `org.opencontainers.image.created` as oras writes it: RFC 3339 in UTC, whole seconds. */
export function createdNow(now: Date = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
