// mirror: keeps repositories of one registry copied into another, as a YAML file says (docs/mirror.md):
// which tags (a list, a pattern or all), optionally only some platforms, optionally with referrers. Each
// image is copied with `copyManifest`; a tag whose target already points at the same digest is left alone
// ('up-to-date'); one failing image is recorded and the rest go on.
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument, type Document } from 'yaml';
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

type Path = (string | number)[];

interface Problem {
  path: Path;
  message: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const tagGrammar = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const entryKeys = ['source', 'target', 'tags', 'tagPattern', 'allTags', 'platforms', 'referrers'];

/** `host/repository` (docker:// accepted), without tag or digest; undefined (and a problem) otherwise. */
function repositoryRef(value: unknown, path: Path, problems: Problem[]): string | undefined {
  if (typeof value !== 'string' || value === '') {
    problems.push({ path, message: 'required: a repository such as localhost:5000/app' });
    return undefined;
  }
  const text = value.startsWith('docker://') ? value.slice('docker://'.length) : value;
  try {
    const ref = parseReference(text);
    if (ref.tag !== undefined || ref.digest !== undefined) {
      problems.push({ path, message: `${JSON.stringify(value)} names a tag or digest; give host/repository (tags go in tags, tagPattern or allTags)` });
      return undefined;
    }
  } catch (e) {
    problems.push({ path, message: (e as Error).message });
    return undefined;
  }
  return text;
}

/** One `mirrors[i]` entry, or undefined when it has problems (all of them recorded). */
function checkEntry(v: unknown, path: Path, problems: Problem[]): MirrorEntry | undefined {
  if (!isObject(v)) {
    problems.push({ path, message: 'must be a mapping with source, target and tags, tagPattern or allTags' });
    return undefined;
  }
  const before = problems.length;
  for (const key of Object.keys(v)) if (!entryKeys.includes(key)) problems.push({ path: [...path, key], message: `unknown key (known: ${entryKeys.join(', ')})` });
  const source = repositoryRef(v.source, [...path, 'source'], problems);
  const target = repositoryRef(v.target, [...path, 'target'], problems);
  const entry: MirrorEntry = { source: source ?? '', target: target ?? '', referrers: false };
  if (v.tags !== undefined) {
    if (!Array.isArray(v.tags) || v.tags.length === 0) problems.push({ path: [...path, 'tags'], message: 'must be a non-empty list of tags' });
    else {
      v.tags.forEach((t, i) => {
        if (typeof t !== 'string' || !tagGrammar.test(t)) problems.push({ path: [...path, 'tags', i], message: `${JSON.stringify(t)} is not a valid tag` });
      });
      entry.tags = v.tags.map(String);
    }
  }
  if (v.tagPattern !== undefined) {
    if (typeof v.tagPattern !== 'string') problems.push({ path: [...path, 'tagPattern'], message: 'must be a regular expression (a string)' });
    else {
      try {
        entry.tagPattern = new RegExp(v.tagPattern);
      } catch (e) {
        problems.push({ path: [...path, 'tagPattern'], message: `not a regular expression: ${(e as Error).message}` });
      }
    }
  }
  if (v.allTags !== undefined) {
    if (typeof v.allTags !== 'boolean') problems.push({ path: [...path, 'allTags'], message: 'must be true or false' });
    else if (v.allTags) entry.allTags = true;
  }
  const chosen = [v.tags !== undefined, v.tagPattern !== undefined, v.allTags === true].filter(Boolean).length;
  if (chosen !== 1) problems.push({ path, message: 'give exactly one of tags (a list), tagPattern (a regular expression) or allTags: true' });
  if (v.platforms !== undefined) {
    if (!Array.isArray(v.platforms) || v.platforms.length === 0) problems.push({ path: [...path, 'platforms'], message: 'must be a non-empty list such as [linux/amd64, linux/arm64]' });
    else {
      const specs: PlatformSpec[] = [];
      v.platforms.forEach((p, i) => {
        try {
          specs.push(parsePlatform(String(p)));
        } catch (e) {
          problems.push({ path: [...path, 'platforms', i], message: (e as Error).message });
        }
      });
      entry.platforms = specs;
    }
  }
  if (v.referrers !== undefined) {
    if (typeof v.referrers !== 'boolean') problems.push({ path: [...path, 'referrers'], message: 'must be true or false' });
    else entry.referrers = v.referrers;
  }
  return problems.length === before ? entry : undefined;
}

/** The whole file: `concurrency` (1–64, default 4) and a non-empty `mirrors` list. */
function checkConfig(v: unknown, problems: Problem[]): MirrorConfig {
  const config: MirrorConfig = { concurrency: 4, mirrors: [] };
  if (!isObject(v)) {
    problems.push({ path: [], message: 'must be a mapping with a mirrors list' });
    return config;
  }
  for (const key of Object.keys(v)) if (key !== 'concurrency' && key !== 'mirrors') problems.push({ path: [key], message: 'unknown key (known: concurrency, mirrors)' });
  if (v.concurrency !== undefined) {
    if (typeof v.concurrency !== 'number' || !Number.isInteger(v.concurrency) || v.concurrency < 1 || v.concurrency > 64) {
      problems.push({ path: ['concurrency'], message: 'must be an integer from 1 to 64' });
    } else config.concurrency = v.concurrency;
  }
  if (!Array.isArray(v.mirrors) || v.mirrors.length === 0) {
    problems.push({ path: v.mirrors === undefined ? [] : ['mirrors'], message: 'mirrors: a non-empty list of {source, target, tags | tagPattern | allTags} is required' });
    return config;
  }
  v.mirrors.forEach((e, i) => {
    const entry = checkEntry(e, ['mirrors', i], problems);
    if (entry) config.mirrors.push(entry);
  });
  return config;
}

/** `line N` of the node at `path`, or of its closest parent present in the document. */
function lineOf(doc: Document, lines: LineCounter, path: readonly (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Parses and checks a mirror file; MirrorConfigError lists every problem with its line. */
export function parseMirrorConfig(text: string): MirrorConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length) throw new MirrorConfigError(`mirror config is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  const problems: Problem[] = [];
  const config = checkConfig(doc.toJS(), problems);
  if (problems.length) {
    const listed = problems.map((p) => {
      const line = lineOf(doc, lines, p.path);
      return `${line !== undefined ? `line ${line}: ` : ''}${p.path.length ? p.path.join('.') : '(top level)'}: ${p.message}`;
    });
    throw new MirrorConfigError(`invalid mirror config:\n  ${listed.join('\n  ')}`);
  }
  return config;
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

