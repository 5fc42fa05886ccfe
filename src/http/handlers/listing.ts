// GET /v2/, /v2/_catalog, /v2/<name>/tags/list, /v2/<name>/referrers/<digest>
import type { Ctx } from '../context.js';
import { reply, replyJSON } from '../context.js';
import { pageSize } from '../request.js';
import type { PageRequest, PageResult } from '../../registry/listing.js';
import { MediaType } from '../../oci/media-types.js';

function pageRequest(ctx: Ctx): PageRequest {
  const req: PageRequest = {};
  const n = pageSize(ctx.query.get('n'));
  if (n !== undefined) req.n = n;
  const last = ctx.query.get('last');
  if (last !== null && last !== '') req.last = last;
  return req;
}

/** RFC 5988 Link to the next page, keeping the page size the client asked for. */
function linkHeader(path: string, req: PageRequest, result: PageResult<string>): Record<string, string> {
  if (result.next === undefined) return {};
  const q = new URLSearchParams();
  q.set('n', String(req.n ?? result.items.length));
  q.set('last', result.next);
  return { Link: `<${path}?${q.toString()}>; rel="next"` };
}

export async function base(ctx: Ctx): Promise<void> {
  replyJSON(ctx, 200, {}, {});
}

export async function catalog(ctx: Ctx): Promise<void> {
  const req = pageRequest(ctx);
  const result = await ctx.registry.listing.catalog(req);
  replyJSON(ctx, 200, linkHeader('/v2/_catalog', req, result), { repositories: result.items });
}

export async function tags(ctx: Ctx): Promise<void> {
  const req = pageRequest(ctx);
  const result = await ctx.registry.listing.tags(ctx.name, req);
  replyJSON(ctx, 200, linkHeader(`/v2/${ctx.name}/tags/list`, req, result), { name: ctx.name, tags: result.items });
}

export async function referrers(ctx: Ctx): Promise<void> {
  const artifactType = ctx.query.get('artifactType') ?? undefined;
  const index = await ctx.registry.listing.referrers(ctx.name, ctx.reference, artifactType);
  const headers: Record<string, string> = { 'Content-Type': MediaType.ociIndex };
  if (artifactType !== undefined) headers['OCI-Filters-Applied'] = 'artifactType';
  reply(ctx, 200, headers, JSON.stringify(index));
}
