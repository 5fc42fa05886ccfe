// Which registry the server tests run against. Wharf by default; WHARF_TEST_TARGET=reference runs
// the same tests against Distribution 2.8 (Debian's docker-registry) to check the harness itself.
// The reference differs from Wharf in a few documented places; those differences are tolerated
// only when the target is the reference.
import { spawnReference, spawnWharf, type SpawnedRegistry } from '../helpers/processes.js';

export type TargetName = 'wharf' | 'reference';

export interface RegistryTarget {
  name: TargetName;
  /** Starts the registry on `data`; pass `port` to restart it where clients expect it. */
  spawn(data: string, port?: number): Promise<SpawnedRegistry>;
  /** Wharf completes `POST /blobs/uploads/?digest=` with a body (201). Distribution ignores the digest (202). */
  singlePostUpload: boolean;
  /** Wharf's DELETE /manifests/<tag> removes the tag (202). Distribution 2.8 refuses it (400 DIGEST_INVALID). */
  deletesTags: boolean;
  /**
   * Distribution signs the offset into the upload Location (`_state`) and refuses a session whose data on
   * disk does not match it (404 BLOB_UPLOAD_INVALID / 416) — which a kill during a PATCH can cause.
   */
  refusesMismatchedUploadState: boolean;
}

const wharf: RegistryTarget = {
  name: 'wharf',
  spawn: (data, port) => spawnWharf(port === undefined ? { data } : { data, port }),
  singlePostUpload: true,
  deletesTags: true,
  refusesMismatchedUploadState: false,
};

const reference: RegistryTarget = {
  name: 'reference',
  spawn: (data, port) => {
    // A fixed secret, so that upload Locations (HMAC-signed state) stay valid across restarts.
    // spawnReference passes our environment on to docker-registry, which reads REGISTRY_* overrides.
    process.env.REGISTRY_HTTP_SECRET ??= 'wharf-test-fixed-secret';
    return spawnReference(port === undefined ? { data } : { data, port });
  },
  singlePostUpload: false,
  deletesTags: false,
  refusesMismatchedUploadState: true,
};

export function registryTarget(): RegistryTarget {
  const name = process.env.WHARF_TEST_TARGET ?? 'wharf';
  if (name === 'wharf') return wharf;
  if (name === 'reference') return reference;
  throw new Error(`WHARF_TEST_TARGET=${name}: expected "wharf" or "reference"`);
}
