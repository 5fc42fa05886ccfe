// Image references: `[host[:port]/]name[:tag][@digest]`, with Docker's defaults: a first component that is
// not a host (no `.`, no `:`, not `localhost`, no upper case) means Docker Hub, and a one-component name on
// Docker Hub gets the `library/` prefix. The registry's HTTP API for docker.io lives on registry-1.docker.io.
import { isDigest, isValidName, isValidTag, maxNameLength } from '../oci/index.js';
import { InvalidReferenceError } from './errors.js';

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** The key Docker uses for Docker Hub in config.json `auths` and for credential helpers. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export interface ImageReference {
  /** The registry as named: `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`. Lower case. */
  registry: string;
  /** The repository inside the registry: `library/alpine`, `demo/app`. */
  repository: string;
  tag?: string;
  digest?: string;
}

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainGrammar = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:.%]+\\])(?::[0-9]+)?$`);

/** Whether the first path component names a host rather than a Docker Hub namespace. */
function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component !== component.toLowerCase();
}

export interface ParseReferenceOptions {
  /** Registry for references without a host. Default docker.io (with its `library/` rule). */
  defaultRegistry?: string;
}

/** Parses an image reference; throws InvalidReferenceError saying what is wrong. */
export function parseReference(input: string, opts: ParseReferenceOptions = {}): ImageReference {
  if (input.length === 0) throw new InvalidReferenceError(input, 'empty');
  if (/\s/.test(input)) throw new InvalidReferenceError(input, 'contains white space');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw new InvalidReferenceError(input, `digest ${JSON.stringify(digest)} is not a valid sha256 or sha512 digest`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new InvalidReferenceError(input, `tag ${JSON.stringify(tag)} must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
  let registry: string;
  let repository: string;
  const slash = rest.indexOf('/');
  if (slash >= 0 && looksLikeHost(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!domainGrammar.test(registry)) throw new InvalidReferenceError(input, `${JSON.stringify(registry)} is not a valid registry host[:port]`);
    registry = registry.toLowerCase();
  } else {
    registry = (opts.defaultRegistry ?? DOCKER_HUB).toLowerCase();
    repository = rest;
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/') && repository !== '') repository = `library/${repository}`;
  if (repository === '') throw new InvalidReferenceError(input, 'no repository name');
  if (repository !== repository.toLowerCase()) throw new InvalidReferenceError(input, 'repository name must be lower case');
  if (!isValidName(repository)) {
    const why =
      repository.length > maxNameLength
        ? `repository name longer than ${maxNameLength} characters`
        : `repository name ${JSON.stringify(repository)} must be components of [a-z0-9]+((.|_|__|-+)[a-z0-9]+)* separated by /`;
    throw new InvalidReferenceError(input, why);
  }
  if (registry.length + 1 + repository.length > maxNameLength) {
    throw new InvalidReferenceError(input, `registry and repository together are longer than ${maxNameLength} characters`);
  }
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `registry/repository[:tag][@digest]`, always with the registry. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** What to ask the manifest endpoint for: the digest if there is one, else the tag, else `latest`. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The host that serves the registry's HTTP API: registry-1.docker.io for Docker Hub, else the registry itself. */
export function registryApiHost(registry: string): string {
  const r = registry.toLowerCase();
  return r === DOCKER_HUB || r === 'index.docker.io' ? DOCKER_HUB_API_HOST : r;
}

/** Splits `host[:port]` (IPv6 in brackets). The hostname comes back without brackets. */
export function splitHostPort(hostPort: string): { hostname: string; port: number | undefined } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  if (m) return { hostname: m[1]!, port: m[2] !== undefined ? Number(m[2]) : undefined };
  const i = hostPort.lastIndexOf(':');
  if (i >= 0 && hostPort.indexOf(':') === i && /^\d+$/.test(hostPort.slice(i + 1))) {
    return { hostname: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
  }
  return { hostname: hostPort, port: undefined };
}

/** localhost, *.localhost, 127.0.0.0/8 and ::1 (with or without a port). */
export function isLoopbackHost(hostPort: string): boolean {
  const h = splitHostPort(hostPort).hostname.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return h === '::1' || h === '0:0:0:0:0:0:0:1' || h === '::ffff:127.0.0.1';
}
