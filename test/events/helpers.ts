// Shared pieces of the event tests: an in-process Wharf with an `events` configuration (written to a config
// file, as users write it), the change feed read to its end, and a small image to push.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import type { CloudEvent } from '../../src/events/model.js';

/** Fast polling and retries, so that tests do not wait on production pacing. */
export const quick = { pollSeconds: 0.05, leaseSeconds: 2, retry: { initialSeconds: 0.05, maxSeconds: 0.3 } };

export async function startEventsRegistry(config: Record<string, unknown>): Promise<TestRegistry> {
  const dir = tempDir('wharf-events-config-');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  try {
    return await startTestRegistry({ config: file });
  } finally {
    removeDir(dir);
  }
}

export interface FeedReply {
  status: number;
  link: string | null;
  body: { events: CloudEvent[]; next: string };
}

export async function getFeed(base: string, query: string, headers: Record<string, string> = {}): Promise<FeedReply> {
  const res = await fetch(`${base}/v2/_wharf/events${query}`, { headers });
  const text = await res.text();
  return { status: res.status, link: res.headers.get('link'), body: res.status === 200 ? (JSON.parse(text) as FeedReply['body']) : (JSON.parse(text || '{}') as FeedReply['body']) };
}

/** Every event of the feed from the beginning, following `next` (bounded). */
export async function readWholeFeed(base: string, headers: Record<string, string> = {}): Promise<CloudEvent[]> {
  const all: CloudEvent[] = [];
  let since = '0';
  for (let i = 0; i < 1000; i++) {
    const page = await getFeed(base, `?since=${since}&n=50`, headers);
    if (page.status !== 200) throw new Error(`feed answered ${page.status}`);
    all.push(...page.body.events);
    if (page.body.events.length === 0 || page.body.next === since) return all;
    since = page.body.next;
  }
  throw new Error('feed did not end after 1000 pages');
}

export function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
