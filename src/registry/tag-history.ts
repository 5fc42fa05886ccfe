// Tag history and rollback: every create, move and delete of a tag is recorded by the metadata store in the
// transaction of the change itself (who, when, old and new digest); a rollback points a tag back at an earlier
// digest through the normal push path (so immutability, quotas and the blob checks apply), if that manifest
// is still in the repository.
import { RegistryError } from '../oci/errors.js';
import { parseDigest } from '../oci/digest.js';
import { checkTag } from '../oci/reference.js';
import type { MetadataStore, TagChange } from '../metadata/store.js';
import type { Manifests } from './manifests.js';
import { maxPageSize, type PageRequest } from './listing.js';

export interface HistoryEntry {
  /** The cursor: pass it as `last` to get the entries before this one. */
  id: number;
  action: 'create' | 'move' | 'delete';
  oldDigest?: string;
  newDigest?: string;
  /** ISO 8601 time of the change. */
  time: string;
  /** The authenticated user who made the change; absent for anonymous callers and server-side tools. */
  by?: string;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  /** The `last` value for the next (older) page, when there may be one. */
  next?: string;
}

export function toEntry(c: TagChange): HistoryEntry {
  const e: HistoryEntry = { id: c.id, action: c.oldDigest === undefined ? 'create' : c.newDigest === undefined ? 'delete' : 'move', time: new Date(c.at).toISOString() };
  if (c.oldDigest !== undefined) e.oldDigest = c.oldDigest;
  if (c.newDigest !== undefined) e.newDigest = c.newDigest;
  if (c.by !== undefined) e.by = c.by;
  return e;
}

export class TagHistory {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly manifests: Manifests,
  ) {}

  /** One page of a tag's history, newest first. `last` is the id of the last entry of the previous page. */
  async list(repo: string, tag: string, req: PageRequest): Promise<HistoryPage> {
    checkTag(tag);
    const limit = Math.min(req.n ?? 100, maxPageSize);
    if (limit === 0) return { entries: [] };
    let before: number | undefined;
    if (req.last !== undefined) {
      if (!/^\d{1,15}$/.test(req.last)) throw new RegistryError('PAGINATION_NUMBER_INVALID', `last must be the id of a history entry (a number), not ${JSON.stringify(req.last.slice(0, 40))}`, { status: 400 });
      before = Number(req.last);
    }
    const rows = await this.metadata.tagHistory(repo, tag, { limit: limit + 1, ...(before !== undefined && { before }) });
    const entries = rows.slice(0, limit).map(toEntry);
    return rows.length > limit ? { entries, next: String(entries[entries.length - 1]!.id) } : { entries };
  }

  /**
   * Points `tag` at `digest` again. 404 MANIFEST_UNKNOWN when the manifest is no longer in the repository (deleted,
   * or removed by a retention rule); 403 DENIED when the tag is immutable and points elsewhere.
   */
  async rollback(repo: string, tag: string, digest: string, by?: string): Promise<{ digest: string; previous?: string }> {
    checkTag(tag);
    const wanted = parseDigest(digest).digest;
    const target = await this.metadata.getManifest(repo, wanted);
    if (!target) {
      throw new RegistryError('MANIFEST_UNKNOWN', `cannot roll ${repo}:${tag} back to ${wanted}: that manifest is no longer in the repository (deleted, or removed by retention)`, {
        detail: { digest: wanted },
      });
    }
    const previous = (await this.metadata.getManifestByTag(repo, tag))?.digest;
    await this.manifests.put(repo, tag, target.body, target.mediaType, [], { actor: by });
    return previous === undefined ? { digest: wanted } : { digest: wanted, previous };
  }
}
