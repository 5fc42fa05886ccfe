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
export {
  pushArtifact,
  pullArtifact,
  attach,
  listReferrers,
  checkTitle,
  UnsafeTitleError,
  FileExistsError,
  titleAnnotation,
  createdAnnotation,
  type ArtifactFile,
  type ArtifactBytes,
  type ArtifactInput,
  type PushArtifactOptions,
  type PullArtifactOptions,
  type AttachOptions,
  type ListReferrersOptions,
} from './ops/artifact.js';
export {
  createIndex,
  addToIndex,
  removeFromIndex,
  NothingMatchedError,
  DuplicateManifestError,
  type PlatformLike,
  type CreateIndexOptions,
  type AddToIndexOptions,
  type RemoveFromIndexOptions,
} from './ops/index-ops.js';
export { inspect, type InspectResult, type InspectConfig, type InspectPlatform, type InspectOptions } from './ops/inspect.js';
export { tag, InvalidTagError, type TagOptions } from './ops/tag.js';
export { tagHistory, rollbackTag, repositoryUsage, registryUsage, type TagHistoryEntry, type RepositoryUsageInfo, type RegistryUsageInfo, type HistoryOptions } from './ops/history.js';
export { emptyDescriptor, InvalidContentError, jsonBytes, manifestOf, describeBytes, hashFile } from './ops/build.js';
export { RegistryStore, registryHost, type RegistryStoreOptions } from './remote-store.js';
export { openLocation, parseLocation, registryClients, InvalidLocationError, type Location, type ParsedLocation, type OpenLocationOptions } from './locations.js';
export { copy, copyManifest, pickPlatform, type CopyOptions, type CopyResult } from './ops/copy.js';
export { parsePlatform, formatPlatform, normalizePlatform, matchesPlatform, selectPlatform, filterPlatforms, PlatformNotFoundError, type PlatformSpec } from './ops/platform.js';
export { mirror, parseMirrorConfig, MirrorConfigError, type MirrorConfig, type MirrorEntry, type MirrorOptions, type MirrorSummary, type MirrorImageResult } from './ops/mirror.js';
export type { TransferEvent, OnEvent } from './ops/events.js';
export { login, logout, loginAuthFile, authKeyFor, type LoginOptions, type LoginResult, type LogoutResult } from './login.js';
