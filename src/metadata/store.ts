// The MetadataStore: the source of truth for names. Repositories, which blobs each repository may serve,
// manifests (with their bytes, which are small) and what they reference, tags, referrers, upload sessions.
// Every method is one atomic step; a store is safe to call concurrently.

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
  unlinkBlob(repo: string, digest: string): Promise<boolean>;
  /** Which of these digests are not linked into the repository. */
  missingBlobs(repo: string, digests: string[]): Promise<string[]>;
  /** Which of these digests are not manifests in the repository. */
  missingManifests(repo: string, digests: string[]): Promise<string[]>;

  getManifest(repo: string, digest: string): Promise<ManifestRecord | undefined>;
  getManifestByTag(repo: string, tag: string): Promise<ManifestRecord | undefined>;
  /** Stores a manifest and points the tags at it, in one transaction. */
  putManifest(repo: string, manifest: ManifestWrite, tags: string[]): Promise<void>;
  /** Removes a manifest and every tag pointing at it. */
  deleteManifest(repo: string, digest: string): Promise<boolean>;
  deleteTag(repo: string, tag: string): Promise<boolean>;

  repositoryExists(repo: string): Promise<boolean>;
  listTags(repo: string, page: Page): Promise<string[]>;
  /** Repositories that hold at least one manifest. */
  listRepositories(page: Page): Promise<string[]>;
  listReferrers(repo: string, subject: string): Promise<Referrer[]>;

  createUpload(upload: UploadRecord): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  deleteUpload(id: string): Promise<boolean>;

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

  close(): Promise<void>;
}
