// The registry domain, without HTTP: one object that holds the services the HTTP layer (and tools) call.
import type { MetadataStore } from '../metadata/store.js';
import type { StorageDriver } from '../storage/index.js';
import type { ManifestAdmission } from '../admission/types.js';
import { Blobs } from './blobs.js';
import { Listing } from './listing.js';
import { Manifests } from './manifests.js';
import { Uploads } from './uploads.js';
import { LifecyclePolicies, type LifecycleInput } from './lifecycle.js';
import { ManifestGuard } from './manifest-guard.js';
import { Quotas } from './quota.js';
import { Retention } from './retention.js';
import { TagHistory } from './tag-history.js';

export interface RegistryOptions {
  /** Largest manifest accepted, in bytes; 4 MiB when not given. */
  maxManifestBytes?: number;
  /** The admission hook asked before manifest pushes (and pulls); config `admission`. */
  admission?: ManifestAdmission;
  /** Tag immutability, retention rules and quotas (config `lifecycle`); none when absent. */
  lifecycle?: LifecycleInput;
}

export class Registry {
  readonly blobs: Blobs;
  readonly uploads: Uploads;
  readonly manifests: Manifests;
  readonly listing: Listing;
  readonly policies: LifecyclePolicies;
  readonly quotas: Quotas;
  readonly history: TagHistory;
  readonly retention: Retention;

  constructor(
    readonly storage: StorageDriver,
    readonly metadata: MetadataStore,
    options: RegistryOptions = {},
  ) {
    this.blobs = new Blobs(storage, metadata);
    this.uploads = new Uploads(storage, metadata);
    this.manifests = new Manifests(metadata, options.maxManifestBytes, options.admission);
    this.listing = new Listing(metadata);
    this.policies = new LifecyclePolicies(options.lifecycle);
    this.quotas = new Quotas(metadata, this.policies);
    this.manifests.guard = new ManifestGuard(metadata, this.policies, this.quotas);
    this.history = new TagHistory(metadata, this.manifests);
    this.retention = new Retention(metadata, this.manifests, this.policies);
  }

  async close(): Promise<void> {
    await this.metadata.close();
    await this.storage.close?.();
  }
}

export { Blobs, Uploads, Manifests, Listing };
