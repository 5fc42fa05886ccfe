// The change feed: the outbox read from a cursor, filtered to the repositories the caller may pull, one page at
// a time. The cursor is an outbox position (a decimal integer): a page holds events after it, in order, and
// `next` is the position to ask from next time, past every event this page looked at (shown or not).
import type { MetadataStore } from '../metadata/store.js';
import { toCloudEvent, type CloudEvent } from './model.js';

export const defaultFeedPage = 100;
export const maxFeedPage = 1000;
/** Outbox rows read per store query, and the most queries one page may take (filtered feeds skip rows). */
const scanRows = 1000;
const maxScans = 100;

/** A feed cursor from the query: absent or empty is the beginning; otherwise a non-negative integer. */
export function parseCursor(value: string | null): number | undefined {
  if (value === null || value === '') return 0;
  if (!/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

export interface FeedPage {
  events: CloudEvent[];
  /** The cursor to continue from. */
  next: number;
  /** Whether more events may follow right away (the page or the scan stopped early). */
  more: boolean;
}

export async function readFeed(store: MetadataStore, since: number, limit: number, visible: (repository: string) => boolean, source: string): Promise<FeedPage> {
  const events: CloudEvent[] = [];
  let next = since;
  for (let scan = 0; scan < maxScans && events.length < limit; scan++) {
    const rows = await store.listEvents(next, scanRows);
    for (const c of rows) {
      if (events.length >= limit) return { events, next, more: true };
      next = c.seq;
      if (visible(c.repository)) events.push(toCloudEvent(c, source));
    }
    if (rows.length < scanRows) return { events, next, more: false };
  }
  return { events, next, more: true };
}
