// What a reference names, in one object: for an image its config (platform, creation time, labels) and
// layers with their total size; for an index the platforms it offers (or, given a platform, that child
// inspected); for an artifact its type and subject. Reads manifests and the config only, never layers.
import { MediaType, type Descriptor, type Platform } from '../../oci/index.js';
import type { ContentSource, ManifestBytes } from '../content.js';
import { describeManifest, parseStored, platformOfConfig, readImageConfig } from './build.js';
import { platformMatches, toPlatformSpec, type PlatformLike } from './index-ops.js';
import { formatPlatform, PlatformNotFoundError, selectPlatform } from './platform.js';

export interface InspectConfig {
  digest: string;
  mediaType: string;
  size: number;
  /** From an image configuration: os, architecture, variant, os.version. */
  platform?: Platform;
  /** The config's `created` (RFC 3339), as written. */
  created?: string;
  author?: string;
  /** `config.Labels` of an image configuration. */
  labels?: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
  env?: string[];
}

export interface InspectPlatform {
  /** Undefined for children that declare none (nested indexes, artifacts, attestations without one). */
  platform?: Platform;
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface InspectResult {
  /** The reference asked for. */
  reference: string;
  /** The manifest described below (for an index inspected with a platform: the child's). */
  digest: string;
  mediaType: string;
  /** Size of the manifest itself. */
  size: number;
  kind: 'image' | 'index';
  config?: InspectConfig;
  layers: Descriptor[];
  /** Sum of the layer sizes (compressed, as stored). */
  layersSize: number;
  /** The children of an index (empty for an image). */
  platforms: InspectPlatform[];
  annotations?: Record<string, string>;
  /** The manifest's artifactType, or the config media type of an artifact that predates the field. */
  artifactType?: string;
  subject?: Descriptor;
  /** Set when an index was inspected with a platform: the index the child was chosen from. */
  index?: Descriptor;
}

export interface InspectOptions {
  /** For an index: inspect the child for this platform (`linux/arm64`). For an image: check it is this platform. */
  platform?: PlatformLike;
  signal?: AbortSignal;
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const entries = Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

function describeConfig(descriptor: Descriptor, doc: Record<string, unknown> | undefined): InspectConfig {
  const out: InspectConfig = { digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size };
  if (doc === undefined) return out;
  const platform = platformOfConfig(doc);
  if (platform !== undefined) out.platform = platform;
  if (typeof doc.created === 'string') out.created = doc.created;
  if (typeof doc.author === 'string') out.author = doc.author;
  const run = typeof doc.config === 'object' && doc.config !== null ? (doc.config as Record<string, unknown>) : {};
  const labels = stringRecord(run.Labels);
  if (labels !== undefined) out.labels = labels;
  const entrypoint = stringList(run.Entrypoint);
  if (entrypoint !== undefined) out.entrypoint = entrypoint;
  const cmd = stringList(run.Cmd);
  if (cmd !== undefined) out.cmd = cmd;
  const env = stringList(run.Env);
  if (env !== undefined) out.env = env;
  if (typeof run.WorkingDir === 'string' && run.WorkingDir !== '') out.workingDir = run.WorkingDir;
  if (typeof run.User === 'string' && run.User !== '') out.user = run.User;
  return out;
}

async function describe(source: ContentSource, reference: string, manifest: ManifestBytes, signal: AbortSignal | undefined): Promise<InspectResult> {
  const parsed = parseStored(manifest, `${source.name}@${manifest.digest}`);
  const result: InspectResult = {
    reference,
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    size: manifest.bytes.length,
    kind: parsed.kind,
    layers: parsed.layers,
    layersSize: parsed.layers.reduce((sum, l) => sum + l.size, 0),
    platforms: [],
  };
  if (parsed.kind === 'image' && parsed.config) {
    result.config = describeConfig(parsed.config, await readImageConfig(source, parsed, signal));
    const imageConfig = parsed.config.mediaType === MediaType.ociConfig || parsed.config.mediaType === MediaType.dockerConfig;
    if (parsed.artifactType !== undefined && !(imageConfig && parsed.artifactType === parsed.config.mediaType)) result.artifactType = parsed.artifactType;
  } else if (parsed.artifactType !== undefined) {
    result.artifactType = parsed.artifactType;
  }
  for (const child of parsed.children) {
    const p: InspectPlatform = { digest: child.digest, mediaType: child.mediaType, size: child.size };
    if (child.platform !== undefined) p.platform = child.platform;
    if (child.artifactType !== undefined) p.artifactType = child.artifactType;
    if (child.annotations !== undefined) p.annotations = child.annotations;
    result.platforms.push(p);
  }
  if (parsed.annotations !== undefined) result.annotations = parsed.annotations;
  if (parsed.subject !== undefined) result.subject = parsed.subject;
  return result;
}

/**
 * Describes the manifest `reference` names (a tag or digest in `source`). With `platform`, an index is
 * resolved to its child for that platform (the first that matches) and the child is described.
 */
export async function inspect(source: ContentSource, reference: string, opts: InspectOptions = {}): Promise<InspectResult> {
  const { signal } = opts;
  const manifest = await source.resolve(reference, signal ? { signal } : {});
  const result = await describe(source, reference, manifest, signal);
  if (opts.platform === undefined) return result;
  const wanted = toPlatformSpec(opts.platform);
  if (result.kind === 'image') {
    // An image answers for its own platform only; an image without one (an artifact) matches nothing.
    const own = result.config?.platform;
    if (!platformMatches(own, wanted)) throw new PlatformNotFoundError(wanted, own ? [formatPlatform(own)] : [], `${source.name} ${reference}`);
    return result;
  }
  // An exact variant first, else the first match in index order (as pulls choose).
  const chosen = selectPlatform(result.platforms.map((p) => ({ mediaType: p.mediaType, digest: p.digest, size: p.size, ...(p.platform ? { platform: p.platform } : {}) })), wanted, `${source.name} ${reference}`);
  const child = result.platforms.find((p) => p.digest === chosen.digest)!;
  const childManifest = await source.fetchManifest({ mediaType: child.mediaType, digest: child.digest, size: child.size }, signal ? { signal } : {});
  const childResult = await describe(source, reference, childManifest, signal);
  childResult.index = describeManifest(manifest);
  return childResult;
}
