// GET/HEAD/DELETE /v2/<name>/blobs/<digest>
import { pipeline } from 'node:stream/promises';
import type { Ctx } from '../context.js';
import { reply } from '../context.js';
import { parseRange } from '../request.js';
import { RegistryError } from '../../oci/errors.js';
import { canSendTo } from '../../storage/file-read-stream.js';

export async function getBlob(ctx: Ctx): Promise<void> {
  const { registry, req, res } = ctx;
  const info = await registry.blobs.stat(ctx.name, ctx.reference);
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': info.digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${info.digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
  if (req.method === 'HEAD') {
    reply(ctx, 200, { ...headers, 'Content-Length': info.size });
    return;
  }
  const range = parseRange(req.headers.range, info.size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('RANGE_INVALID', `range ${req.headers.range} is outside the blob's ${info.size} bytes`, {
      headers: { 'Content-Range': `bytes */${info.size}` },
    });
  }
  if (!range) {
    const redirect = await registry.blobs.redirectURL(info);
    if (redirect) {
      reply(ctx, 307, { Location: redirect, 'Docker-Content-Digest': info.digest });
      return;
    }
  }
  const stream = await registry.blobs.open(info, range, ctx.signal);
  if (range) {
    res.writeHead(206, {
      ...headers,
      'Content-Length': range.length,
      'Content-Range': `bytes ${range.offset}-${range.offset + range.length - 1}/${info.size}`,
    });
  } else {
    res.writeHead(200, { ...headers, 'Content-Length': info.size });
  }
  if (canSendTo(stream)) await stream.sendTo(res, ctx.signal);
  else await pipeline(stream, res);
}

export async function deleteBlob(ctx: Ctx): Promise<void> {
  await ctx.registry.blobs.delete(ctx.name, ctx.reference);
  reply(ctx, 202, {});
}
