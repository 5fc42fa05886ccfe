// Manifests: validated, checked against what the repository holds, stored byte for byte, addressed by the
// digest of exactly the bytes pushed.
import { digestOf, parseDigest, isDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseManifest, maxManifestBytes } from '../oci/manifest.js';
import { checkTag } from '../oci/reference.js';
import { manifestTypes } from '../oci/media-types.js';
import { MissingBlobsError, TagImmutableError, type ManifestRecord, type MetadataStore } from '../metadata/store.js';
import { immutableTagDenied, type ManifestGuard } from './manifest-guard.js';
import type { ManifestAdmission } from '../admission/types.js';

/** Who asks for a push or pull, for the admission hook. */
export interface ManifestCaller {
  actor?: string | undefined;
}

export interface PutResult {
  digest: string;
  subject?: string;
}

export class Manifests {
  /** Tag immutability and quotas (config `lifecycle`); set by Registry. */
  guard: ManifestGuard | undefined;

  constructor(
    private readonly metadata: MetadataStore,
    /** Largest manifest accepted, in bytes (config `limits.maxManifestBytes`). */
    readonly maxBytes: number = maxManifestBytes,
    /** Asked before a push commits and (when configured) before a manifest is served; config `admission`. */
    readonly admission?: ManifestAdmission,
  ) {}

  /** Resolves a tag or digest. */
  async get(repo: string, reference: string): Promise<ManifestRecord> {
    const found = isDigest(reference)
      ? await this.metadata.getManifest(repo, reference)
      : await this.metadata.getManifestByTag(repo, checkReference(reference));
    if (!found) {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in this repository`, { detail: { reference } });
    }
    return found;
  }

  async put(repo: string, reference: string, body: Buffer, contentType: string | undefined, extraTags: string[] = [], caller: ManifestCaller = {}): Promise<PutResult> {
    if (body.length > this.maxBytes) throw tooLarge(this.maxBytes);
    const byDigest = looksLikeDigest(reference);
    const wanted = byDigest ? parseDigest(reference) : undefined;
    const tags = [...(byDigest ? [] : [checkTag(reference)]), ...extraTags.map(checkTag)];
    const digest = digestOf(body, wanted?.algorithm ?? 'sha256');
    if (wanted && wanted.digest !== digest) {
      throw new RegistryError('DIGEST_INVALID', `manifest digest ${digest} does not match the reference ${wanted.digest}`);
    }
    const parsed = parseManifest(body, contentType);
    const missingBlobs = await this.metadata.missingBlobs(repo, parsed.requiredBlobs.map((d) => d.digest));
    if (missingBlobs.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references blob ${missingBlobs[0]} which is not in this repository`, {
        status: 400,
        detail: { digests: missingBlobs },
      });
    }
    // An index's manifest entries must be manifests of this repository; entries of other media types may be
    // manifests or plain blobs of it.
    const manifestEntries = parsed.children.filter((d) => manifestTypes.includes(d.mediaType)).map((d) => d.digest);
    const otherEntries = parsed.children.filter((d) => !manifestTypes.includes(d.mediaType)).map((d) => d.digest);
    const missingChildren = [
      ...(await this.metadata.missingManifests(repo, manifestEntries)),
      ...(await this.metadata.missingBlobs(repo, await this.metadata.missingManifests(repo, otherEntries))),
    ];
    if (missingChildren.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `index references manifest ${missingChildren[0]} which is not in this repository; push it first`, {
        status: 400,
        detail: { digests: missingChildren },
      });
    }
    // Valid and complete: the admission hook has the last word before anything is written.
    await this.admission?.check({ action: 'push', repository: repo, reference, tags, digest, mediaType: parsed.mediaType, body, actor: caller.actor });
    const record = {
      digest,
      mediaType: parsed.mediaType,
      size: body.length,
      body,
      createdAt: Date.now(),
      blobs: parsed.requiredBlobs.map((d) => d.digest),
      manifests: parsed.children.map((d) => d.digest),
      ...(parsed.artifactType !== undefined && { artifactType: parsed.artifactType }),
      ...(parsed.subject && { subject: parsed.subject.digest }),
      ...(parsed.annotations && { annotations: parsed.annotations }),
    };
    const immutable = (await this.guard?.beforePut(repo, digest, body.length, tags)) ?? [];
    try {
      await this.metadata.putManifest(repo, record, tags, { immutable, ...(caller.actor !== undefined && { by: caller.actor }) });
    } catch (e) {
      if (e instanceof TagImmutableError) throw immutableTagDenied(repo, e.tag, e.current, digest);
      // A blob the check above saw was unlinked (by DELETE or garbage collection) before the manifest committed.
      if (!(e instanceof MissingBlobsError)) throw e;
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references blob ${e.digests[0]} which is not in this repository`, {
        status: 400,
        detail: { digests: e.digests },
      });
    }
    return parsed.subject ? { digest, subject: parsed.subject.digest } : { digest };
  }

  /** Asks the admission hook (config `admission.onPull`) whether a manifest found by get() may be served. */
  async admitPull(repo: string, reference: string, found: ManifestRecord, caller: ManifestCaller = {}): Promise<void> {
    if (!this.admission?.applies('pull', repo)) return;
    const tags = isDigest(reference) ? [] : [reference];
    await this.admission.check({ action: 'pull', repository: repo, reference, tags, digest: found.digest, mediaType: found.mediaType, body: found.body, actor: caller.actor });
  }

  /** By digest: removes the manifest and its tags. By tag: removes only the tag. */
  async delete(repo: string, reference: string, caller: ManifestCaller = {}): Promise<void> {
    await this.guard?.beforeDelete(repo, reference);
    const by = caller.actor === undefined ? {} : { by: caller.actor };
    if (isDigest(reference)) {
      if (!(await this.metadata.deleteManifest(repo, reference, by))) {
        throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in this repository`);
      }
      return;
    }
    if (!(await this.metadata.deleteTag(repo, checkReference(reference), by))) {
      throw new RegistryError('MANIFEST_UNKNOWN', `tag ${reference} is not in this repository`);
    }
  }
}

export function tooLarge(limit: number = maxManifestBytes): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `manifest is larger than the ${limit} bytes (${(limit / 1048576).toFixed(limit % 1048576 === 0 ? 0 : 2)} MiB) limit`, { status: 413 });
}

/** A reference with a colon is meant as a digest (and must be a valid one); anything else is a tag. */
function looksLikeDigest(reference: string): boolean {
  return reference.includes(':');
}

function checkReference(reference: string): string {
  if (looksLikeDigest(reference)) parseDigest(reference);
  return checkTag(reference);
}
