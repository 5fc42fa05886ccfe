// Parsing and structural validation of the four manifest formats a registry stores:
// OCI image manifest, OCI image index, Docker schema2 manifest and Docker manifest list.
// Pure: existence of the referenced content is checked by the registry layer.
import { RegistryError } from './errors.js';
import { isDigest } from './digest.js';
import { MediaType, baseMediaType, imageManifestTypes, indexTypes, isNonDistributable, schema1Types } from './media-types.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  data?: string;
}

export interface ParsedManifest {
  /** The effective media type: the document's own, or the Content-Type it was pushed with. */
  mediaType: string;
  kind: 'image' | 'index';
  config?: Descriptor;
  layers: Descriptor[];
  /** Blobs the registry must hold in the repository (config + distributable layers). */
  requiredBlobs: Descriptor[];
  /** Manifests an index points at. */
  children: Descriptor[];
  subject?: Descriptor;
  /** For referrers: the manifest's artifactType, or an image manifest's config media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Distribution's and zot's limit on a manifest body. */
export const maxManifestBytes = 4 * 1024 * 1024;

const mediaTypeGrammar = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkAnnotations(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalid(`${where}.annotations must be an object of strings`);
  }
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, urls, artifactType, platform } = v;
  if (typeof mediaType !== 'string' || !mediaTypeGrammar.test(mediaType)) {
    throw invalid(`${where}.mediaType must be a media type such as application/vnd.oci.image.layer.v1.tar+gzip`);
  }
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw invalid(`${where}.digest ${JSON.stringify(digest)} is not a valid sha256 or sha512 digest`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) {
    throw invalid(`${where}.urls must be an array of strings`);
  }
  if (artifactType !== undefined && typeof artifactType !== 'string') throw invalid(`${where}.artifactType must be a string`);
  if (platform !== undefined && (!isObject(platform) || typeof platform.os !== 'string' || typeof platform.architecture !== 'string')) {
    throw invalid(`${where}.platform must have string os and architecture`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (urls !== undefined) d.urls = urls as string[];
  const annotations = checkAnnotations(v.annotations, where);
  if (annotations) d.annotations = annotations;
  if (artifactType !== undefined) d.artifactType = artifactType;
  if (platform !== undefined) d.platform = platform as unknown as Platform;
  return d;
}

function effectiveMediaType(doc: Record<string, unknown>, contentType: string | undefined): string {
  const own = doc.mediaType;
  if (own !== undefined && typeof own !== 'string') throw invalid('mediaType must be a string');
  const header = baseMediaType(contentType);
  if (own !== undefined && header !== undefined && header !== own.toLowerCase()) {
    throw invalid(`Content-Type ${JSON.stringify(header)} does not match the manifest's mediaType ${JSON.stringify(own)}`);
  }
  if (own !== undefined) return own;
  if (header !== undefined && header !== 'application/json' && header !== 'application/octet-stream') return header;
  // An OCI document may omit mediaType; infer it from its shape (documents with both shapes are refused later).
  if (Array.isArray(doc.manifests) && doc.config === undefined) return MediaType.ociIndex;
  if (doc.config !== undefined) return MediaType.ociManifest;
  throw invalid('cannot tell the manifest type: no mediaType field and no manifest Content-Type');
}

export function parseManifest(body: Uint8Array, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (e) {
    throw invalid(`manifest is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  const ct = baseMediaType(contentType);
  if (doc.schemaVersion === 1 || (typeof doc.mediaType === 'string' && schema1Types.includes(doc.mediaType)) || (ct !== undefined && schema1Types.slice(0, 2).includes(ct))) {
    throw invalid('Docker schema1 manifests are not supported (deprecated since 2017); push with a client that writes Docker schema2 or OCI manifests');
  }
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const mediaType = effectiveMediaType(doc, contentType);
  const annotations = checkAnnotations(doc.annotations, 'manifest');
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, 'subject');
  if (doc.artifactType !== undefined && (typeof doc.artifactType !== 'string' || !mediaTypeGrammar.test(doc.artifactType))) {
    throw invalid('artifactType must be a media type');
  }
  const ownArtifactType = doc.artifactType as string | undefined;

  if (imageManifestTypes.includes(mediaType)) {
    if (doc.manifests !== undefined) throw invalid('an image manifest must not have a manifests field (is it an index?)');
    if (doc.config === undefined) throw invalid('an image manifest needs a config descriptor');
    const config = parseDescriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) throw invalid('an image manifest needs a layers array');
    const layers = doc.layers.map((l, i) => parseDescriptor(l, `layers[${i}]`));
    const requiredBlobs = [config, ...layers.filter((l) => !isNonDistributable(l.mediaType))];
    const m: ParsedManifest = { mediaType, kind: 'image', config, layers, requiredBlobs, children: [] };
    m.artifactType = ownArtifactType ?? config.mediaType;
    if (subject) m.subject = subject;
    if (annotations) m.annotations = annotations;
    return m;
  }
  if (indexTypes.includes(mediaType)) {
    if (doc.config !== undefined || doc.layers !== undefined) throw invalid('an index must not have config or layers fields (is it an image manifest?)');
    if (!Array.isArray(doc.manifests)) throw invalid('an index needs a manifests array');
    const children = doc.manifests.map((c, i) => parseDescriptor(c, `manifests[${i}]`));
    const m: ParsedManifest = { mediaType, kind: 'index', layers: [], requiredBlobs: [], children };
    if (ownArtifactType) m.artifactType = ownArtifactType;
    if (subject) m.subject = subject;
    if (annotations) m.annotations = annotations;
    return m;
  }
  throw invalid(
    `unsupported manifest media type ${JSON.stringify(mediaType)}: Wharf stores ${[...imageManifestTypes, ...indexTypes].join(', ')}`,
  );
}
