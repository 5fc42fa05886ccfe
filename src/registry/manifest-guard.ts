// The lifecycle checks of manifest writes: tag immutability (a push may create an immutable tag or push it again
// with the same digest, never move it; nobody deletes it) and the quota on a new manifest's own bytes.
// Manifests asks this before it writes; the metadata store re-checks immutability inside the transaction.
import { RegistryError } from '../oci/errors.js';
import { isDigest } from '../oci/digest.js';
import type { MetadataStore } from '../metadata/store.js';
import type { LifecyclePolicies } from './lifecycle.js';
import type { Quotas } from './quota.js';

export function immutableTagDenied(repo: string, tag: string, current: string, wanted?: string): RegistryError {
  const action = wanted === undefined ? 'cannot be deleted' : `cannot be moved to ${wanted}`;
  return new RegistryError('DENIED', `tag ${repo}:${tag} is immutable (lifecycle.immutableTags) and points at ${current}: it ${action}; push a new tag instead`, {
    detail: { repository: repo, tag, digest: current },
  });
}

export class ManifestGuard {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly policies: LifecyclePolicies,
    private readonly quotas: Quotas,
  ) {}

  /** Checks a push before it is written; returns the tags the store must keep from moving. */
  async beforePut(repo: string, digest: string, size: number, tags: readonly string[]): Promise<string[]> {
    const immutable = this.policies.immutableAmong(repo, tags);
    for (const tag of immutable) {
      const current = (await this.metadata.getManifestByTag(repo, tag))?.digest;
      if (current !== undefined && current !== digest) throw immutableTagDenied(repo, tag, current, digest);
    }
    if (this.policies.quotaFor(repo) && !(await this.metadata.getManifest(repo, digest))) {
      await this.quotas.check(repo, size, `manifest ${digest}`);
    }
    return immutable;
  }

  /** A delete by tag of an immutable tag, or by digest of a manifest an immutable tag points at, is refused. */
  async beforeDelete(repo: string, reference: string): Promise<void> {
    if (!this.policies.hasImmutableTags(repo)) return;
    if (!isDigest(reference)) {
      if (!this.policies.isImmutable(repo, reference)) return;
      const current = (await this.metadata.getManifestByTag(repo, reference))?.digest;
      if (current !== undefined) throw immutableTagDenied(repo, reference, current);
      return;
    }
    for (let last: string | undefined, pages = 0; pages < 100_000; pages++) {
      const page = await this.metadata.listTagRecords(repo, { limit: 1000, ...(last !== undefined && { last }) });
      const held = page.find((t) => t.digest === reference && this.policies.isImmutable(repo, t.name));
      if (held) throw immutableTagDenied(repo, held.name, reference);
      if (page.length < 1000) return;
      last = page[page.length - 1]!.name;
    }
  }
}
