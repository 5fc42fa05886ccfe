// Where a copy reads from or writes to, as the user writes it (skopeo's syntax):
//   oci:DIR[:REF]                 an OCI image layout directory (REF: a ref name or a digest)
//   oci-archive:FILE[:REF]        the same as a tar file
//   [docker://]HOST/REPO[:TAG][@DIGEST]   a repository of a registry
// parseLocation is pure; openLocation opens the store (layouts are created when they are a sink, archives
// are opened for writing when they are a sink and for reading when a source).
import { isDigest } from '../oci/index.js';
import { openArchive, type OciArchiveStore } from './layout-archive.js';
import { openLayout, type OciLayoutStore } from './layout.js';
import { ClientError } from './errors.js';
import { parseReference } from './reference.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { RegistryStore } from './remote-store.js';

export type Location =
  | { kind: 'registry'; store: RegistryStore; reference: string | undefined }
  | { kind: 'layout'; store: OciLayoutStore; reference: string | undefined }
  | { kind: 'archive'; store: OciArchiveStore; reference: string | undefined };

/** A location spec taken apart, before anything is opened. */
export type ParsedLocation =
  | {
      kind: 'registry';
      registry: string;
      repository: string;
      tag: string | undefined;
      digest: string | undefined;
      /** The digest when there is one (it wins over the tag, as in Docker), else the tag, else undefined. */
      reference: string | undefined;
    }
  | { kind: 'layout' | 'archive'; path: string; reference: string | undefined };

export class InvalidLocationError extends ClientError {
  readonly input: string;
  constructor(input: string, why: string) {
    super(`invalid location ${JSON.stringify(input)}: ${why} (use oci:DIR[:REF], oci-archive:FILE[:REF] or HOST/REPO[:TAG|@DIGEST])`);
    this.input = input;
  }
}

/** Splits `PATH[:REF]` at the first colon, as skopeo does (a path cannot contain `:`; a REF may, when a digest). */
function splitPathRef(input: string, rest: string): { path: string; reference: string | undefined } {
  const colon = rest.indexOf(':');
  const path = colon >= 0 ? rest.slice(0, colon) : rest;
  const ref = colon >= 0 ? rest.slice(colon + 1) : '';
  if (path === '') throw new InvalidLocationError(input, 'no path');
  if (ref.includes(':') && !isDigest(ref)) throw new InvalidLocationError(input, `${JSON.stringify(ref)} is neither a ref name nor a digest`);
  return { path, reference: ref === '' ? undefined : ref };
}

/** Parses a location spec without touching anything. Throws InvalidLocationError or InvalidReferenceError. */
export function parseLocation(spec: string): ParsedLocation {
  const input = spec.trim();
  if (input === '') throw new InvalidLocationError(spec, 'empty');
  if (input.startsWith('oci:')) return { kind: 'layout', ...splitPathRef(spec, input.slice('oci:'.length)) };
  if (input.startsWith('oci-archive:')) return { kind: 'archive', ...splitPathRef(spec, input.slice('oci-archive:'.length)) };
  const ref = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  const transport = /^(dir|docker-archive|docker-daemon|containers-storage|ostree|sif|tarball):/.exec(input);
  if (transport) throw new InvalidLocationError(spec, `the ${transport[1]}: transport is not supported`);
  const parsed = parseReference(ref);
  return {
    kind: 'registry',
    registry: parsed.registry,
    repository: parsed.repository,
    tag: parsed.tag,
    digest: parsed.digest,
    reference: parsed.digest ?? parsed.tag,
  };
}

export interface OpenLocationOptions {
  role: 'source' | 'sink';
  /** Options for a new RegistryClient (when `clientFor` is not given). */
  client?: RegistryClientOptions;
  /** Gives the client of a registry; lets every location of one registry share a Transport. */
  clientFor?: (registry: string) => RegistryClient;
}

/**
 * Opens the store a spec names. A registry source without a tag or digest reads `latest` (Docker's default);
 * a sink without one leaves `reference` undefined (copy then keeps the source's tag). A layout sink is
 * created when missing; an archive sink is written from scratch (call `store.close()` to write the file).
 */
export async function openLocation(spec: string, opts: OpenLocationOptions): Promise<Location> {
  const parsed = parseLocation(spec);
  switch (parsed.kind) {
    case 'layout':
      return { kind: 'layout', store: await openLayout(parsed.path, { create: opts.role === 'sink' }), reference: parsed.reference };
    case 'archive':
      return { kind: 'archive', store: await openArchive(parsed.path, { mode: opts.role === 'sink' ? 'write' : 'read' }), reference: parsed.reference };
    case 'registry': {
      const client = opts.clientFor ? opts.clientFor(parsed.registry) : new RegistryClient(parsed.registry, opts.client ?? {});
      const reference = parsed.reference ?? (opts.role === 'source' ? 'latest' : undefined);
      return { kind: 'registry', store: new RegistryStore(client, parsed.repository), reference };
    }
  }
}

/**
 * One RegistryClient per registry, all sharing one Transport (connections, tokens, the concurrency bound):
 * pass `clientFor` to openLocation and mirror, and `close()` when done.
 */
export function registryClients(options: RegistryClientOptions = {}): { clientFor: (registry: string) => RegistryClient; close: () => Promise<void> } {
  const clients = new Map<string, RegistryClient>();
  let shared: RegistryClient | undefined;
  return {
    clientFor(registry: string): RegistryClient {
      let c = clients.get(registry);
      if (!c) {
        c = shared ? new RegistryClient(registry, { ...options, transport: shared.transport }) : new RegistryClient(registry, options);
        shared ??= c;
        clients.set(registry, c);
      }
      return c;
    },
    async close(): Promise<void> {
      await shared?.close();
    },
  };
}
