// The pieces on their own: CloudEvents mapping, the signature, bounded backoff, endpoint filters, the config
// schema's messages; and two dispatchers sharing one database (two processes): one delivers at a time, each
// event once, and the other takes over when the first stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { toCloudEvent, eventTypes, type StoredChange } from '../../src/events/model.js';
import { signBody } from '../../src/events/webhook.js';
import { backoffMs, endpointFilter, EventDispatcher, webhookTarget } from '../../src/events/dispatcher.js';
import { eventsSchema } from '../../src/events/config.js';
import { parseCursor } from '../../src/events/feed.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import { startReceiver } from './receiver.js';

const change: StoredChange = { seq: 42, id: 'e1', time: Date.UTC(2026, 0, 2, 3, 4, 5), kind: 'tag.moved', repository: 'team/app', digest: 'sha256:new', previousDigest: 'sha256:old', tag: 'v1', mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 7, actor: 'alice' };

test('a stored change as a CloudEvents 1.0 event', () => {
  assert.deepEqual(toCloudEvent(change, '/wharf'), {
    specversion: '1.0',
    id: 'e1',
    source: '/wharf',
    type: 'io.wharf.tag.moved',
    time: '2026-01-02T03:04:05.000Z',
    subject: 'team/app:v1',
    datacontenttype: 'application/json',
    wharfseq: 42,
    data: { repository: 'team/app', digest: 'sha256:new', mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 7, tag: 'v1', previousDigest: 'sha256:old', actor: 'alice' },
  });
  const { tag: _tag, ...untagged } = change;
  assert.equal(toCloudEvent({ ...untagged, kind: 'blob.uploaded' }, '/wharf').subject, 'team/app@sha256:new');
});

test('the signature is the hex HMAC-SHA256 of the exact body', () => {
  const body = '{"a":1}';
  assert.equal(signBody('k', body), 'sha256=' + createHmac('sha256', 'k').update(body).digest('hex'));
});

test('backoff doubles, is bounded by maxMs and jittered to 50-100 %', () => {
  const retry = { initialMs: 1000, maxMs: 60_000 };
  assert.equal(backoffMs(1, retry, () => 1), 1000);
  assert.equal(backoffMs(3, retry, () => 1), 4000);
  assert.equal(backoffMs(3, retry, () => 0), 2000);
  assert.equal(backoffMs(30, retry, () => 1), 60_000);
  assert.equal(backoffMs(10_000, retry, () => 1), 60_000, 'no overflow for very many attempts');
});

test('endpoint filters: include types and repository globs', () => {
  const base = { name: 'x', url: 'http://127.0.0.1:1/', headers: {}, timeoutSeconds: 1 };
  assert.equal(endpointFilter(base)(change), true);
  assert.equal(endpointFilter({ ...base, include: ['io.wharf.tag.moved'] })(change), true);
  assert.equal(endpointFilter({ ...base, include: ['io.wharf.manifest.pushed'] })(change), false);
  assert.equal(endpointFilter({ ...base, repositories: ['team/**'] })(change), true);
  assert.equal(endpointFilter({ ...base, repositories: ['other/*'] })(change), false);
});

test('the events config: defaults, and messages that name the problem', () => {
  const d = eventsSchema.parse({});
  assert.deepEqual({ ...d, endpoints: d.endpoints.length }, { endpoints: 0, includePulls: false, retentionDays: 7, source: '/wharf', pollSeconds: 1, leaseSeconds: 30, retry: { initialSeconds: 1, maxSeconds: 300 } });
  const problems = (v: unknown) => eventsSchema.safeParse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  assert.match(problems({ endpoints: [{ name: 'a', url: 'ftp://x/' }] }).join(), /endpoints\.0\.url: expected an http/);
  assert.match(problems({ endpoints: [{ name: 'a', url: 'http://x/', include: ['push'] }] }).join(), /include\.0: expected one of io\.wharf\.manifest\.pushed/);
  assert.match(problems({ endpoints: [{ name: 'a', url: 'http://x/' }, { name: 'a', url: 'http://y/' }] }).join(), /endpoint names must be unique/);
  assert.match(problems({ endpoints: [{ name: 'a b', url: 'http://x/' }] }).join(), /endpoints\.0\.name/);
  assert.equal(eventTypes.length, 9);
});

test('feed cursors: empty is the beginning, anything but a non-negative integer is refused', () => {
  assert.equal(parseCursor(null), 0);
  assert.equal(parseCursor(''), 0);
  assert.equal(parseCursor('17'), 17);
  for (const bad of ['-1', '1e3', 'x', '1.0', '9999999999999999']) assert.equal(parseCursor(bad), undefined, bad);
});

test('two dispatchers on one database: one delivers at a time, each event once; the other takes over', async () => {
  const dir = tempDir('wharf-events-two-');
  const file = join(dir, 'wharf.db');
  const receiver = await startReceiver();
  const stores = [new SqliteMetadataStore(file), new SqliteMetadataStore(file)];
  const endpoint = eventsSchema.parse({ endpoints: [{ name: 'hook', url: receiver.url }] }).endpoints.map(webhookTarget);
  const opts = { source: '/wharf', pollMs: 20, leaseMs: 1500, retry: { initialMs: 20, maxMs: 100 }, retentionMs: 86_400_000, log: pino({ level: 'silent' }) };
  const [first, second] = stores.map((s) => new EventDispatcher(s, endpoint, opts)) as [EventDispatcher, EventDispatcher];
  try {
    await first.prepare();
    await second.prepare();
    first.start();
    second.start();
    const digest = (i: number) => 'sha256:' + i.toString(16).padStart(64, '0');
    for (let i = 0; i < 30; i++) await stores[i % 2]!.linkBlob('two/app', { digest: digest(i), size: i });
    await receiver.waitFor(() => receiver.ids().length >= 30, '30 events');
    assert.equal(receiver.deliveries.length, 30, 'each event delivered once (no failures, so no repeats)');
    await first.stop(); // gives up its lease if it held it
    for (let i = 30; i < 40; i++) await stores[0]!.linkBlob('two/app', { digest: digest(i), size: i });
    await receiver.waitFor(() => receiver.ids().length >= 40, 'the next 10 events, from the other dispatcher');
    assert.equal(receiver.deliveries.length, 40);
    const seqs = receiver.deliveries.map((d) => d.event.wharfseq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order across the takeover');
  } finally {
    await first.stop();
    await second.stop();
    for (const s of stores) await s.close();
    await receiver.close();
    removeDir(dir);
  }
});
