// Failures on the wire, made by a proxy in front of each real registry: retries on 503/429 (Retry-After
// honoured) and dropped connections, a blob download cut mid-way and resumed with Range, a chunked upload
// whose connection dies mid-chunk and resumes from the registry's Range, a corrupted byte caught by the
// digest check, the concurrency bound, AbortSignal, and the plain-http rules.
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { RegistryClient, DigestMismatchError, InsecureRegistryError, RegistryClientError, TooManyRequestsError } from '../../src/client/index.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { buildImage, pushImage, randomData, readAll, sha256, targets, uniqueRepo, type Target } from './helpers.js';

for (const { name, start } of targets) {
  describe(`faults in front of ${name}`, () => {
    let target: Target;
    let proxy: FaultProxy;
    let client: RegistryClient;
    const repo = uniqueRepo('faults');
    const big = randomData(300_000);
    const bigDigest = sha256(big);

    before(async () => {
      target = await start();
      proxy = await startFaultProxy(target.url);
      client = new RegistryClient(proxy.url, { credentials: false, retryBaseDelayMs: 5, retries: 3 });
      await client.uploadBlob(repo, big);
    });

    beforeEach(() => {
      proxy.decide = () => undefined;
      proxy.log.length = 0;
    });

    after(async () => {
      await client?.close();
      await proxy?.close();
      await target?.close();
    });

    const isBlobGet = (method: string | undefined, url: string | undefined) => method === 'GET' && url?.includes(`/blobs/${bigDigest}`);

    test('503 twice, then success: retried with backoff', async () => {
      let failures = 0;
      proxy.decide = (req) => (req.method === 'HEAD' && failures++ < 2 ? { respond: { status: 503, headers: { 'retry-after': '0' } } } : undefined);
      assert.equal((await client.headBlob(repo, bigDigest))?.size, big.length);
      assert.equal(proxy.log.filter((r) => r.method === 'HEAD').length, 3);
    });

    test('429 with Retry-After: 1 is waited for', async () => {
      let failures = 0;
      proxy.decide = (req) => (req.method === 'HEAD' && failures++ < 1 ? { respond: { status: 429, headers: { 'retry-after': '1' } } } : undefined);
      const t0 = Date.now();
      assert.ok(await client.headBlob(repo, bigDigest), 'await client.headBlob(repo, bigDigest)');
      assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms`);
      assert.equal(proxy.log.length, 2);
    });

    test('retries run out: the last error is thrown', async () => {
      proxy.decide = () => ({ respond: { status: 429, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' } });
      await assert.rejects(client.headManifest(repo, 'latest'), (e: unknown) => e instanceof TooManyRequestsError && e.status === 429);
      assert.equal(proxy.log.length, 4, 'one try and three retries');
    });

    test('a dropped connection is retried; a one-shot stream body is not', async () => {
      let drops = 0;
      proxy.decide = (req) => (req.method === 'HEAD' && drops++ < 1 ? { destroy: true } : undefined);
      assert.ok(await client.headBlob(repo, bigDigest), 'await client.headBlob(repo, bigDigest)');
      assert.equal(proxy.log.length, 2);

      proxy.log.length = 0;
      const session = await client.startUpload(uniqueRepo());
      proxy.decide = (req) => (req.method === 'PATCH' ? { respond: { status: 503 } } : undefined);
      await assert.rejects(client.uploadChunk(session, Readable.from([randomData(100)])), (e: unknown) => e instanceof RegistryClientError && e.status === 503);
      assert.equal(proxy.log.filter((r) => r.method === 'PATCH').length, 1);
    });

    test('a download cut mid-way resumes with Range and still verifies the digest', async () => {
      let cuts = 0;
      proxy.decide = (req) => (isBlobGet(req.method, req.url) && cuts++ < 1 ? { cutResponseAfter: 100_000 } : undefined);
      const stream = await client.getBlob(repo, bigDigest);
      assert.ok((await readAll(stream)).equals(big), '(await readAll(stream)).equals(big)');
      assert.equal(stream.resumes, 1);
      const gets = proxy.log.filter((r) => isBlobGet(r.method, r.url));
      assert.equal(gets.length, 2);
      assert.equal(gets[0]!.headers.range, undefined);
      const m = /^bytes=(\d+)-$/.exec(String(gets[1]!.headers.range));
      assert.ok(m && Number(m[1]) > 0 && Number(m[1]) <= 100_000, `resumed with ${gets[1]!.headers.range}`);
    });

    test('a corrupted byte fails the download with DigestMismatchError at the end of the stream', async () => {
      proxy.decide = (req) => (isBlobGet(req.method, req.url) ? { corruptResponseByte: 123_456 } : undefined);
      const stream = await client.getBlob(repo, bigDigest);
      let received = 0;
      await assert.rejects(
        (async () => {
          for await (const c of stream) received += (c as Buffer).length;
        })(),
        (e: unknown) => e instanceof DigestMismatchError && e.expected === bigDigest && e.actual !== bigDigest,
      );
      assert.equal(received, big.length, 'every byte was delivered before the check failed');
    });

    test('a corrupted manifest is refused by digest and by Docker-Content-Digest', async () => {
      const mrepo = uniqueRepo('faults');
      const image = buildImage();
      await pushImage(client, mrepo, image, 'v1');
      proxy.decide = (req) => (req.method === 'GET' && req.url?.includes('/manifests/') ? { corruptResponseByte: 20 } : undefined);
      await assert.rejects(client.getManifest(mrepo, image.digest), DigestMismatchError);
      await assert.rejects(client.getManifest(mrepo, 'v1'), DigestMismatchError);
    });

    test('a chunked upload whose connection dies mid-chunk resumes from the registry Range', async () => {
      const data = randomData(256 * 1024);
      const target = uniqueRepo('faults');
      let patches = 0;
      proxy.decide = (req) => (req.method === 'PATCH' && ++patches === 2 ? { cutRequestAfter: 30_000 } : undefined);
      const r = await client.uploadBlob(target, data, { chunkSize: 64 * 1024 });
      assert.equal(r.digest, sha256(data));
      assert.ok(r.resumes >= 1, `resumes ${r.resumes}`);
      assert.ok((await readAll(await client.getBlob(target, r.digest))).equals(data), '(await readAll(await client.getBlob(target, r.digest))).equals(data)');
      const log = proxy.log.map((l) => `${l.method} ${String(l.headers['content-range'] ?? '')} +${l.at - proxy.log[0]!.at}ms`);
      if (name === 'wharf') {
        // Wharf keeps the session: the client asked it what it holds and went on from there.
        const statusAt = proxy.log.findIndex((l) => l.method === 'GET' && l.url.includes('/blobs/uploads/'));
        assert.ok(statusAt > 0, `status asked: ${log.join(', ')}`);
        const next = proxy.log.slice(statusAt).find((l) => l.method === 'PATCH');
        const startByte = Number(/^(\d+)-/.exec(String(next?.headers['content-range']))?.[1]);
        assert.ok(startByte >= 65536 && startByte <= 65536 + 30_000, `resumed at ${startByte}: ${log.join(', ')}`);
        assert.equal(proxy.log.filter((l) => l.method === 'POST').length, 1, 'no new session');
      }
    });

    test('a chunk cut while the registry is still writing it: resumed all the same', async () => {
      // No pause before the cut: the client's status request can overtake the registry's handling of the
      // broken PATCH (Wharf then reports the size before that write and refuses a new write with 409 or 416).
      const data = randomData(256 * 1024);
      const into = uniqueRepo('faults');
      let patches = 0;
      proxy.decide = (req) => (req.method === 'PATCH' && ++patches === 2 ? { cutRequestAfter: 30_000, cutRequestDelayMs: 0 } : undefined);
      const r = await client.uploadBlob(into, data, { chunkSize: 64 * 1024 });
      assert.ok(r.resumes >= 1, `resumes ${r.resumes}`);
      assert.ok((await readAll(await client.getBlob(into, r.digest))).equals(data), 'the blob reads back');
    });

    test('a one-request upload whose connection dies mid-body is started again', async () => {
      const data = randomData(200_000);
      const fresh = new RegistryClient(proxy.url, { credentials: false, retryBaseDelayMs: 5 });
      try {
        let cuts = 0;
        proxy.decide = (req) => ((req.method === 'POST' || req.method === 'PUT') && cuts++ < 1 ? { cutRequestAfter: 50_000 } : undefined);
        const into = uniqueRepo('faults');
        const r = await fresh.uploadBlob(into, data);
        // The body is bytes, so the transport itself sends the request again.
        assert.equal(proxy.log.filter((l) => l.method === 'POST' || l.method === 'PUT').length, name === 'wharf' ? 2 : 3);
          assert.ok((await readAll(await fresh.getBlob(into, r.digest))).equals(data), 'the blob reads back');
      } finally {
        await fresh.close();
      }
    });

    test('maxConcurrency bounds the requests in flight', async () => {
      const bounded = new RegistryClient(proxy.url, { credentials: false, maxConcurrency: 2 });
      try {
        proxy.maxInFlight = 0;
        proxy.decide = () => ({ delayMs: 150 });
        const results = await Promise.all(Array.from({ length: 6 }, () => bounded.headBlob(repo, bigDigest)));
        assert.ok(results.every((r) => r?.size === big.length), 'results.every((r) => r?.size === big.length)');
        assert.equal(proxy.maxInFlight, 2);
      } finally {
        await bounded.close();
      }
    });

    test('AbortSignal stops a download mid-stream and a retry wait', async () => {
      const ac = new AbortController();
      const stream = await client.getBlob(repo, bigDigest, { signal: ac.signal });
      await assert.rejects(
        (async () => {
          for await (const _ of stream) ac.abort();
        })(),
        (e: unknown) => (e as Error).name === 'AbortError',
      );

      proxy.decide = () => ({ respond: { status: 503, headers: { 'retry-after': '30' } } });
      const t0 = Date.now();
      await assert.rejects(client.headBlob(repo, bigDigest, { signal: AbortSignal.timeout(200) }), (e: unknown) => (e as Error).name === 'TimeoutError');
      assert.ok(Date.now() - t0 < 5000, 'Date.now() - t0 < 5000');
    });

    test('plain http is refused for hosts that are not loopback or marked insecure; redirects too', async () => {
      const remote = new RegistryClient('http://registry.invalid', { credentials: false });
      await assert.rejects(remote.ping(), InsecureRegistryError);
      await remote.close();
      proxy.decide = (req) => (isBlobGet(req.method, req.url) ? { respond: { status: 307, headers: { location: 'http://storage.invalid/blob' } } } : undefined);
      await assert.rejects(client.getBlob(repo, bigDigest), InsecureRegistryError);
    });
  });
}
