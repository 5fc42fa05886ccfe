// The upload endpoints: POST (start, monolithic, mount), PATCH (chunk), PUT (complete), GET (progress), DELETE.
import type { Ctx } from '../context.js';
import { reply } from '../context.js';
import { contentLength, parseContentRange } from '../request.js';
import { hasBody } from '../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { isValidName } from '../../oci/reference.js';
import { rangeHeaders, type Chunk } from '../../registry/uploads.js';

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

function blobCreated(ctx: Ctx, digest: string): void {
  reply(ctx, 201, { Location: `/v2/${ctx.name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

function progress(ctx: Ctx, status: number, id: string, size: number): void {
  reply(ctx, status, { Location: uploadLocation(ctx.name, id), 'Docker-Upload-UUID': id, ...rangeHeaders({ size }) });
}

function chunkOf(ctx: Ctx): Chunk | undefined {
  const { req } = ctx;
  const length = contentLength(req);
  const range = parseContentRange(req.headers['content-range']);
  if (!hasBody(req) && !range) return undefined;
  const chunk: Chunk = { body: req };
  if (length !== undefined) chunk.length = length;
  if (range) chunk.range = range;
  return chunk;
}

function requiredDigest(ctx: Ctx) {
  const value = ctx.query.get('digest');
  if (value === null || value === '') {
    throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required to complete an upload');
  }
  return parseDigest(value);
}

export async function startUpload(ctx: Ctx): Promise<void> {
  const { registry, query, name } = ctx;
  const mount = query.get('mount');
  if (mount !== null) {
    const digest = parseDigest(mount).digest;
    const from = query.get('from');
    if (from !== null && isValidName(from)) {
      await registry.quotas.checkMount(name, digest);
      const blob = await registry.uploads.mount(name, digest, from);
      if (blob) {
        blobCreated(ctx, blob.digest);
        return;
      }
    }
  }
  const digest = query.get('digest');
  if (digest !== null && mount === null) {
    const parsed = parseDigest(digest);
    const chunk = (await registry.quotas.guard(name, chunkOf(ctx), 0, parsed.digest)) ?? { body: ctx.req, length: 0 };
    const blob = await registry.uploads.monolithic(name, parsed, chunk);
    blobCreated(ctx, blob.digest);
    return;
  }
  const { id, size } = await registry.uploads.start(name);
  progress(ctx, 202, id, size);
}

/** A 416 tells the client where to resume: add the session's Location to the Range the registry set. */
async function locating<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RegistryError && e.status === 416) {
      e.headers.Location = uploadLocation(ctx.name, ctx.reference);
      e.headers['Docker-Upload-UUID'] = ctx.reference;
    }
    throw e;
  }
}

/**
 * The chunk of a PATCH or PUT, checked against the repository's quota (registry/quota.ts) counting what the
 * session already holds. A request refused for the quota ends the session: its bytes are discarded.
 */
async function quotaChecked(ctx: Ctx, digest?: string): Promise<Chunk | undefined> {
  const chunk = chunkOf(ctx);
  if (!ctx.registry.policies.quotaFor(ctx.name)) return chunk;
  const { size } = await ctx.registry.uploads.status(ctx.name, ctx.reference);
  try {
    return await ctx.registry.quotas.guard(ctx.name, chunk, size, digest);
  } catch (e) {
    await ctx.registry.uploads.cancel(ctx.name, ctx.reference).catch(() => undefined);
    throw e;
  }
}

/** Ends the session when its body was stopped for the quota (the bytes that arrived are discarded). */
async function discardOnQuota<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RegistryError && e.code === 'DENIED') await ctx.registry.uploads.cancel(ctx.name, ctx.reference).catch(() => undefined);
    throw e;
  }
}

export async function patchUpload(ctx: Ctx): Promise<void> {
  const chunk = await quotaChecked(ctx);
  const { size } = await locating(ctx, () =>
    discardOnQuota(ctx, () => (chunk ? ctx.registry.uploads.append(ctx.name, ctx.reference, chunk) : ctx.registry.uploads.status(ctx.name, ctx.reference))),
  );
  progress(ctx, 202, ctx.reference, size);
}

export async function putUpload(ctx: Ctx): Promise<void> {
  const digest = requiredDigest(ctx);
  const chunk = await quotaChecked(ctx, digest.digest);
  const blob = await locating(ctx, () => discardOnQuota(ctx, () => ctx.registry.uploads.complete(ctx.name, ctx.reference, digest, chunk)));
  blobCreated(ctx, blob.digest);
}

export async function getUpload(ctx: Ctx): Promise<void> {
  const { size } = await ctx.registry.uploads.status(ctx.name, ctx.reference);
  progress(ctx, 204, ctx.reference, size);
}

export async function deleteUpload(ctx: Ctx): Promise<void> {
  await ctx.registry.uploads.cancel(ctx.name, ctx.reference);
  reply(ctx, 204, {});
}
