// Shared pieces of the client verbs (`wharf tags`, `wharf rm`, …): the common options, reference parsing,
// client construction (credentials from the docker/podman auth files), output helpers and the mapping of
// errors to a message on stderr and an exit code (0 ok, 1 failed, 2 usage).
import { Command, Option } from 'commander';
// Errors and references are light; the client itself (undici, credentials, TLS) is loaded when a verb first
// needs one, so `--help` and usage errors answer quickly.
import type { RegistryClient } from '../client/index.js';
import { parseReference, formatReference, type ImageReference } from '../client/reference.js';
import {
  ClientError,
  RegistryClientError,
  NotFoundError,
  UnauthorizedError,
  DeniedError,
  TokenError,
  InsecureRegistryError,
  InvalidReferenceError,
  DigestMismatchError,
  CredentialsError,
  ContentNotFoundError,
} from '../client/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The options every client verb takes. */
export interface CommonOptions {
  insecure?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** Bad input from the user: exit 2. */
export class UsageError extends Error {}

/** A failure the verb has already described in full (no registry error behind it): exit 1. */
export class FailedError extends Error {}

/**
 * A new verb. Commander does not pass `exitOverride` and output settings to commands added with
 * `addCommand`, so each verb sets them itself: usage errors then reach main(), which exits 2.
 */
export function verb(name: string, description: string, opts: { json?: boolean; fullName?: string; examples: string[] }): Command {
  const cmd = new Command(name)
    .description(description)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(`(run 'wharf ${opts.fullName ?? name} --help' for usage and examples)`)
    .addOption(new Option('--insecure', 'allow plain http (and unverified TLS) to a non-loopback registry'))
    .addOption(new Option('-q, --quiet', 'print nothing but the requested data and errors'));
  if (opts.json) cmd.addOption(new Option('--json', 'print JSON instead of lines'));
  cmd.addHelpText('after', `\nExamples:\n${opts.examples.map((e) => `  ${e}`).join('\n')}\n`);
  return cmd;
}

/** A group of verbs (`wharf manifest get|delete`), with the same exit and output settings. */
export function group(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/** Parses `HOST/REPO[:TAG][@DIGEST]`; a malformed reference is a usage error. */
export function parseRef(input: string, want: { tag?: 'forbidden' | 'allowed'; digest?: 'required' | 'forbidden' | 'allowed'; tagOrDigest?: boolean } = {}): ImageReference {
  let ref: ImageReference;
  try {
    ref = parseReference(input);
  } catch (e) {
    if (e instanceof InvalidReferenceError) throw new UsageError(e.message);
    throw e;
  }
  if (want.tag === 'forbidden' && ref.tag !== undefined) throw new UsageError(`${JSON.stringify(input)} has a tag; give HOST/REPO${want.digest === 'required' ? '@DIGEST' : ''}`);
  if (want.digest === 'forbidden' && ref.digest !== undefined) throw new UsageError(`${JSON.stringify(input)} has a digest; give HOST/REPO`);
  if (want.digest === 'required' && ref.digest === undefined) throw new UsageError(`${JSON.stringify(input)} has no digest; give HOST/REPO@sha256:…`);
  if (want.tagOrDigest && ref.tag === undefined && ref.digest === undefined) {
    throw new UsageError(`${JSON.stringify(input)} names no tag or digest; give HOST/REPO:TAG or HOST/REPO@DIGEST`);
  }
  return ref;
}

/** Checks a registry argument (`host[:port]`, `docker.io`, or `http(s)://host[:port]`). */
export function parseHost(input: string): string {
  const bare = input.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  let registry: string | undefined;
  try {
    registry = parseReference(`${bare}/x`).registry;
  } catch {
    registry = undefined;
  }
  if (bare === '' || bare.includes('/') || registry === undefined || (registry !== bare.toLowerCase() && !/^(index\.|registry-1\.)?docker\.io$/i.test(bare))) {
    throw new UsageError(`${JSON.stringify(input)} is not a registry host; give HOST[:PORT] (a name with a "." or ":", or localhost)`);
  }
  return input === bare ? registry : input.replace(/\/+$/, '');
}

/** A client for the registry, with the docker/podman credentials and `--insecure` applied. */
export async function clientFor(registry: string, opts: CommonOptions): Promise<RegistryClient> {
  const host = registry.replace(/^https?:\/\//, '');
  const { RegistryClient, dockerCredentials } = await import('../client/index.js');
  return new RegistryClient(registry, { credentials: dockerCredentials(), insecure: opts.insecure ? [host] : [] });
}

/** headManifest answers undefined for "no such manifest" (HEAD has no body to say more): the message for it. */
export function manifestNotFound(ref: ImageReference): FailedError {
  return new FailedError(`manifest ${shownRef(ref)} not found (404); try 'wharf tags ${ref.registry}/${ref.repository}'`);
}

export function printLines(lines: string[]): void {
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** A short note for the user (on stderr, so stdout stays data); nothing with --quiet. */
export function info(opts: CommonOptions, message: string): void {
  if (!opts.quiet) process.stderr.write(message + '\n');
}

/** What a verb was working on, for error messages. */
export interface Subject {
  ref?: ImageReference;
  registry?: string;
  /** What the verb was about: `manifest`, `blob`, `repository`, `catalog`. */
  kind: 'manifest' | 'blob' | 'repository' | 'catalog';
  /** A DELETE by tag, which some registries refuse (Distribution 2.8 answers 400 DIGEST_INVALID). */
  deleteByTag?: boolean;
}

/** The reference as the verb used it: with `:latest` when it named no tag or digest. */
export function shownRef(ref: ImageReference): string {
  return ref.tag === undefined && ref.digest === undefined ? `${formatReference(ref)}:latest` : formatReference(ref);
}

function repoName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The message and exit code for an error raised while a verb ran. */
export function describeError(e: unknown, subject: Subject): { message: string; code: number } {
  const registry = subject.ref?.registry ?? subject.registry ?? 'the registry';
  if (e instanceof UsageError) return { message: e.message, code: EXIT_USAGE };
  if (e instanceof FailedError) return { message: e.message, code: EXIT_FAILED };
  if (e instanceof InvalidReferenceError) return { message: e.message, code: EXIT_USAGE };
  if (e instanceof NotFoundError) {
    const tag = `(404${e.code ? ` ${e.code}` : ''})`;
    const ref = subject.ref;
    if (ref && (e.code === 'NAME_UNKNOWN' || subject.kind === 'repository')) {
      return { message: `repository ${repoName(ref)} not found ${tag}; try 'wharf catalog ${ref.registry}'`, code: EXIT_FAILED };
    }
    if (ref && subject.kind === 'blob') return { message: `blob ${formatReference(ref)} not found ${tag}`, code: EXIT_FAILED };
    if (ref && subject.kind === 'manifest') {
      return { message: `manifest ${shownRef(ref)} not found ${tag}; try 'wharf tags ${repoName(ref)}'`, code: EXIT_FAILED };
    }
    return { message: `not found on ${registry} ${tag}: ${e.message}`, code: EXIT_FAILED };
  }
  if (e instanceof UnauthorizedError || e instanceof TokenError) {
    const host = hostOfError(e) ?? registry;
    return { message: `${host} refused the credentials or asked for some ${statusOf(e)}; try 'wharf login ${host}'`, code: EXIT_FAILED };
  }
  if (e instanceof DeniedError) {
    // The registry's own reason when it gives one (an immutable tag, a storage quota, a policy), else the usual cause.
    const reason = e.errors[0]?.message ? e.errors[0].message : 'the credentials do not allow this';
    return { message: `${hostOfError(e) ?? registry} denied access ${statusOf(e)}: ${reason}`, code: EXIT_FAILED };
  }
  if (e instanceof ContentNotFoundError) return { message: `${e.message}; check the name, or list what is there with 'ls' or 'wharf tags'`, code: EXIT_FAILED };
  if (e instanceof InsecureRegistryError) {
    return { message: `${e.message}; add --insecure to allow plain http to ${e.host}`, code: EXIT_FAILED };
  }
  if (e instanceof RegistryClientError) {
    const ref = subject.ref;
    const hint =
      subject.deleteByTag && ref && (e.status === 400 || e.status === 405 || e.code === 'UNSUPPORTED')
        ? `; this registry does not delete tags: try 'wharf rm ${formatReference(ref)}', which deletes the manifest by digest`
        : e.status === 405 || e.code === 'UNSUPPORTED'
          ? '; the registry does not allow this operation (deletes may be disabled)'
          : '';
    return { message: `${e.message}${hint}`, code: EXIT_FAILED };
  }
  if (e instanceof DigestMismatchError || e instanceof CredentialsError || e instanceof ClientError) return { message: e.message, code: EXIT_FAILED };
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const sys = err?.code ?? err?.cause?.code;
  if (sys === 'ECONNREFUSED' || sys === 'ENOTFOUND' || sys === 'EAI_AGAIN' || sys === 'ECONNRESET' || sys === 'ETIMEDOUT' || sys === 'UND_ERR_CONNECT_TIMEOUT') {
    return { message: `cannot reach ${registry} (${sys}); check the host and port, and that the registry is running`, code: EXIT_FAILED };
  }
  return { message: err?.message ?? String(e), code: EXIT_FAILED };
}

/** The registry a failed request went to (so a copy between two registries names the right one). */
function hostOfError(e: ClientError): string | undefined {
  if (!(e instanceof RegistryClientError)) return undefined;
  try {
    return new URL(e.url).host;
  } catch {
    return undefined;
  }
}

function statusOf(e: ClientError): string {
  if (e instanceof RegistryClientError) return `(${e.status}${e.code ? ` ${e.code}` : ''})`;
  if (e instanceof TokenError) return `(token endpoint${e.status !== undefined ? ` ${e.status}` : ''})`;
  return '';
}

/** `os/arch[/variant]` from the command line; a malformed one is a usage error. */
export async function parsePlatformArg(input: string): Promise<import('../client/ops/platform.js').PlatformSpec> {
  const { parsePlatform } = await import('../client/ops/platform.js');
  try {
    return parsePlatform(input);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A positive whole number option (`--concurrency 4`); anything else is a usage error. */
export function parseCount(input: string | undefined, option: string, max = 64): number | undefined {
  if (input === undefined) return undefined;
  const n = Number(input);
  if (!/^\d+$/.test(input) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`${option} ${JSON.stringify(input)}: give a whole number from 1 to ${max}`);
  return n;
}

/** `key=value` options (`--annotation k=v`, repeatable) as a record; a missing `=` is a usage error. */
export function parseKeyValues(pairs: string[] | undefined, option: string): Record<string, string> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`${option} ${JSON.stringify(p)}: give KEY=VALUE`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/**
 * A manifest named next to a store (`wharf index create HOST/REPO:multi HOST/REPO:amd64 arm64 sha256:…`):
 * a bare tag or digest, or a full reference that must be in the same repository; gives the tag or digest.
 */
export function sameRepositoryRef(input: string, storeSpec: string): string {
  if (/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(input) && !input.includes('/')) return input;
  if (/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(input)) return input;
  if (storeSpec.startsWith('oci:')) {
    const dir = storeSpec.slice(4).split(':')[0];
    const m = input.startsWith(`oci:${dir}:`) ? input.slice(`oci:${dir}:`.length) : undefined;
    if (m) return m;
    throw new UsageError(`${JSON.stringify(input)}: give a tag or digest of oci:${dir}`);
  }
  const ref = parseRef(input);
  const store = parseRef(storeSpec);
  if (ref.registry !== store.registry || ref.repository !== store.repository) {
    throw new UsageError(`${JSON.stringify(input)} is not in ${store.registry}/${store.repository}: an index can only name manifests of its own repository (copy them there first with 'wharf cp')`);
  }
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** What a running verb knows: what it works on (for error messages) and the clients to close. */
export class VerbContext {
  subject: Subject = { kind: 'repository' };
  private readonly clients: RegistryClient[] = [];
  private readonly byRegistry = new Map<string, RegistryClient>();
  constructor(readonly opts: CommonOptions) {}

  /** A client for the registry (closed when the verb ends). */
  async client(registry: string): Promise<RegistryClient> {
    const c = await clientFor(registry, this.opts);
    this.clients.push(c);
    return c;
  }

  /**
   * Opens a location (`HOST/REPO[:TAG|@DIGEST]`, `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`) with this verb's
   * clients (one per registry, with the docker/podman credentials and --insecure). A malformed spec is a
   * usage error. A sink is not closed here: the verb closes it once everything is in it.
   */
  async open(spec: string, role: 'source' | 'sink'): Promise<import('../client/locations.js').Location> {
    const { openLocation, parseLocation } = await import('../client/locations.js');
    let parsed;
    try {
      parsed = parseLocation(spec);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (parsed.kind === 'registry' && this.subject.ref === undefined) {
      const ref: ImageReference = { registry: parsed.registry, repository: parsed.repository };
      if (parsed.tag !== undefined) ref.tag = parsed.tag;
      if (parsed.digest !== undefined) ref.digest = parsed.digest;
      this.subject = { kind: 'manifest', ref };
    }
    return openLocation(spec, { role, clientFor: await this.clientFactory() });
  }

  /**
   * Opens a store to read and write in place (tag, attach, index): a repository (`HOST/REPO[:TAG|@DIGEST]`)
   * or an existing layout (`oci:DIR[:REF]`). `want: 'tag'` demands a tag (the verb writes it); `'any'` a tag
   * or a digest, `latest` when a registry reference names neither. Call `close()` on the store at the end.
   */
  async openStore(spec: string, want: 'tag' | 'any'): Promise<{ store: import('../client/content.js').ContentStore; reference: string; isTag: boolean }> {
    const { parseLocation } = await import('../client/locations.js');
    let parsed;
    try {
      parsed = parseLocation(spec);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (parsed.kind === 'archive') throw new UsageError(`${JSON.stringify(spec)}: an oci-archive cannot be changed in place; unpack it with 'wharf cp ${spec} oci:DIR' first`);
    const isTag = parsed.reference !== undefined && !(parsed.kind === 'registry' ? parsed.digest !== undefined : parsed.reference.includes(':'));
    if (want === 'tag' && !isTag) throw new UsageError(`${JSON.stringify(spec)} names no tag; give ${parsed.kind === 'registry' ? 'HOST/REPO:TAG' : 'oci:DIR:TAG'}`);
    if (parsed.kind === 'layout' && parsed.reference === undefined) throw new UsageError(`${JSON.stringify(spec)} names no image; give oci:DIR:TAG or oci:DIR:sha256:…`);
    const loc = await this.open(spec, 'source');
    return { store: loc.store, reference: loc.reference ?? 'latest', isTag: isTag || loc.reference === undefined };
  }

  /**
   * A synchronous `registry → client` function for the library (openLocation, mirror): one client per
   * registry, with the docker/podman credentials and --insecure, closed when the verb ends.
   */
  async clientFactory(): Promise<(registry: string) => RegistryClient> {
    const { RegistryClient, dockerCredentials } = await import('../client/index.js');
    const credentials = dockerCredentials();
    return (registry) => {
      let c = this.byRegistry.get(registry);
      if (!c) {
        const host = registry.replace(/^https?:\/\//, '');
        c = new RegistryClient(registry, { credentials, insecure: this.opts.insecure ? [host] : [] });
        this.byRegistry.set(registry, c);
        this.clients.push(c);
      }
      return c;
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
  }
}

/**
 * Runs a verb's body: when it fails, prints what failed on stderr (prefixed `wharf <verb>:`) and sets the
 * exit code (1, or 2 for usage errors); always closes the clients it opened.
 */
export async function runVerb(name: string, opts: CommonOptions, body: (ctx: VerbContext) => Promise<void>): Promise<void> {
  const ctx = new VerbContext(opts);
  try {
    await body(ctx);
  } catch (e) {
    const { message, code } = describeError(e, ctx.subject);
    process.stderr.write(`wharf ${name}: ${message}\n`);
    if (code === EXIT_USAGE) process.stderr.write(`(run 'wharf ${name} --help' for usage and examples)\n`);
    process.exitCode = code;
  } finally {
    await ctx.close();
  }
}
