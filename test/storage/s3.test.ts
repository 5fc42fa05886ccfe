// The S3 driver against a real S3 server: Ceph RGW (radosgw on a memstore OSD), started for this test process
// by test/helpers/services.ts. Everything lives in one bucket made for this file and removed at the end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { runDriverSuite } from '../suites/driver.suite.js';
import { sharedRgw, rgwClient, type RgwService } from '../helpers/services.js';
import { createS3Driver, type S3Driver, type S3Options } from '../../src/storage/drivers/s3.js';
import { CheckedDriver } from '../../src/storage/checked.js';
import { isNotFound, type StorageDriver } from '../../src/storage/driver.js';

const MiB = 1024 * 1024;
const bucket = `wharf-s3-test-${process.pid}-${Date.now().toString(36)}`;

let rgw: RgwService | undefined;
let admin: S3Client | undefined;
let ready: Promise<void> | undefined;

/** Starts (or joins) the RGW of this process and creates this file's bucket, once. */
function setup(): Promise<void> {
  ready ??= (async () => {
    rgw = await sharedRgw();
    admin = rgwClient(rgw);
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  })();
  return ready;
}

function driverOn(prefix: string, extra: Partial<S3Options> = {}): S3Driver {
  return createS3Driver({
    bucket,
    prefix,
    endpoint: rgw!.endpoint,
    region: rgw!.region,
    forcePathStyle: true,
    accessKeyId: rgw!.accessKeyId,
    secretAccessKey: rgw!.secretAccessKey,
    partSize: 5 * MiB,
    copyPartSize: 16 * MiB,
    copyThreshold: 32 * MiB,
    ...extra,
  });
}

async function pendingUploads(prefix: string): Promise<string[]> {
  const res = await admin!.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (res.Uploads ?? []).map((u) => u.Key!);
}

/** Empties the bucket (objects and pending multipart uploads) and deletes it. */
async function removeBucket(): Promise<void> {
  if (!admin) return;
  for (;;) {
    const res = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (res.Contents ?? []).map((c) => ({ Key: c.Key! }));
    if (keys.length === 0) break;
    await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const u of uploads.Uploads ?? []) {
    await admin.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
  }
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
  admin.destroy();
}

after(removeBucket);

/** Names of the S3 commands a driver sends, recorded while `fn` runs. */
async function commandsDuring(d: S3Driver, fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const name = `record-${Math.random()}`;
  d.client.middlewareStack.add(
    (next, context) => async (args) => {
      seen.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    await fn();
  } finally {
    d.client.middlewareStack.remove(name);
  }
  return seen;
}

function count(names: string[], name: string): number {
  return names.filter((n) => n === name).length;
}

/** Streams `total` pseudo-random bytes into a writer; returns their sha256. */
async function writeStream(d: StorageDriver, path: string, total: number): Promise<string> {
  const hash = createHash('sha256');
  const block = randomBytes(MiB);
  const w = await d.writer(path, false);
  await pipeline(
    Readable.from((function* () {
      for (let off = 0, i = 0; off < total; off += MiB, i++) {
        const b = Buffer.from(block.subarray(0, Math.min(MiB, total - off)));
        b.writeUInt32BE(i, 0);
        hash.update(b);
        yield b;
      }
    })()),
    w.stream,
  );
  await w.commit();
  assert.equal(w.size, total);
  return hash.digest('hex');
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of r) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function sha256Of(d: StorageDriver, path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of await d.reader(path)) hash.update(c as Buffer);
  return hash.digest('hex');
}

// RGW's memstore OSD keeps all data in RAM (8 GiB device by default in scripts/services/ceph-rgw.sh); a 1 GiB
// object goes up and back in about 25 s here (60 MB/s up, 150 MB/s down), so the suite uses the full size.
runDriverSuite({
  name: 's3 (Ceph RGW)',
  capabilities: { largeObjectBytes: 1024 * MiB },
  async create() {
    await setup();
    return driverOn('suite-root');
  },
  async destroy(d) {
    await d.delete('suite');
    await d.close?.();
  },
});

describe('s3 driver on RGW: server-side copies, uploads, redirects', () => {
  let d: S3Driver;
  let c: CheckedDriver;
  before(async () => {
    await setup();
    d = driverOn('extra', { copyThreshold: 8 * MiB, copyPartSize: 16 * MiB, redirect: { expiresSeconds: 120 } });
    c = new CheckedDriver(d);
  });
  after(async () => {
    await d?.delete('x');
    await d?.close();
  });

  test('concat of 6 MiB + 6 MiB + 6 MiB + 40 MiB: UploadPartCopy only, in order, sources removed', { timeout: 120_000 }, async () => {
    const small = [randomBytes(6 * MiB), randomBytes(6 * MiB), randomBytes(6 * MiB)];
    await Promise.all(small.map((b, i) => c.putContent(`x/concat/part${i}`, b)));
    const lastHash = await writeStream(c, 'x/concat/part3', 40 * MiB);
    const sources = [0, 1, 2, 3].map((i) => `x/concat/part${i}`);
    const sent = await commandsDuring(d, () => c.concat(sources, 'x/concat/blob'));
    // 40 MiB in pieces of at most 16 MiB is 3 pieces; each 6 MiB source is one.
    assert.equal(count(sent, 'UploadPartCopy'), 6, sent.join(','));
    assert.equal(count(sent, 'CreateMultipartUpload'), 1);
    assert.equal(count(sent, 'CompleteMultipartUpload'), 1);
    for (const bytesThrough of ['GetObject', 'PutObject', 'UploadPart']) assert.equal(count(sent, bytesThrough), 0, `no ${bytesThrough}: the bytes stay on the server`);
    const s = await c.stat('x/concat/blob');
    assert.equal(s.size, 58 * MiB);
    // The tail of the joined object is the 40 MiB source; check the head exactly and the tail by hash.
    const head = await readAll(await c.reader('x/concat/blob', { offset: 0, length: 18 * MiB }));
    assert.ok(head.equals(Buffer.concat(small)), 'head.equals(Buffer.concat(small))');
    const tail = createHash('sha256');
    for await (const chunk of await c.reader('x/concat/blob', { offset: 18 * MiB })) tail.update(chunk as Buffer);
    assert.equal(tail.digest('hex'), lastHash);
    for (const src of sources) await assert.rejects(c.stat(src), (e: unknown) => isNotFound(e));
    assert.deepEqual(await pendingUploads('extra/'), [], 'no multipart upload left open');
  });

  test('concat refuses a source under 5 MiB that is not the last, and changes nothing', async () => {
    await c.putContent('x/bad/p0', randomBytes(6 * MiB));
    await c.putContent('x/bad/p1', randomBytes(MiB));
    await c.putContent('x/bad/p2', randomBytes(10));
    await assert.rejects(c.concat(['x/bad/p0', 'x/bad/p1', 'x/bad/p2'], 'x/bad/out'), /x\/bad\/p1.*at least 5242880 bytes/);
    await assert.rejects(c.stat('x/bad/out'), (e: unknown) => isNotFound(e));
    assert.equal((await c.stat('x/bad/p1')).size, MiB, 'sources are kept on failure');
    assert.deepEqual(await pendingUploads('extra/'), []);
  });

  test('move of 40 MiB above copyThreshold (8 MiB) is a multipart copy; a small move is one CopyObject', { timeout: 120_000 }, async () => {
    const hash = await writeStream(c, 'x/move/big', 40 * MiB);
    const sent = await commandsDuring(d, () => c.move('x/move/big', 'x/move/big-moved'));
    assert.equal(count(sent, 'UploadPartCopy'), 3, sent.join(','));
    assert.equal(count(sent, 'CopyObject'), 0);
    assert.equal(await sha256Of(c, 'x/move/big-moved'), hash);
    await assert.rejects(c.stat('x/move/big'), (e: unknown) => isNotFound(e));

    await c.putContent('x/move/small', Buffer.from('small'));
    const sentSmall = await commandsDuring(d, () => c.move('x/move/small', 'x/move/small-moved'));
    assert.deepEqual(sentSmall, ['HeadObject', 'CopyObject', 'DeleteObject']);
    assert.equal((await c.getContent('x/move/small-moved')).toString(), 'small');
  });

  test('cancel of a multipart upload in progress aborts it: no object, nothing in ListMultipartUploads', { timeout: 60_000 }, async () => {
    const w = await c.writer('x/cancel/obj', false);
    for (let i = 0; i < 12; i++) {
      if (!w.stream.write(randomBytes(MiB))) await new Promise((r) => w.stream.once('drain', r));
    }
    // 12 MiB with 5 MiB parts: the multipart upload exists once lib-storage has cut its first part.
    const deadline = Date.now() + 20_000;
    while ((await pendingUploads('extra/x/cancel/')).length === 0) {
      assert.ok(Date.now() < deadline, 'the multipart upload never appeared');
      await new Promise((r) => setTimeout(r, 100));
    }
    await w.cancel();
    assert.deepEqual(await pendingUploads('extra/x/cancel/'), []);
    await assert.rejects(c.stat('x/cancel/obj'), (e: unknown) => isNotFound(e));
  });

  test('an AbortSignal given to writer() aborts the multipart upload; commit reports aborted', { timeout: 60_000 }, async () => {
    const ac = new AbortController();
    const w = await c.writer('x/signal/obj', false, { signal: ac.signal });
    for (let i = 0; i < 12; i++) {
      if (!w.stream.write(randomBytes(MiB))) await new Promise((r) => w.stream.once('drain', r));
    }
    const deadline = Date.now() + 20_000;
    while ((await pendingUploads('extra/x/signal/')).length === 0) {
      assert.ok(Date.now() < deadline, 'the multipart upload never appeared');
      await new Promise((r) => setTimeout(r, 100));
    }
    ac.abort();
    await assert.rejects(w.commit(), (e: unknown) => e instanceof Error && (e as { kind?: string }).kind === 'aborted');
    assert.deepEqual(await pendingUploads('extra/x/signal/'), []);
    await assert.rejects(c.stat('x/signal/obj'), (e: unknown) => isNotFound(e));
  });

  test('a writer whose source fails leaves nothing and commit reports the failure', { timeout: 60_000 }, async () => {
    const w = await c.writer('x/broken/obj', false);
    const src = Readable.from((async function* () {
      for (let i = 0; i < 8; i++) yield randomBytes(MiB);
      throw new Error('source broke');
    })());
    await assert.rejects(pipeline(src, w.stream), /source broke/);
    await assert.rejects(w.commit(), /source broke/);
    await w.cancel();
    assert.deepEqual(await pendingUploads('extra/x/broken/'), []);
    await assert.rejects(c.stat('x/broken/obj'), (e: unknown) => isNotFound(e));
  });

  test('presigned redirect URL: fetch returns the bytes; a tampered URL is refused with 403', async () => {
    const data = randomBytes(100_000);
    await c.putContent('x/redirect/blob', data);
    const url = await c.redirectURL!('x/redirect/blob');
    assert.ok(url, 'url');
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data), 'Buffer.from(await res.arrayBuffer()).equals(data)');

    const u = new URL(url);
    const sig = u.searchParams.get('X-Amz-Signature')!;
    u.searchParams.set('X-Amz-Signature', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
    const badSig = await fetch(u);
    await badSig.arrayBuffer();
    assert.equal(badSig.status, 403, 'a changed signature');

    const other = new URL(url);
    other.pathname = other.pathname.replace('/blob', '/blob2');
    await c.putContent('x/redirect/blob2', Buffer.from('secret'));
    const badPath = await fetch(other);
    await badPath.arrayBuffer();
    assert.equal(badPath.status, 403, 'the signature of one key does not open another');

    const expiry = new URL(url);
    expiry.searchParams.set('X-Amz-Expires', '999');
    const badExpiry = await fetch(expiry);
    await badExpiry.arrayBuffer();
    assert.equal(badExpiry.status, 403, 'a longer expiry');

    const plain = driverOn('extra');
    assert.equal(await plain.redirectURL('x/redirect/blob'), undefined, 'no redirect unless configured');
    await plain.close();
  });

  test('listing, walking and deleting across pages (more than 1000 keys)', { timeout: 120_000 }, async () => {
    const n = 1005;
    const names = Array.from({ length: n }, (_, i) => `x/many/k${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((p) => c.putContent(p, Buffer.from(p))));
    }
    await c.putContent('x/many/sub/deep', Buffer.from('d'));
    const listed = await c.list('x/many');
    assert.equal(listed.length, n + 1);
    assert.deepEqual(listed, [...names, 'x/many/sub'].sort());
    const st = await c.stat('x/many/sub');
    assert.equal(st.isDir, true);
    let walked = 0;
    let last = '';
    for await (const f of c.walk('x/many')) {
      assert.ok(f.path > last, 'sorted');
      last = f.path;
      walked++;
    }
    assert.equal(walked, n + 1);
    const sent = await commandsDuring(d, () => c.delete('x/many'));
    assert.equal(count(sent, 'DeleteObjects'), 2, 'one DeleteObjects per page of at most 1000 keys');
    await assert.rejects(c.list('x/many'), (e: unknown) => isNotFound(e));
    await assert.rejects(c.stat('x/many'), (e: unknown) => isNotFound(e));
  });

  test('a missing bucket is an io error, not not-found', async () => {
    const wrong = createS3Driver({
      bucket: `${bucket}-missing`,
      endpoint: rgw!.endpoint,
      region: rgw!.region,
      forcePathStyle: true,
      accessKeyId: rgw!.accessKeyId,
      secretAccessKey: rgw!.secretAccessKey,
    });
    await assert.rejects(new CheckedDriver(wrong).getContent('x'), (e: unknown) => !isNotFound(e) && /NoSuchBucket/.test(String(e)));
    await wrong.close();
  });
});
