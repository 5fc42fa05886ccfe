// Content discovery: tags, the catalog and referrers, each paginated in O(page) by the metadata store.
import { parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/manifest.js';
import type { MetadataStore } from '../metadata/store.js';

export interface PageRequest {
  n?: number;
  last?: string;
}

export interface PageResult<T> {
  items: T[];
  /** The `last` value for the next page, when there may be one. */
  next?: string;
}

/** The largest page one request returns; a smaller `n` gives smaller pages, more are reached through Link. */
export const maxPageSize = 10000;

async function page(req: PageRequest, fetch: (last: string | undefined, limit: number) => Promise<string[]>): Promise<PageResult<string>> {
  const limit = Math.min(req.n ?? maxPageSize, maxPageSize);
  if (limit === 0) return { items: [] };
  const rows = await fetch(req.last, limit + 1);
  if (rows.length > limit) {
    const items = rows.slice(0, limit);
    return { items, next: items[items.length - 1]! };
  }
  return { items: rows };
}

export interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

export class Listing {
  constructor(private readonly metadata: MetadataStore) {}

  async tags(repo: string, req: PageRequest): Promise<PageResult<string>> {
    if (!(await this.metadata.repositoryExists(repo))) {
      throw new RegistryError('NAME_UNKNOWN', `repository ${repo} is not known to this registry`, { detail: { name: repo } });
    }
    return page(req, (last, limit) => this.metadata.listTags(repo, last === undefined ? { limit } : { last, limit }));
  }

  async catalog(req: PageRequest): Promise<PageResult<string>> {
    return page(req, (last, limit) => this.metadata.listRepositories(last === undefined ? { limit } : { last, limit }));
  }

  async referrers(repo: string, subject: string, artifactType?: string): Promise<ReferrersIndex> {
    parseDigest(subject);
    const all = await this.metadata.listReferrers(repo, subject);
    const manifests = all
      .filter((r) => artifactType === undefined || r.artifactType === artifactType)
      .map((r) => {
        const d: Descriptor = { mediaType: r.mediaType, digest: r.digest, size: r.size };
        if (r.artifactType !== undefined) d.artifactType = r.artifactType;
        if (r.annotations !== undefined) d.annotations = r.annotations;
        return d;
      });
    return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  }
}
