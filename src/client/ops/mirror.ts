// mirror: keeps repositories of one registry copied into another, as a YAML file says (docs/mirror.md):
// which tags (a list, a pattern or all), optionally only some platforms, optionally with referrers. Each
// image is copied with `copyManifest`; a tag whose target already points at the same digest is left alone
// ('up-to-date'); one failing image is recorded and the rest go on.
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { type Descriptor } from '../../oci/index.js';
import type { ManifestBytes } from '../content.js';
import { ClientError } from '../errors.js';
import { parseReference } from '../reference.js';
import type { RegistryClient } from '../registry-client.js';
import { RegistryStore } from '../remote-store.js';
import { copyManifest, pickPlatform } from './copy.js';
import type { OnEvent } from './events.js';
import { filterPlatforms, formatPlatform, matchesPlatform, parsePlatform, type PlatformSpec } from './platform.js';

export interface MirrorEntry {
  /** `host/repo` (no tag). */
  source: string;
  target: string;
  /** Exactly one of tags, tagPattern and allTags is set. */
  tags?: string[];
  tagPattern?: RegExp;
  allTags?: boolean;
  /** Only these platforms (one: that platform's manifest; several: an index of just those). All when absent. */
  platforms?: PlatformSpec[];
  referrers: boolean;
}

export interface MirrorConfig {
  /** Blobs moved at once for each image. */
  concurrency: number;
  mirrors: MirrorEntry[];
}

export class MirrorConfigError extends ClientError {}

/** A repository reference without tag or digest. */
function repositoryRef(value: string, ctx: z.RefinementCtx): void {
  try {
    const ref = parseReference(value.startsWith('docker://') ? value.slice('docker://'.length) : value);
    if (ref.tag !== undefined || ref.digest !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} names a tag or digest; give host/repository (tags go in tags, tagPattern or allTags)` });
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
}

const entrySchema = z
  .strictObject({
    source: z.string().min(1).superRefine(repositoryRef),
    target: z.string().min(1).superRefine(repositoryRef),
    tags: z.array(z.string().regex(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/, 'not a valid tag')).min(1).optional(),
    tagPattern: z
      .string()
      .superRefine((v, ctx) => {
        try {
          new RegExp(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: `not a regular expression: ${(e as Error).message}` });
        }
      })
      .optional(),
    allTags: z.boolean().optional(),
    platforms: z
      .array(
        z.string().superRefine((v, ctx) => {
          try {
            parsePlatform(v);
          } catch (e) {
            ctx.addIssue({ code: 'custom', message: (e as Error).message });
          }
        }),
      )
      .min(1)
      .optional(),
    referrers: z.boolean().default(false),
  })
  .superRefine((e, ctx) => {
    const chosen = [e.tags !== undefined, e.tagPattern !== undefined, e.allTags === true].filter(Boolean).length;
    if (chosen !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of tags (a list), tagPattern (a regular expression) or allTags: true' });
  });

const configSchema = z.strictObject({
  concurrency: z.number().int().min(1).max(64).default(4),
  mirrors: z.array(entrySchema).min(1),
});

/** `line N` of the node at `path`, or of its closest parent present in the document. */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Parses and checks a mirror file; MirrorConfigError lists every problem with its line. */
export function parseMirrorConfig(text: string): MirrorConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length) throw new MirrorConfigError(`mirror config is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  const parsed = configSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const line = lineOf(doc, lines, i.path);
      const where = i.path.length ? i.path.join('.') : '(top level)';
      return `${line !== undefined ? `line ${line}: ` : ''}${where}: ${i.message}`;
    });
    throw new MirrorConfigError(`invalid mirror config:\n  ${problems.join('\n  ')}`);
  }
  const strip = (s: string) => (s.startsWith('docker://') ? s.slice('docker://'.length) : s);
  return {
    concurrency: parsed.data.concurrency,
    mirrors: parsed.data.mirrors.map((m) => {
      const entry: MirrorEntry = { source: strip(m.source), target: strip(m.target), referrers: m.referrers };
      if (m.tags) entry.tags = m.tags;
      if (m.tagPattern !== undefined) entry.tagPattern = new RegExp(m.tagPattern);
      if (m.allTags) entry.allTags = true;
      if (m.platforms) entry.platforms = m.platforms.map(parsePlatform);
      return entry;
    }),
  };
}

export interface MirrorImageResult {
  /** `host/repo:tag` (or `host/repo` when listing the source's tags failed). */
  source: string;
  target: string;
  /** Undefined when the failure came before any tag was known (listing the source's tags). */
  tag: string | undefined;
  /** The digest the target tag points at (or would have). */
  digest?: string;
  status: 'copied' | 'up-to-date' | 'failed';
  error?: string;
  blobsCopied: number;
  blobsMounted: number;
  bytesCopied: number;
}

export interface MirrorSummary {
  images: MirrorImageResult[];
  copied: number;
  upToDate: number;
  failed: number;
  blobsCopied: number;
  blobsMounted: number;
  bytesCopied: number;
}

export interface MirrorOptions {
  /** The client for a registry (`localhost:5000`): share one Transport between them (locations.registryClients). */
  clientFor(registry: string): RegistryClient;
  signal?: AbortSignal;
  onEvent?: OnEvent;
  /** Overrides the file's `concurrency`. */
  concurrency?: number;
}

/** Tags of the referrers tag schema (`sha256-<hex>`): they come with `referrers: true`, not as images. */
const referrersTagPattern = /^sha(256|512)-[0-9a-f]{64,128}$/;

function storeFor(ref: string, opts: MirrorOptions): RegistryStore {
  const parsed = parseReference(ref);
  return new RegistryStore(opts.clientFor(parsed.registry), parsed.repository);
}

async function tagsToMirror(entry: MirrorEntry, source: RegistryStore, signal: AbortSignal | undefined): Promise<string[]> {
  if (entry.tags) return entry.tags;
  const all = (await source.tags(signal ? { signal } : {})).filter((t) => !referrersTagPattern.test(t));
  return entry.tagPattern ? all.filter((t) => entry.tagPattern!.test(t)) : all;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * What the target tag should point at: the source's manifest, one platform of it, or an index of just the
 * platforms asked for (the source's index bytes unchanged when that is all of them).
 */
async function wantedManifest(source: RegistryStore, root: ManifestBytes, platforms: PlatformSpec[] | undefined, signal: AbortSignal | undefined): Promise<ManifestBytes> {
  if (!platforms) return root;
  if (platforms.length === 1) return pickPlatform(source, root, platforms[0]!, signal);
  const doc = JSON.parse(root.bytes.toString('utf8')) as { manifests?: Descriptor[] };
  if (!Array.isArray(doc.manifests)) {
    // A single image: it must be one of the platforms.
    for (const p of platforms) {
      try {
        return await pickPlatform(source, root, p, signal);
      } catch (e) {
        if (!(e instanceof ClientError)) throw e;
      }
    }
    throw new ClientError(`${source.name}@${root.digest} is a single image of none of ${platforms.map(formatPlatform).join(', ')}`);
  }
  const keep = filterPlatforms(doc.manifests, platforms, `${source.name}@${root.digest}`);
  if (keep.length === doc.manifests.length) return root;
  const kept = doc.manifests.filter((d) => d.platform !== undefined && platforms.some((p) => matchesPlatform(d.platform!, p)));
  const bytes = Buffer.from(JSON.stringify({ ...doc, manifests: kept }));
  return { digest: sha256(bytes), mediaType: root.mediaType, bytes };
}

async function mirrorImage(entry: MirrorEntry, tag: string, source: RegistryStore, target: RegistryStore, concurrency: number, opts: MirrorOptions): Promise<MirrorImageResult> {
  const signal = opts.signal;
  const result: MirrorImageResult = {
    source: `${entry.source}:${tag}`,
    target: `${entry.target}:${tag}`,
    tag,
    status: 'failed',
    blobsCopied: 0,
    blobsMounted: 0,
    bytesCopied: 0,
  };
  const event = { source: result.source, target: result.target, reference: tag };
  opts.onEvent?.({ type: 'image-start', ...event });
  try {
    const root = await wantedManifest(source, await source.resolve(tag, signal ? { signal } : {}), entry.platforms, signal);
    result.digest = root.digest;
    const current = await target.client.headManifest(target.repository, tag, signal ? { signal } : {});
    if (current?.digest === root.digest) {
      result.status = 'up-to-date';
    } else {
      const r = await copyManifest(source, root, target, {
        tag,
        concurrency,
        referrers: entry.referrers,
        ...(signal ? { signal } : {}),
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
      });
      result.status = 'copied';
      result.blobsCopied = r.blobsCopied;
      result.blobsMounted = r.blobsMounted;
      result.bytesCopied = r.bytesCopied;
    }
  } catch (e) {
    if (signal?.aborted) throw e;
    result.status = 'failed';
    result.error = (e as Error).message;
  }
  opts.onEvent?.({ type: 'image-done', ...event });
  return result;
}

/** Mirrors every entry of `config`, image by image in file order. Resolves with the summary even when images fail. */
export async function mirror(config: MirrorConfig, opts: MirrorOptions): Promise<MirrorSummary> {
  const concurrency = opts.concurrency ?? config.concurrency;
  const images: MirrorImageResult[] = [];
  for (const entry of config.mirrors) {
    opts.signal?.throwIfAborted();
    let source: RegistryStore;
    let target: RegistryStore;
    let tags: string[];
    try {
      source = storeFor(entry.source, opts);
      target = storeFor(entry.target, opts);
      tags = await tagsToMirror(entry, source, opts.signal);
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      images.push({ source: entry.source, target: entry.target, tag: undefined, status: 'failed', error: (e as Error).message, blobsCopied: 0, blobsMounted: 0, bytesCopied: 0 });
      continue;
    }
    for (const tag of tags) images.push(await mirrorImage(entry, tag, source, target, concurrency, opts));
  }
  const sum = (f: (r: MirrorImageResult) => number) => images.reduce((n, r) => n + f(r), 0);
  return {
    images,
    copied: images.filter((r) => r.status === 'copied').length,
    upToDate: images.filter((r) => r.status === 'up-to-date').length,
    failed: images.filter((r) => r.status === 'failed').length,
    blobsCopied: sum((r) => r.blobsCopied),
    blobsMounted: sum((r) => r.blobsMounted),
    bytesCopied: sum((r) => r.bytesCopied),
  };
}

