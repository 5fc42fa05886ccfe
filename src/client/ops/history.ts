// Wharf's lifecycle endpoints as library calls over the API (docs/http-api.md, "Wharf extensions"): a tag's
// history, rolling a tag back, and storage usage. They go through the client transport like every other call
// (auth challenges, tokens for the scope each endpoint needs, retries, TLS); another registry answers 404.
import { isDigest, isValidTag } from '../../oci/index.js';
import type { RegistryClient } from '../registry-client.js';
import { repositoryScope } from '../auth.js';
import { responseError } from '../transport.js';
import { nextLink } from '../registry-client.js';
import { ClientError, ProtocolError } from '../errors.js';
import { InvalidTagError } from './tag.js';

export interface TagHistoryEntry {
  id: number;
  action: 'create' | 'move' | 'delete';
  oldDigest?: string;
  newDigest?: string;
  /** ISO 8601. */
  time: string;
  by?: string;
}

export interface RepositoryUsageInfo {
  repository: string;
  manifests: number;
  tags: number;
  manifestBytes: number;
  logicalBytes: number;
  uniqueBytes: number;
  storedBytes: number;
  quota?: { maxBytes: number; repositories: string[] };
}

export interface RegistryUsageInfo {
  repositories: RepositoryUsageInfo[];
  total: { blobs: number; blobBytes: number; manifests: number; manifestBytes: number; uniqueBytes: number };
}

export interface HistoryOptions {
  signal?: AbortSignal;
  /** Stop after this many entries (default: all). */
  limit?: number;
  /** Entries per request. */
  pageSize?: number;
}

const adminScope = 'registry:admin:*';
const jsonLimit = 64 * 1024 * 1024;
const maxPages = 100_000;

async function getJSON<T>(client: RegistryClient, url: string, scope: string, signal: AbortSignal | undefined): Promise<{ body: T; next: string | undefined }> {
  const res = await client.transport.request('GET', url, { scope, signal, headers: { accept: 'application/json' } });
  if (res.status !== 200) throw await responseError(res, 'GET');
  const body = await res.json<T>(jsonLimit);
  return { body, next: nextLink(res.headers.link, res.url) };
}

function checkTag(tag: string): void {
  if (!isValidTag(tag)) throw new InvalidTagError(tag);
}

/** The moves of a tag, newest first (every page, following Link). */
export async function tagHistory(client: RegistryClient, repository: string, tag: string, opts: HistoryOptions = {}): Promise<TagHistoryEntry[]> {
  checkTag(tag);
  const limit = opts.limit ?? Infinity;
  const first = new URL(`${await client.baseUrl(opts.signal)}/v2/${repository}/_wharf/tags/${tag}/history`);
  if (opts.pageSize !== undefined) first.searchParams.set('n', String(opts.pageSize));
  const out: TagHistoryEntry[] = [];
  let url: string | undefined = first.href;
  for (let pages = 0; url !== undefined && out.length < limit && pages < maxPages; pages++) {
    const page: { body: { history?: unknown }; next: string | undefined } = await getJSON(client, url, repositoryScope(repository, 'pull'), opts.signal);
    if (!Array.isArray(page.body.history)) throw new ProtocolError(`history of ${repository}:${tag}: the answer has no history array`);
    out.push(...(page.body.history as TagHistoryEntry[]));
    url = page.next;
  }
  return out.slice(0, limit);
}

/** Points `tag` back at `digest` (a manifest still in the repository); returns the digest it pointed at before. */
export async function rollbackTag(client: RegistryClient, repository: string, tag: string, digest: string, opts: { signal?: AbortSignal } = {}): Promise<{ digest: string; previous?: string }> {
  checkTag(tag);
  if (!isDigest(digest)) throw new ClientError(`invalid digest ${JSON.stringify(digest.slice(0, 100))}: expected ALGORITHM:HEX, e.g. sha256:…`);
  const url = `${await client.baseUrl(opts.signal)}/v2/${repository}/_wharf/tags/${tag}/rollback`;
  const res = await client.transport.request('POST', url, {
    scope: repositoryScope(repository, 'pull', 'push'),
    signal: opts.signal,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ digest }),
  });
  if (res.status !== 200) throw await responseError(res, 'POST');
  const body = await res.json<{ digest: string; previous?: string }>(jsonLimit);
  return body.previous === undefined ? { digest: body.digest } : { digest: body.digest, previous: body.previous };
}

/** Storage one repository uses (and its quota, if one applies). */
export async function repositoryUsage(client: RegistryClient, repository: string, opts: { signal?: AbortSignal } = {}): Promise<RepositoryUsageInfo> {
  const url = `${await client.baseUrl(opts.signal)}/v2/${repository}/_wharf/usage`;
  return (await getJSON<RepositoryUsageInfo>(client, url, repositoryScope(repository, 'pull'), opts.signal)).body;
}

/** Storage of every repository and the registry's deduplicated totals (needs an admin). */
export async function registryUsage(client: RegistryClient, opts: { signal?: AbortSignal } = {}): Promise<RegistryUsageInfo> {
  let url: string | undefined = `${await client.baseUrl(opts.signal)}/v2/_wharf/usage`;
  const result: RegistryUsageInfo = { repositories: [], total: { blobs: 0, blobBytes: 0, manifests: 0, manifestBytes: 0, uniqueBytes: 0 } };
  for (let pages = 0; url !== undefined && pages < maxPages; pages++) {
    const page: { body: RegistryUsageInfo; next: string | undefined } = await getJSON<RegistryUsageInfo>(client, url, adminScope, opts.signal);
    if (!Array.isArray(page.body.repositories)) throw new ProtocolError('usage: the answer has no repositories array');
    result.repositories.push(...page.body.repositories);
    result.total = page.body.total;
    url = page.next;
  }
  return result;
}
