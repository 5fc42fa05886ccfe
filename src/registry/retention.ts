// Retention rules (config `lifecycle.retention`): per repository, keep the N most recently pushed tags and the
// tags matching patterns, and delete manifests no tag points at once they are old enough. A plan is computed
// first (the dry run reports exactly that plan) and then carried out through the registry's normal delete path
// (Manifests.delete: tag history, immutability). Blobs are left to garbage collection.
//
// What is never deleted: a manifest a kept tag points at; anything a kept manifest references (an index's
// children, recursively); the referrers of a kept manifest (signatures, SBOMs: manifests whose subject it is);
// immutable tags and what they hold; untagged manifests younger than `deleteUntaggedAfter` (or all of them when
// the rule has none).
import { parseManifest } from '../oci/manifest.js';
import type { ManifestRecord, MetadataStore, TagRecord } from '../metadata/store.js';
import type { LifecyclePolicies, RetentionRule } from './lifecycle.js';
import type { Manifests } from './manifests.js';

export interface RetentionOptions {
  dryRun?: boolean;
  /** Only these repositories (default: every repository a rule names). */
  repositories?: string[];
  /** The time "older than" is measured from (tests); default now. */
  now?: number;
}

export interface DeletedManifest {
  digest: string;
  size: number;
  /** Tags that pointed at it (all dropped by the rule). */
  tags: string[];
  reason: 'tags dropped' | 'untagged';
}

export interface RepositoryRetention {
  repository: string;
  /** Tags removed while their manifest stays (something kept still holds it). */
  deletedTags: string[];
  deletedManifests: DeletedManifest[];
  keptTags: number;
  keptManifests: number;
}

export interface RetentionReport {
  dryRun: boolean;
  repositories: RepositoryRetention[];
  deletedTags: number;
  deletedManifests: number;
  /** Bytes of the deleted manifests themselves; their blobs are reclaimed by the next garbage collection. */
  manifestBytes: number;
}

const pageSize = 1000;
const maxPages = 1_000_000;

async function allPages<T>(fetch: (last: string | undefined) => Promise<T[]>, key: (t: T) => string): Promise<T[]> {
  const out: T[] = [];
  let last: string | undefined;
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await fetch(last);
    out.push(...page);
    if (page.length < pageSize) return out;
    last = key(page[page.length - 1]!);
  }
  throw new Error('retention: too many pages');
}

/** The manifests a manifest references: an index's children. */
function childrenOf(m: ManifestRecord): string[] {
  try {
    return parseManifest(m.body, m.mediaType).children.map((d) => d.digest);
  } catch {
    return [];
  }
}

/** Which tags a rule keeps: those matching keepTags, immutable ones, and the newest keepLast by push time. */
export function keptTags(rule: RetentionRule, tags: readonly TagRecord[], immutable: (tag: string) => boolean): Set<string> {
  const keep = new Set(tags.filter((t) => rule.keepTag(t.name) || immutable(t.name)).map((t) => t.name));
  if (rule.keepLast !== undefined) {
    const newest = [...tags].sort((a, b) => b.updatedAt - a.updatedAt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const t of newest.slice(0, rule.keepLast)) keep.add(t.name);
  }
  return keep;
}

export class Retention {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly manifests: Manifests,
    private readonly policies: LifecyclePolicies,
  ) {}

  /** What the rule of one repository would delete now. */
  async plan(repo: string, rule: RetentionRule, now: number): Promise<RepositoryRetention> {
    return (await this.planWithTags(repo, rule, now)).plan;
  }

  /** The plan, and where each tag pointed when it was made. */
  private async planWithTags(repo: string, rule: RetentionRule, now: number): Promise<{ plan: RepositoryRetention; tagDigests: Map<string, string> }> {
    const listManifests = this.metadata.listManifests?.bind(this.metadata);
    if (!listManifests) throw new Error('this metadata store cannot list manifests, which retention needs');
    const tags = await allPages((last) => this.metadata.listTagRecords(repo, { limit: pageSize, ...(last !== undefined && { last }) }), (t) => t.name);
    const manifests = await allPages((last) => listManifests(repo, { limit: pageSize, ...(last !== undefined && { last }) }), (m) => m.digest);
    // A rule with neither keepLast nor keepTags does not touch tags.
    const kept = rule.keepLast === undefined && rule.keepTagPatterns === 0 ? new Set(tags.map((t) => t.name)) : keptTags(rule, tags, (t) => this.policies.isImmutable(repo, t));

    const tagsOf = new Map<string, TagRecord[]>();
    for (const t of tags) tagsOf.set(t.digest, [...(tagsOf.get(t.digest) ?? []), t]);
    const cutoff = rule.deleteUntaggedAfter === undefined ? undefined : now - rule.deleteUntaggedAfter;

    // Roots: manifests that stay on their own account.
    const byDigest = new Map(manifests.map((m) => [m.digest, m]));
    const held = new Set<string>();
    const candidates = new Map<string, DeletedManifest>();
    for (const m of manifests) {
      const its = tagsOf.get(m.digest) ?? [];
      if (its.some((t) => kept.has(t.name))) held.add(m.digest);
      else if (its.length > 0) candidates.set(m.digest, { digest: m.digest, size: m.size, tags: its.map((t) => t.name), reason: 'tags dropped' });
      else if (cutoff !== undefined && m.createdAt <= cutoff) candidates.set(m.digest, { digest: m.digest, size: m.size, tags: [], reason: 'untagged' });
      else held.add(m.digest);
    }
    // What kept manifests hold: children of kept indexes, referrers of kept manifests (to a fixed point).
    const referrersOf = new Map<string, string[]>();
    for (const m of manifests) if (m.subject !== undefined) referrersOf.set(m.subject, [...(referrersOf.get(m.subject) ?? []), m.digest]);
    const queue = [...held];
    for (let steps = 0; queue.length > 0 && steps < 10_000_000; steps++) {
      const d = queue.pop()!;
      const m = byDigest.get(d);
      const next = [...(m ? childrenOf(m) : []), ...(referrersOf.get(d) ?? [])];
      for (const n of next) {
        if (held.has(n) || !byDigest.has(n)) continue;
        held.add(n);
        queue.push(n);
      }
    }
    const deletedManifests = [...candidates.values()].filter((c) => !held.has(c.digest));
    const deleted = new Set(deletedManifests.map((c) => c.digest));
    const deletedTags = tags.filter((t) => !kept.has(t.name) && !deleted.has(t.digest)).map((t) => t.name);
    const plan = {
      repository: repo,
      deletedTags,
      deletedManifests,
      keptTags: tags.length - deletedTags.length - deletedManifests.reduce((n, c) => n + c.tags.length, 0),
      keptManifests: manifests.length - deletedManifests.length,
    };
    return { plan, tagDigests: new Map(tags.map((t) => [t.name, t.digest])) };
  }

  /** Plans (and unless dryRun, applies) the retention rules of every repository they name. */
  async run(options: RetentionOptions = {}): Promise<RetentionReport> {
    const now = options.now ?? Date.now();
    const dryRun = options.dryRun ?? false;
    const names = options.repositories ?? (await allPages((last) => this.metadata.listRepositories({ limit: pageSize, ...(last !== undefined && { last }) }), (n) => n));
    const report: RetentionReport = { dryRun, repositories: [], deletedTags: 0, deletedManifests: 0, manifestBytes: 0 };
    for (const repo of names) {
      const rule = this.policies.retentionFor(repo);
      if (!rule) continue;
      const planned = await this.planWithTags(repo, rule, now);
      const plan = dryRun ? planned.plan : await this.apply(repo, planned.plan, planned.tagDigests);
      report.repositories.push(plan);
      report.deletedTags += plan.deletedTags.length;
      report.deletedManifests += plan.deletedManifests.length;
      report.manifestBytes += plan.deletedManifests.reduce((n, m) => n + m.size, 0);
    }
    return report;
  }

  /**
   * Deletes through the normal path: tags first, then manifests (one already gone is fine). Clients may have
   * pushed since the plan was made, so each deletion is checked against the tags as they are now: a dropped tag
   * is deleted only if it still points where it did, a manifest only if every tag it now carries is one the plan
   * dropped from it. Returns what was done.
   */
  private async apply(repo: string, plan: RepositoryRetention, planned: ReadonlyMap<string, string>): Promise<RepositoryRetention> {
    const current = await allPages((last) => this.metadata.listTagRecords(repo, { limit: pageSize, ...(last !== undefined && { last }) }), (t) => t.name);
    const pointsAt = new Map(current.map((t) => [t.name, t.digest]));
    const done: RepositoryRetention = { ...plan, deletedTags: [], deletedManifests: [] };
    for (const tag of plan.deletedTags) {
      if (pointsAt.get(tag) !== planned.get(tag)) continue;
      await ignoreUnknown(this.manifests.delete(repo, tag));
      done.deletedTags.push(tag);
    }
    for (const m of plan.deletedManifests) {
      const droppedFromIt = new Set(m.tags);
      if (current.some((t) => t.digest === m.digest && !droppedFromIt.has(t.name))) continue;
      await ignoreUnknown(this.manifests.delete(repo, m.digest));
      done.deletedManifests.push(m);
    }
    const spared = plan.deletedManifests.filter((m) => !done.deletedManifests.includes(m));
    done.keptTags += plan.deletedTags.length - done.deletedTags.length + spared.reduce((n, m) => n + m.tags.length, 0);
    done.keptManifests += spared.length;
    return done;
  }
}

async function ignoreUnknown(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if ((e as { code?: string }).code !== 'MANIFEST_UNKNOWN') throw e;
  }
}
