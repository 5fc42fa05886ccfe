// Media types of the documents a registry stores and serves.

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** Documents that describe an image or artifact (config + layers). */
export const imageManifestTypes: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
/** Documents that point at other manifests. */
export const indexTypes: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
export const manifestTypes: readonly string[] = [...imageManifestTypes, ...indexTypes];
export const schema1Types: readonly string[] = [MediaType.dockerSchema1, MediaType.dockerSchema1Signed, 'application/json'];

/** Layers that registries are not expected to hold (foreign / non-distributable layers). */
export function isNonDistributable(mediaType: string): boolean {
  return mediaType === MediaType.dockerForeignLayer || mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.');
}

/** Strips parameters and whitespace: `application/json; charset=utf-8` → `application/json`. */
export function baseMediaType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const base = value.split(';', 1)[0]!.trim().toLowerCase();
  return base === '' ? undefined : base;
}

/**
 * Whether an Accept header admits a media type. No header (or an empty one) accepts everything;
 * wildcards `*\/*` and `type/*` are honoured; q=0 entries refuse.
 */
export function accepts(acceptHeader: string | string[] | undefined, mediaType: string): boolean {
  if (acceptHeader === undefined) return true;
  const entries = (Array.isArray(acceptHeader) ? acceptHeader.join(',') : acceptHeader)
    .split(',')
    .map((raw) => {
      const [typePart, ...params] = raw.split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { type: typePart!.trim().toLowerCase(), refused: q !== undefined && Number(q.slice(2)) === 0 };
    })
    .filter((e) => e.type !== '');
  if (entries.length === 0) return true;
  const matches = (type: string) => type === mediaType || type === '*/*' || (type.endsWith('/*') && mediaType.startsWith(type.slice(0, -1)));
  // The most specific matching entry decides (RFC 9110): an exact `type;q=0` refuses even under a wildcard.
  const exact = entries.find((e) => e.type === mediaType);
  if (exact) return !exact.refused;
  return entries.some((e) => !e.refused && matches(e.type));
}
