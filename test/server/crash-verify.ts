// Checks a restarted server against the ledger: acknowledged blobs intact byte for byte, acknowledged
// manifests exact, tags at their last acknowledged value (old or new for an operation cut by the kill),
// acknowledged deletes still deleted, and no partial blob visible. Each entity is then pinned to what
// the server showed. Returns the problems found (empty when all is well).
import { Ledger, manifestKey, type BlobInfo, type ManifestInfo, type Presence, type TagInfo, type TagValue } from './crash-ledger.js';
import { PushClient, errorCodes, header, type RawResponse } from './push-client.js';
import { sha256Digest } from './random-data.js';

interface Fact<I, V> {
  info: I;
  allowed: V[];
  fresh: boolean;
}

type Observation<V> = { value: V } | { problem: string };

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

function shown(res: RawResponse): string {
  return `${res.request} -> ${res.status} ${res.body.toString('utf8').slice(0, 200)}`;
}

function isNotFound(res: RawResponse, codes: string[]): boolean {
  return res.status === 404 && (res.request.startsWith('HEAD') || errorCodes(res).some((c) => codes.includes(c)));
}

/** GET the blob and hash it: present only with exactly the right bytes; HEAD must agree on the size. */
async function observeBlobFully(client: PushClient, blob: BlobInfo): Promise<Observation<Presence>> {
  const res = await client.getBlob(blob.repo, blob.digest);
  if (isNotFound(res, ['BLOB_UNKNOWN'])) return { value: 'absent' };
  if (res.status !== 200) return { problem: `blob ${blob.digest} (${blob.size} bytes): ${shown(res)}` };
  const digest = sha256Digest(res.body);
  if (res.body.length !== blob.size || digest !== blob.digest) {
    return { problem: `blob ${blob.digest}: GET returned ${res.body.length} bytes with digest ${digest}, expected ${blob.size} bytes (partial or wrong body)` };
  }
  const head = await observeBlobHead(client, blob);
  return 'problem' in head || head.value === 'present' ? head : { problem: `blob ${blob.digest}: GET answered 200 but HEAD answered 404` };
}

/** HEAD the blob: present only with the right Content-Length. */
async function observeBlobHead(client: PushClient, blob: BlobInfo): Promise<Observation<Presence>> {
  const res = await client.headBlob(blob.repo, blob.digest);
  if (res.status === 404) return { value: 'absent' };
  if (res.status !== 200) return { problem: `blob ${blob.digest}: ${shown(res)}` };
  const length = Number(header(res, 'content-length'));
  if (length !== blob.size) return { problem: `blob ${blob.digest}: HEAD Content-Length ${header(res, 'content-length')}, expected ${blob.size}` };
  return { value: 'present' };
}

async function observeManifest(client: PushClient, manifest: ManifestInfo): Promise<Observation<Presence>> {
  const res = await client.getManifest(manifest.repo, manifest.digest);
  if (isNotFound(res, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN'])) return { value: 'absent' };
  if (res.status !== 200) return { problem: `manifest ${manifest.digest}: ${shown(res)}` };
  if (!res.body.equals(manifest.bytes)) return { problem: `manifest ${manifest.digest}: GET returned different bytes (${res.body.length} vs ${manifest.bytes.length})` };
  return { value: 'present' };
}

async function observeTag(client: PushClient, ledger: Ledger, tag: TagInfo): Promise<Observation<TagValue>> {
  const res = await client.getManifest(tag.repo, tag.tag);
  if (isNotFound(res, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN'])) return { value: null };
  if (res.status !== 200) return { problem: `tag ${tag.repo}:${tag.tag}: ${shown(res)}` };
  const digest = sha256Digest(res.body);
  if (!ledger.manifests.has(manifestKey(tag.repo, digest))) return { problem: `tag ${tag.repo}:${tag.tag}: GET returned a manifest never pushed (${digest}, ${res.body.length} bytes)` };
  const claimed = header(res, 'docker-content-digest');
  if (claimed !== undefined && claimed !== digest) return { problem: `tag ${tag.repo}:${tag.tag}: Docker-Content-Digest ${claimed} but body digest ${digest}` };
  return { value: digest };
}

/** Compares an observation with the allowed values and pins the fact to it. */
function judge<I, V>(what: string, fact: Fact<I, V>, observed: Observation<V>, problems: string[]): void {
  if ('problem' in observed) {
    problems.push(observed.problem);
    return;
  }
  if (!fact.allowed.includes(observed.value)) {
    problems.push(`${what}: server shows ${String(observed.value)}, allowed ${fact.allowed.map(String).join(' or ')}`);
    return;
  }
  fact.allowed = [observed.value];
}

async function verifyBlobs(client: PushClient, ledger: Ledger, full: boolean, problems: string[]): Promise<void> {
  await mapLimit([...ledger.blobs.values()], 8, async (fact) => {
    const thorough = full || fact.fresh || fact.allowed.length > 1;
    const observed = thorough ? await observeBlobFully(client, fact.info) : await observeBlobHead(client, fact.info);
    judge(`blob ${fact.info.repo}@${fact.info.digest}`, fact, observed, problems);
  });
}

async function verifyManifests(client: PushClient, ledger: Ledger, problems: string[]): Promise<void> {
  await mapLimit([...ledger.manifests.values()], 8, async (fact) => {
    judge(`manifest ${fact.info.repo}@${fact.info.digest}`, fact, await observeManifest(client, fact.info), problems);
  });
}

async function verifyTags(client: PushClient, ledger: Ledger, problems: string[]): Promise<void> {
  await mapLimit([...ledger.tags.values()], 8, async (fact) => {
    const observed = await observeTag(client, ledger, fact.info);
    judge(`tag ${fact.info.repo}:${fact.info.tag}`, fact, observed, problems);
    if ('value' in observed && observed.value !== null) {
      const target = ledger.manifests.get(manifestKey(fact.info.repo, observed.value));
      if (target && target.allowed.length === 1 && target.allowed[0] === 'absent') {
        problems.push(`tag ${fact.info.repo}:${fact.info.tag} resolves to ${observed.value}, but that manifest answers 404 by digest`);
      }
    }
  });
}

async function listedTags(client: PushClient, repo: string): Promise<string[] | string> {
  const res = await client.listTags(repo);
  if (isNotFound(res, ['NAME_UNKNOWN'])) return [];
  if (res.status !== 200) return `tags/list of ${repo}: ${shown(res)}`;
  const body = JSON.parse(res.body.toString('utf8')) as { tags?: string[] | null };
  return body.tags ?? [];
}

/** tags/list must list exactly the tags that resolve. */
async function verifyTagLists(client: PushClient, ledger: Ledger, problems: string[]): Promise<void> {
  const repos = [...new Set([...ledger.tags.values()].map((f) => f.info.repo))];
  for (const repo of repos) {
    const listed = await listedTags(client, repo);
    if (typeof listed === 'string') {
      problems.push(listed);
      continue;
    }
    const expected = [...ledger.tags.values()].filter((f) => f.info.repo === repo && f.allowed.length === 1 && f.allowed[0] !== null).map((f) => f.info.tag);
    const missing = expected.filter((t) => !listed.includes(t));
    const extra = listed.filter((t) => !expected.includes(t));
    if (missing.length || extra.length) problems.push(`tags/list of ${repo}: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}] (listed [${listed.join(', ')}])`);
  }
}

/** Verifies everything in the ledger. `full` GETs every blob; otherwise unchanged blobs get a HEAD. */
export async function verifyLedger(client: PushClient, ledger: Ledger, full: boolean): Promise<string[]> {
  const problems: string[] = [];
  await verifyBlobs(client, ledger, full, problems);
  await verifyManifests(client, ledger, problems);
  await verifyTags(client, ledger, problems);
  if (problems.length === 0) await verifyTagLists(client, ledger, problems);
  if (problems.length === 0) ledger.markAllVerified();
  return problems;
}
