// GET /v2/_wharf/events?since=<cursor>&n=<limit>: the change feed (docs/events.md). When authentication is on,
// callers must authenticate and see only events of repositories they may pull.
import type { Ctx } from '../context.js';
import { replyJSON } from '../context.js';
import { pageSize } from '../request.js';
import { RegistryError } from '../../oci/errors.js';
import type { AccessController } from '../../auth/controller.js';
import type { Events } from '../../events/index.js';
import { defaultFeedPage, maxFeedPage, parseCursor } from '../../events/feed.js';

export const eventsPath = '/v2/_wharf/events';

export async function eventsFeed(ctx: Ctx, events: Events, auth: AccessController | undefined): Promise<void> {
  const method = ctx.req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') throw new RegistryError('UNSUPPORTED', `${method} is not supported on this endpoint`, { headers: { Allow: 'GET, HEAD' } });
  let visible: (repository: string) => boolean = () => true;
  if (auth) {
    // Like GET /v2/: authentication required; then the pull policies decide, repository by repository.
    const p = await auth.require(ctx.req, undefined, ctx.tlsClient);
    visible = (name) => auth.mayPull(p, name);
  }
  const since = parseCursor(ctx.query.get('since'));
  if (since === undefined) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', `invalid since ${JSON.stringify((ctx.query.get('since') ?? '').slice(0, 50))}: expected a cursor (a non-negative integer) from an earlier page`);
  }
  const n = Math.min(pageSize(ctx.query.get('n')) ?? defaultFeedPage, maxFeedPage);
  const page = await events.feed(since, n, visible);
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  if (page.more) headers.Link = `<${eventsPath}?${new URLSearchParams({ since: String(page.next), n: String(n) }).toString()}>; rel="next"`;
  replyJSON(ctx, 200, headers, { events: page.events, next: String(page.next) });
}
