// Content-lifecycle configuration (`lifecycle:` in the config file) and the policies compiled from it: which tags
// are immutable, which retention rule and which quota apply to a repository. Rules name repositories by the same
// globs as access policies (`*` within a segment, `**` across); tag patterns use `*` for any characters.
import { z } from 'zod';
import { compileGlob, compileGlobs, type RepositoryMatcher } from '../auth/glob.js';
import { parseDuration } from '../gc/duration.js';

export class ByteSizeError extends Error {
  override name = 'ByteSizeError';
}

const byteUnits: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Bytes in a size as people write it: 1048576, "500MB", "10GiB", "1.5 TiB" (KB/MB/GB decimal, KiB/MiB/GiB binary). */
export function parseByteSize(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new ByteSizeError(`invalid size ${value}: expected a whole number of bytes`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? byteUnits[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ByteSizeError(`invalid size ${JSON.stringify(value)}: expected e.g. 1048576, 500MB or 10GiB`);
  return Math.floor(Number(m[1]) * unit);
}

/** A short human form of a byte count (binary units). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

function valid(parse: (v: string) => unknown): (v: string) => boolean {
  return (v) => {
    try {
      parse(v);
      return true;
    } catch {
      return false;
    }
  };
}

const repositoryGlobs = z
  .array(z.string().min(1))
  .min(1)
  .describe('Repository globs the rule applies to: `*` matches within one path segment, `**` across segments (`prod/**`, `**`).');

const duration = z.string().refine(valid(parseDuration), { message: 'expected a duration such as 30m, 12h or 7d' });

const byteSize = z.union([
  z.number().int().positive(),
  z.string().refine(valid(parseByteSize), { message: 'expected a size such as 1048576, 500MB or 10GiB' }),
]);

export const lifecycleSchema = z
  .object({
    immutableTags: z
      .array(
        z
          .object({
            repositories: repositoryGlobs,
            tags: z.array(z.string().min(1)).min(1).describe('Tag patterns (`*` matches any characters, e.g. `v*`): such a tag, once pushed, never moves to another digest and cannot be deleted.'),
          })
          .strict(),
      )
      .default([])
      .describe('Tags that, once created, may be pushed again only with the same digest: a move or a delete answers 403 DENIED.'),
    retention: z
      .array(
        z
          .object({
            repositories: repositoryGlobs,
            keepLast: z.number().int().nonnegative().optional().describe('Keep the N most recently pushed tags (by push time); older tags go unless keepTags keeps them.'),
            keepTags: z.array(z.string().min(1)).default([]).describe('Tag patterns (`*` = any characters) that are always kept, whatever keepLast says.'),
            deleteUntaggedAfter: duration.optional().describe('Delete manifests that no tag points at once they are older than this (e.g. `7d`); absent: untagged manifests are kept.'),
          })
          .strict(),
      )
      .default([])
      .describe('Retention rules, applied by `wharf retention` and by the schedule in serve (the first rule whose repositories match a repository applies to it).'),
    retentionIntervalMinutes: z
      .number()
      .nonnegative()
      .default(0)
      .describe('Minutes between two runs of the retention rules inside serve; 0 (the default) runs them only through `wharf retention`.'),
    quotas: z
      .array(
        z
          .object({
            repositories: repositoryGlobs,
            maxBytes: byteSize.describe('Largest storage a matching repository may use, in bytes or with a unit (`500MB`, `10GiB`); counted as in docs/lifecycle.md.'),
          })
          .strict(),
      )
      .default([])
      .describe('Storage quotas per repository (the first rule whose repositories match applies); a push over it answers 403 DENIED.'),
  })
  .strict()
  .describe('Content lifecycle (docs/lifecycle.md): tag immutability, retention rules and quotas per repository glob.');

export type LifecycleInput = z.input<typeof lifecycleSchema>;
export type LifecycleConfig = z.output<typeof lifecycleSchema>;

export interface RetentionRule {
  /** The rule as written, for reports. */
  repositories: string[];
  keepLast: number | undefined;
  keepTag: (tag: string) => boolean;
  /** How many keepTags patterns the rule has (none and no keepLast: the rule leaves tags alone). */
  keepTagPatterns: number;
  /** Milliseconds; undefined keeps untagged manifests. */
  deleteUntaggedAfter: number | undefined;
}

export interface QuotaRule {
  repositories: string[];
  maxBytes: number;
}

/** Tag patterns: `*` matches any run of characters (tags hold no slash). */
function compileTagPatterns(patterns: readonly string[]): (tag: string) => boolean {
  const matchers = patterns.map(compileGlob);
  return (tag) => matchers.some((m) => m(tag));
}

export class LifecyclePolicies {
  private readonly immutable: { repo: RepositoryMatcher; tag: (t: string) => boolean }[];
  private readonly retention: { repo: RepositoryMatcher; rule: RetentionRule }[];
  private readonly quotas: { repo: RepositoryMatcher; rule: QuotaRule }[];

  constructor(config: LifecycleInput = {}) {
    const c = lifecycleSchema.parse(config);
    this.immutable = c.immutableTags.map((r) => ({ repo: compileGlobs(r.repositories), tag: compileTagPatterns(r.tags) }));
    this.retention = c.retention.map((r) => ({
      repo: compileGlobs(r.repositories),
      rule: {
        repositories: r.repositories,
        keepLast: r.keepLast,
        keepTag: compileTagPatterns(r.keepTags),
        keepTagPatterns: r.keepTags.length,
        deleteUntaggedAfter: r.deleteUntaggedAfter === undefined ? undefined : parseDuration(r.deleteUntaggedAfter),
      },
    }));
    this.quotas = c.quotas.map((r) => ({ repo: compileGlobs(r.repositories), rule: { repositories: r.repositories, maxBytes: parseByteSize(r.maxBytes) } }));
  }

  /** Whether any immutability rule names this repository (a delete by digest must then check the tags). */
  hasImmutableTags(repo: string): boolean {
    return this.immutable.some((r) => r.repo(repo));
  }

  isImmutable(repo: string, tag: string): boolean {
    return this.immutable.some((r) => r.repo(repo) && r.tag(tag));
  }

  /** The tags among `tags` that are immutable in `repo`. */
  immutableAmong(repo: string, tags: readonly string[]): string[] {
    return this.hasImmutableTags(repo) ? tags.filter((t) => this.isImmutable(repo, t)) : [];
  }

  retentionFor(repo: string): RetentionRule | undefined {
    return this.retention.find((r) => r.repo(repo))?.rule;
  }

  hasRetention(): boolean {
    return this.retention.length > 0;
  }

  quotaFor(repo: string): QuotaRule | undefined {
    return this.quotas.find((r) => r.repo(repo))?.rule;
  }
}
