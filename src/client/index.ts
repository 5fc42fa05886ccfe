// The Wharf client library: talk to any OCI Distribution registry. Importable as `wharf/client`.
// Imports nothing from the server; only `../oci` (pure helpers) and undici.
export {
  RegistryClient,
  Paged,
  manifestAcceptTypes,
  defaultMaxManifestBytes,
  nextLink,
  referrersTag,
  parseUploadRange,
  type RegistryClientOptions,
  type CallOptions,
  type BlobInfo,
  type BlobSource,
  type GetBlobOptions,
  type UploadOptions,
  type UploadResult,
  type UploadSession,
  type ManifestResult,
  type ManifestInfo,
  type GetManifestOptions,
  type PutManifestOptions,
  type PutManifestResult,
  type ListOptions,
  type ReferrersOptions,
  type ReferrersResult,
} from './registry-client.js';
export { type BlobStream, parseContentRange } from './download.js';
export {
  Transport,
  Semaphore,
  responseError,
  isRetryableError,
  isRetryableStatus,
  parseRetryAfter,
  type TransportOptions,
  type TransportRequestOptions,
  type TransportResponse,
  type RequestBody,
} from './transport.js';
export {
  parseWwwAuthenticate,
  parseScope,
  scopeSet,
  mergeScopes,
  coversScopes,
  formatScopes,
  repositoryScope,
  catalogScope,
  type Challenge,
  type ScopeSet,
} from './auth.js';
export {
  DockerCredentialStore,
  dockerCredentials,
  staticCredentials,
  runCredentialHelper,
  authFilePaths,
  normalizeAuthKey,
  helperServerUrl,
  type Credentials,
  type CredentialProvider,
  type DockerCredentialsOptions,
  type AuthFile,
} from './credentials.js';
export {
  parseReference,
  formatReference,
  manifestReference,
  registryApiHost,
  isLoopbackHost,
  splitHostPort,
  DOCKER_HUB,
  DOCKER_HUB_API_HOST,
  DOCKER_HUB_AUTH_KEY,
  type ImageReference,
  type ParseReferenceOptions,
} from './reference.js';
export { tlsMaterialFor, defaultCertsDirs, type TlsFiles, type TlsMaterial } from './tls.js';
export {
  ClientError,
  RegistryClientError,
  UnauthorizedError,
  DeniedError,
  NotFoundError,
  TooManyRequestsError,
  TokenError,
  DigestMismatchError,
  SizeMismatchError,
  InsecureRegistryError,
  InvalidReferenceError,
  CredentialsError,
  ProtocolError,
  type OciErrorEntry,
} from './errors.js';
export { MediaType, type Descriptor } from '../oci/index.js';
export type {
  ContentKind,
  ContentOptions,
  ContentSource,
  ContentSink,
  ContentStore,
  ManifestBytes,
  PushBlobOptions,
  PushBlobResult,
  PushManifestOptions,
  ReferrersFilter,
} from './content.js';
export { MemoryStore } from './memory-store.js';
export { verifying, checkBytes } from './verify.js';
export { ContentNotFoundError, isNotFound } from './errors.js';
export { OciLayoutStore, openLayout, refNameAnnotation, type OpenLayoutOptions } from './layout.js';
export { OciArchiveStore, openArchive, type ArchiveMode } from './layout-archive.js';
