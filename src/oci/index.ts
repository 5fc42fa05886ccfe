// Pure OCI building blocks: no I/O, no server code. Importable as `wharf/oci`.
export * from './errors.js';
export * from './digest.js';
export * from './reference.js';
export * from './media-types.js';
export * from './manifest.js';
export * from './routes.js';
