// Wharf's own endpoints (docs/http-api.md, "Wharf extensions"), routed by the endpoint table like the rest:
//   GET  /v2/<name>/_wharf/tags/<tag>/history    the tag's moves, newest first (n/last pagination, Link)
//   POST /v2/<name>/_wharf/tags/<tag>/rollback   {"digest": "…"}: point the tag back at that manifest
//   GET  /v2/<name>/_wharf/usage                 storage the repository uses, and its quota
//   GET  /v2/_wharf/usage                        every repository's usage and the registry's totals (admins)
import type { Ctx } from '../context.js';
import { replyJSON } from '../context.js';
import { pageSize, readBody } from '../request.js';
import { RegistryError } from '../../oci/errors.js';
import type { PageRequest } from '../../registry/listing.js';
import { maxPageSize } from '../../registry/listing.js';

const bodyLimit = 64 * 1024;
const noStore = { 'Cache-Control': 'no-store' };

function pageRequest(ctx: Ctx): PageRequest {
  const req: PageRequest = {};
  const n = pageSize(ctx.query.get('n'));
  if (n !== undefined) req.n = n;
  const last = ctx.query.get('last');
  if (last !== null && last !== '') req.last = last;
  return req;
}

function link(path: string, n: number, next: string | undefined): Record<string, string> {
  if (next === undefined) return {};
  const q = new URLSearchParams({ n: String(n), last: next });
  return { Link: `<${path}?${q.toString()}>; rel="next"` };
}

export async function tagHistory(ctx: Ctx): Promise<void> {
  const req = pageRequest(ctx);
  const page = await ctx.registry.history.list(ctx.name, ctx.reference, req);
  const path = `/v2/${ctx.name}/_wharf/tags/${ctx.reference}/history`;
  replyJSON(ctx, 200, { ...noStore, ...link(path, req.n ?? page.entries.length, page.next) }, { name: ctx.name, tag: ctx.reference, history: page.entries });
}

export async function tagRollback(ctx: Ctx): Promise<void> {
  const raw = await readBody(ctx.req, bodyLimit, () => new RegistryError('SIZE_INVALID', `rollback requests are limited to ${bodyLimit} bytes`, { status: 413 }));
  let digest: unknown;
  try {
    digest = (JSON.parse(raw.toString('utf8')) as { digest?: unknown }).digest;
  } catch {
    digest = undefined;
  }
  if (typeof digest !== 'string') throw new RegistryError('DIGEST_INVALID', 'expected a JSON body {"digest": "sha256:…"} naming the manifest to roll the tag back to');
  const result = await ctx.registry.history.rollback(ctx.name, ctx.reference, digest, ctx.user);
  replyJSON(ctx, 200, noStore, { name: ctx.name, tag: ctx.reference, ...result });
}

async function usageOf(ctx: Ctx, repo: string) {
  const usage = await ctx.registry.metadata.repositoryUsage(repo);
  if (!usage) return undefined;
  const rule = ctx.registry.policies.quotaFor(repo);
  return rule ? { ...usage, quota: { maxBytes: rule.maxBytes, repositories: rule.repositories } } : usage;
}

export async function usage(ctx: Ctx): Promise<void> {
  const found = await usageOf(ctx, ctx.name);
  if (!found) throw new RegistryError('NAME_UNKNOWN', `repository ${ctx.name} is not known to this registry`);
  replyJSON(ctx, 200, noStore, found);
}

export async function usageAll(ctx: Ctx): Promise<void> {
  const req = pageRequest(ctx);
  const limit = Math.min(req.n ?? 1000, maxPageSize);
  const names = limit === 0 ? [] : await ctx.registry.metadata.listRepositories({ limit: limit + 1, ...(req.last !== undefined && { last: req.last }) });
  const shown = names.slice(0, limit);
  const repositories = [];
  for (const name of shown) {
    const u = await usageOf(ctx, name);
    if (u) repositories.push(u);
  }
  const total = await ctx.registry.metadata.totalUsage();
  const next = names.length > limit ? shown[shown.length - 1] : undefined;
  replyJSON(ctx, 200, { ...noStore, ...link('/v2/_wharf/usage', limit, next) }, {
    repositories,
    total: { ...total, uniqueBytes: total.blobBytes + total.manifestBytes },
  });
}
