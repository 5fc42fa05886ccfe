// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>
import type { Ctx } from '../context.js';
import { reply } from '../context.js';
import { readBody } from '../request.js';
import { RegistryError } from '../../oci/errors.js';
import { accepts } from '../../oci/media-types.js';
import { tooLarge } from '../../registry/manifests.js';

export async function getManifest(ctx: Ctx): Promise<void> {
  const m = await ctx.registry.manifests.get(ctx.name, ctx.reference);
  if (ctx.req.method === 'GET') await ctx.registry.manifests.admitPull(ctx.name, ctx.reference, m, { actor: ctx.user });
  if (!accepts(ctx.req.headers.accept, m.mediaType)) {
    throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ctx.reference} is a ${m.mediaType}, which the request's Accept header does not allow`, {
      detail: { mediaType: m.mediaType },
    });
  }
  reply(
    ctx,
    200,
    { 'Content-Type': m.mediaType, 'Docker-Content-Digest': m.digest, ETag: `"${m.digest}"`, 'Content-Length': m.size },
    m.body,
  );
}

export async function putManifest(ctx: Ctx): Promise<void> {
  const limit = ctx.registry.manifests.maxBytes;
  const body = await readBody(ctx.req, limit, () => tooLarge(limit));
  const tags = ctx.query.getAll('tag');
  const result = await ctx.registry.manifests.put(ctx.name, ctx.reference, body, ctx.req.headers['content-type'], tags, { actor: ctx.user });
  const headers: Record<string, string | string[]> = {
    Location: `/v2/${ctx.name}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
  };
  if (result.subject) headers['OCI-Subject'] = result.subject;
  if (tags.length > 0) headers['OCI-Tag'] = tags;
  reply(ctx, 201, headers);
}

export async function deleteManifest(ctx: Ctx): Promise<void> {
  await ctx.registry.manifests.delete(ctx.name, ctx.reference, { actor: ctx.user });
  reply(ctx, 202, {});
}
