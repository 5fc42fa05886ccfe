// The catalog when access is controlled: only repositories the caller may pull, in full pages. The Link to
// the next page names the last repository shown, never one the caller may not see.
import type { Ctx } from '../http/context.js';
import { replyJSON } from '../http/context.js';
import { pageSize } from '../http/request.js';
import { maxPageSize } from '../registry/listing.js';

/** Repositories scanned per store page, and the most pages one request reads (10 M repositories). */
const scanPage = 1000;
const maxScanPages = 10_000;

export async function filteredCatalog(ctx: Ctx, mayPull: (name: string) => boolean): Promise<void> {
  const n = Math.min(pageSize(ctx.query.get('n')) ?? maxPageSize, maxPageSize);
  const start = ctx.query.get('last');
  const shown: string[] = [];
  let last = start === null || start === '' ? undefined : start;
  let more = false;
  for (let i = 0; i < maxScanPages && n > 0; i++) {
    const page = await ctx.registry.listing.catalog(last === undefined ? { n: scanPage } : { n: scanPage, last });
    let k = 0;
    for (; k < page.items.length && shown.length < n; k++) {
      const name = page.items[k]!;
      if (mayPull(name)) shown.push(name);
    }
    if (shown.length >= n) {
      // Full: is anything visible left? Only worth saying when the scan has not ended.
      more = k < page.items.length || page.next !== undefined;
      break;
    }
    if (page.next === undefined) break;
    last = page.next;
  }
  const headers: Record<string, string> = {};
  if (more && shown.length > 0) {
    const q = new URLSearchParams({ n: String(n), last: shown[shown.length - 1]! });
    headers.Link = `</v2/_catalog?${q.toString()}>; rel="next"`;
  }
  replyJSON(ctx, 200, headers, { repositories: shown });
}
