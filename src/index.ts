// The package's main entry: the server API. The client library is `wharf/client`; pure OCI helpers `wharf/oci`.
export { startRegistry, type RunningRegistry } from './server.js';
export { loadConfig, type Overrides } from './config/load.js';
export type { Config, ResolvedConfig } from './config/schema.js';
export { Registry } from './registry/index.js';
export type { StorageDriver, FileWriter, FileInfo } from './storage/index.js';
export type { MetadataStore } from './metadata/index.js';
export * as oci from './oci/index.js';
