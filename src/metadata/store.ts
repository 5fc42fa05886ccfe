// The MetadataStore: the source of truth for names. Repositories, which blobs each repository may serve,
// manifests (with their bytes, which are small) and what they reference, tags, referrers, upload sessions.
// Every method is one atomic step; a store is safe to call concurrently.
import type { ChangeDraft, StoredChange } from '../events/model.js';

export interface BlobRecord {
  digest: string;
  size: number;
}

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  size: number;
  body: Buffer;
  artifactType?: string;
  subject?: string;
  annotations?: Record<string, string>;
  createdAt: number;
}

export interface ManifestWrite extends ManifestRecord {
  /** Blobs (config, layers) this manifest references. */
  blobs: string[];
  /** Manifests (an index's children) this manifest references. */
  manifests: string[];
}

export interface Referrer {
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface UploadRecord {
  id: string;
  repository: string;
  createdAt: number;
}

/** An API key (robot account): a named secret that authenticates as `subject`, stored only as a hash. */
export interface ApiKeyRecord {
  /** The name clients send as the Basic user name. */
  name: string;
  /** The user name the access policies apply to. */
  subject: string;
  /** Hex SHA-256 of the secret. */
  secretHash: string;
  createdAt: number;
  expiresAt: number;
}

/** A repository's link to a blob (what lets the repository serve it). */
export interface BlobLink {
  repository: string;
  digest: string;
  size: number;
  createdAt: number;
}

/** A blob the collector may reclaim, as a listing saw it. */
export interface CollectableBlob extends BlobRecord {
  createdAt: number;
}

/** putManifest found blobs the manifest needs that the repository does not hold (any more). */
export class MissingBlobsError extends Error {
  override name = 'MissingBlobsError';
  constructor(readonly digests: string[]) {
    super(`blobs not in the repository: ${digests.join(', ')}`);
  }
}

/** The garbage collector is deleting this blob's bytes at this moment: wait a little and try again. */
export class BlobBusyError extends Error {
  override name = 'BlobBusyError';
  constructor(readonly digest: string) {
    super(`blob ${digest} is being deleted by garbage collection; try again`);
  }
}

/** One move of a tag (tag history): created (no old digest), moved, or deleted (no new digest). */
export interface TagChange {
  /** Increases with every change of the store; the history's pagination cursor. */
  id: number;
  tag: string;
  oldDigest?: string;
  newDigest?: string;
  /** Milliseconds since the epoch. */
  at: number;
  /** The authenticated user who made the change; absent for anonymous callers and tools. */
  by?: string;
}

/** A tag with what it points at and when it was last pushed (retention: keep the last N by push time). */
export interface TagRecord {
  name: string;
  digest: string;
  updatedAt: number;
}

/** Who writes tags, and which of the given tags may be created but never moved (tag immutability). */
export interface TagWriteOptions {
  by?: string;
  /** Tags that may point at this manifest only if they are new or already point at it. */
  immutable?: readonly string[];
}

/** putManifest would move a tag listed as immutable to another digest; nothing was changed. */
export class TagImmutableError extends Error {
  override name = 'TagImmutableError';
  constructor(
    readonly tag: string,
    readonly current: string,
  ) {
    super(`tag ${tag} is immutable and points at ${current}`);
  }
}

/** Storage a repository uses, in bytes (docs/lifecycle.md says exactly what each number counts). */
export interface RepositoryUsage {
  repository: string;
  manifests: number;
  tags: number;
  /** Sum of the manifests' own sizes. */
  manifestBytes: number;
  /** manifestBytes plus, per manifest, the sizes of the blobs it references (shared layers count once per manifest). */
  logicalBytes: number;
  /** manifestBytes plus each distinct blob referenced by the repository's manifests once. */
  uniqueBytes: number;
  /** manifestBytes plus each blob linked into the repository once, referenced or not (what quotas count). */
  storedBytes: number;
}

export interface Page {
  /** Exclusive lower bound. */
  last?: string;
  limit: number;
}

export interface MetadataStore {
  /** A blob linked into a repository (pushed or mounted there). */
  getRepositoryBlob(repo: string, digest: string): Promise<BlobRecord | undefined>;
  /** A blob whose bytes the registry holds, in any repository. */
  getBlob(digest: string): Promise<BlobRecord | undefined>;
  /**
   * Records that the bytes of a blob are stored and that the repository may serve them. Creates the repository.
   * With `finishedUpload`, that upload session is removed in the same transaction.
   */
  linkBlob(repo: string, blob: BlobRecord, finishedUpload?: string): Promise<void>;
  /**
   * Before an upload writes bytes to a blob's content address: records on the upload session (created if
   * missing) that it is about to publish `digest`, so the collector leaves that digest alone until linkBlob
   * ends the session. Throws BlobBusyError while the collector is deleting the digest's bytes.
   */
  claimBlob(upload: UploadRecord, digest: string): Promise<void>;
  /**
   * Cross-repository mount in one atomic step: links a blob that `from` (or `repo` itself) holds into `repo`.
   * Undefined when neither holds it at that moment.
   */
  mountBlob(repo: string, from: string, digest: string): Promise<BlobRecord | undefined>;
  unlinkBlob(repo: string, digest: string): Promise<boolean>;
  /** Which of these digests are not linked into the repository. */
  missingBlobs(repo: string, digests: string[]): Promise<string[]>;
  /** Which of these digests are not manifests in the repository. */
  missingManifests(repo: string, digests: string[]): Promise<string[]>;

  getManifest(repo: string, digest: string): Promise<ManifestRecord | undefined>;
  getManifestByTag(repo: string, tag: string): Promise<ManifestRecord | undefined>;
  /**
   * Stores a manifest and points the tags at it, in one transaction, which first checks (and, where the store
   * has row locks, holds) the repository's links to `manifest.blobs`: throws MissingBlobsError if any is gone.
   */
  putManifest(repo: string, manifest: ManifestWrite, tags: string[], options?: TagWriteOptions): Promise<void>;
  /** Removes a manifest and every tag pointing at it. */
  deleteManifest(repo: string, digest: string, options?: { by?: string }): Promise<boolean>;
  deleteTag(repo: string, tag: string, options?: { by?: string }): Promise<boolean>;

  // Content lifecycle (src/registry/tag-history.ts, retention.ts, quota.ts). Every tag write above records its
  // change in the tag history in the same transaction (a re-push of the same digest is not a change).
  /** Changes of one tag, newest first; `before` is the exclusive upper bound of ids (the cursor). */
  tagHistory(repo: string, tag: string, page: { before?: number; limit: number }): Promise<TagChange[]>;
  /** Tags with their digests and push times, by name, one page at a time. */
  listTagRecords(repo: string, page: Page): Promise<TagRecord[]>;
  /** Storage used by one repository; undefined when it does not exist. */
  repositoryUsage(repo: string): Promise<RepositoryUsage | undefined>;
  /** Registry-wide: distinct blobs referenced by any manifest, and all manifests, counted once each. */
  totalUsage(): Promise<{ blobs: number; blobBytes: number; manifests: number; manifestBytes: number }>;

  repositoryExists(repo: string): Promise<boolean>;
  listTags(repo: string, page: Page): Promise<string[]>;
  /** Repositories that hold at least one manifest. */
  listRepositories(page: Page): Promise<string[]>;
  listReferrers(repo: string, subject: string): Promise<Referrer[]>;

  createUpload(upload: UploadRecord): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  deleteUpload(id: string): Promise<boolean>;

  // Garbage collection (src/gc/). `before` is the grace cutoff: only things created at or before it qualify.
  /** Links no manifest of their repository references, created at or before `before`; ordered, from after `after`. */
  listUnreferencedLinks(before: number, limit: number, after?: { repository: string; digest: string }): Promise<BlobLink[]>;
  /** Removes one such link if, checked again in a transaction, it still qualifies. */
  sweepLink(repo: string, digest: string, before: number): Promise<boolean>;
  /**
   * Blobs that would be reclaimable once the unreferenced links are gone: no manifest anywhere references them,
   * no upload has claimed them, they and all their links were created at or before `before`. With
   * `withoutLinks`, only those that have no link left at all (what a sweep may mark now).
   */
  listCollectableBlobs(before: number, limit: number, options: { after?: string; withoutLinks: boolean }): Promise<CollectableBlob[]>;
  /**
   * Checks one blob again in a transaction (no link, no reference, no claim, created at or before `before`) and
   * marks it as being deleted by `collector`; a mark left by another collector before `staleBefore` is taken
   * over. Returns the blob when this collector now holds the mark and may delete its bytes.
   */
  markBlobDeleting(digest: string, before: number, collector: string, staleBefore: number): Promise<BlobRecord | undefined>;
  /** Deletes the row of a blob whose bytes are gone, if `collector` still holds its mark. */
  deleteMarkedBlob(digest: string, collector: string): Promise<boolean>;
  /** Upload sessions (and claims) created at or before `before`, by id, from after `afterId`. */
  listUploadsBefore(before: number, limit: number, afterId?: string): Promise<UploadRecord[]>;

  /** Stores a new API key; false (and nothing changed) when a key of that name exists. */
  createApiKey(key: ApiKeyRecord): Promise<boolean>;
  /** Every key, expired ones included, by name. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  findApiKey(name: string): Promise<ApiKeyRecord | undefined>;
  /** Removes a key; false when there was none. */
  revokeApiKey(name: string): Promise<boolean>;

  /**
   * Maintenance reads (`wharf fsck`): every blob whose bytes the registry holds, by digest, one page at a time.
   * Optional so that a store can add it later; tools that need it say so when it is missing.
   */
  listBlobs?(page: Page): Promise<BlobRecord[]>;
  /** Maintenance reads: the manifests of one repository, with their bytes, by digest, one page at a time. */
  listManifests?(repo: string, page: Page): Promise<ManifestRecord[]>;

  // Events (src/events/, docs/events.md): the outbox. Every write above that changes what the registry serves
  // (linkBlob, mountBlob, unlinkBlob, putManifest, deleteManifest, deleteTag) writes its events in its own
  // transaction, naming the actor of src/events/actor.ts (or `options.by`). Positions (`seq`) increase in
  // commit order, so a reader that has seen position N has seen every change committed before N.
  /** Writes changes that go with no other write (pulls), in one transaction. */
  appendEvents(changes: ChangeDraft[]): Promise<void>;
  /** Changes after position `after`, in order. */
  listEvents(after: number, limit: number): Promise<StoredChange[]>;
  /**
   * Takes (or renews) the delivery lease of an endpoint's cursor for `leaseMs`, creating the cursor at the
   * end of the outbox if the endpoint has none. The cursor's position when `holder` now holds the lease;
   * undefined while another holder's lease runs.
   */
  leaseEventCursor(endpoint: string, holder: string, leaseMs: number): Promise<number | undefined>;
  /** Moves the cursor to `position` if `holder` still holds its lease; false otherwise (nothing changed). */
  advanceEventCursor(endpoint: string, holder: string, position: number): Promise<boolean>;
  /** Gives the lease up (at shutdown), so that another process can take over at once. */
  releaseEventCursor(endpoint: string, holder: string): Promise<void>;
  /**
   * Retention: removes changes older than `before` (ms) that every cursor of `endpoints` has passed; how many.
   */
  pruneEvents(before: number, endpoints: readonly string[]): Promise<number>;

  close(): Promise<void>;
}
