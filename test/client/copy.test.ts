// copy between real stores: MemoryStore, Wharf, the reference registry (Distribution 2.8) and OCI layouts.
// Whole indexes and single platforms, mounts within a registry, skips on a second run, digest references,
// referrers (through the API on Wharf and the tag schema on Distribution), clear errors, foreign layers,
// and transfers cut mid-blob by a proxy that resume without sending the whole blob again.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MediaType, MemoryStore, NotFoundError, RegistryClient, type Descriptor } from '../../src/client/index.js';
import { RegistryStore } from '../../src/client/remote-store.js';
import { openLayout } from '../../src/client/layout.js';
import { openLocation, parseLocation, registryClients } from '../../src/client/locations.js';
import { copy, type CopyResult } from '../../src/client/ops/copy.js';
import type { TransferEvent } from '../../src/client/ops/events.js';
import { PlatformNotFoundError } from '../../src/client/ops/platform.js';
import { startFaultProxy } from './fault-proxy.js';
import { randomData, readAll, removeDir, sha256, startReference, startWharf, targets, tempDir, uniqueRepo, type Target } from './helpers.js';

interface Built {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

/** Puts an image for `platform` into `store` (config + the given layers) and returns its manifest. */
async function addImage(store: MemoryStore, platform: { os: string; architecture: string; variant?: string }, layers: Buffer[], extra: Record<string, unknown> = {}): Promise<Built> {
  const config = Buffer.from(JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() }));
  const put = async (b: Buffer) => {
    const d = { mediaType: 'application/octet-stream', digest: sha256(b), size: b.length };
    await store.pushBlob(d, async () => (await import('node:stream')).Readable.from([b]));
    return d;
  };
  await put(config);
  for (const l of layers) await put(l);
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
    ...extra,
  };
  const bytes = Buffer.from(JSON.stringify(doc, null, 2));
  const m = { digest: sha256(bytes), mediaType: MediaType.ociManifest, bytes };
  await store.pushManifest(m, { root: false });
  return m;
}

function descriptor(m: Built, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, ...extra };
}

interface Fixture {
  store: MemoryStore;
  index: Built;
  amd64: Built;
  arm64: Built;
  /** Distinct blobs of the whole index. */
  blobs: number;
}

/** A two-platform index (linux/amd64, linux/arm64/v8) sharing one layer, tagged v1 in a MemoryStore. */
async function fixture(): Promise<Fixture> {
  const store = new MemoryStore();
  const shared = randomData(3000);
  const amd64 = await addImage(store, { os: 'linux', architecture: 'amd64' }, [shared, randomData(2000)]);
  const arm64 = await addImage(store, { os: 'linux', architecture: 'arm64', variant: 'v8' }, [shared, randomData(2500)]);
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      descriptor(amd64, { platform: { os: 'linux', architecture: 'amd64' } }),
      descriptor(arm64, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
    ],
  };
  const bytes = Buffer.from(JSON.stringify(doc, null, 3));
  const index = { digest: sha256(bytes), mediaType: MediaType.ociIndex, bytes };
  await store.pushManifest(index, { root: true, tag: 'v1' });
  return { store, index, amd64, arm64, blobs: 5 };
}

/** A signature-like artifact whose subject is `subject`, added to `store`. */
async function addReferrer(store: MemoryStore, subject: Built, artifactType: string): Promise<Built> {
  const empty = Buffer.from('{}');
  const blob = Buffer.from(`signature of ${subject.digest} ${Math.random()}`);
  const { Readable } = await import('node:stream');
  await store.pushBlob({ mediaType: MediaType.ociEmpty, digest: sha256(empty), size: 2 }, async () => Readable.from([empty]));
  await store.pushBlob({ mediaType: 'application/octet-stream', digest: sha256(blob), size: blob.length }, async () => Readable.from([blob]));
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: { mediaType: MediaType.ociEmpty, digest: sha256(empty), size: 2 },
    layers: [{ mediaType: 'application/vnd.example.sig', digest: sha256(blob), size: blob.length }],
    subject: descriptor(subject),
  };
  const bytes = Buffer.from(JSON.stringify(doc));
  const m = { digest: sha256(bytes), mediaType: MediaType.ociManifest, bytes };
  await store.pushManifest(m, { root: true });
  return m;
}

function counters(r: CopyResult): Pick<CopyResult, 'blobsCopied' | 'blobsSkipped' | 'blobsMounted' | 'manifests' | 'referrers'> {
  return { blobsCopied: r.blobsCopied, blobsSkipped: r.blobsSkipped, blobsMounted: r.blobsMounted, manifests: r.manifests, referrers: r.referrers };
}

describe('copy between MemoryStores', () => {
  test('foreign (non-distributable) layers are not copied; the manifest still is', async () => {
    const source = new MemoryStore();
    const foreign = { mediaType: MediaType.dockerForeignLayer, digest: sha256('not here'), size: 8, urls: ['https://example.com/layer'] };
    const config = Buffer.from('{"os":"linux","architecture":"amd64"}');
    const { Readable } = await import('node:stream');
    await source.pushBlob({ mediaType: MediaType.dockerConfig, digest: sha256(config), size: config.length }, async () => Readable.from([config]));
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: sha256(config), size: config.length }, layers: [foreign] }),
    );
    await source.pushManifest({ digest: sha256(bytes), mediaType: MediaType.dockerManifest, bytes }, { root: true, tag: 'win' });
    const sink = new MemoryStore();
    const r = await copy(source, 'win', sink);
    assert.deepEqual(counters(r), { blobsCopied: 1, blobsSkipped: 0, blobsMounted: 0, manifests: 1, referrers: 0 });
    assert.equal(await sink.hasBlob(foreign), false);
    assert.ok((await sink.resolve('win')).bytes.equals(bytes), 'manifest copied byte-identical');
  });

  test('events: every blob starts and finishes, manifests after their blobs, the index last', async () => {
    const f = await fixture();
    const events: TransferEvent[] = [];
    const sink = new MemoryStore();
    await copy(f.store, 'v1', sink, { onEvent: (e) => events.push(e), concurrency: 2 });
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'image-start');
    assert.equal(types.at(-1), 'image-done');
    assert.equal(types.filter((t) => t === 'blob-start').length, f.blobs);
    assert.equal(types.filter((t) => t === 'blob-done').length, f.blobs);
    const manifests = events.filter((e): e is Extract<TransferEvent, { type: 'manifest-done' }> => e.type === 'manifest-done');
    assert.deepEqual(manifests.map((e) => e.descriptor.digest).at(-1), f.index.digest);
    assert.equal(manifests.at(-1)!.tag, 'v1');
    assert.ok(types.lastIndexOf('blob-done') < types.lastIndexOf('manifest-done'), 'every blob before the index');
    const firstChild = events.findIndex((e) => e.type === 'manifest-done');
    const childDigest = (events[firstChild] as Extract<TransferEvent, { type: 'manifest-done' }>).descriptor.digest;
    const child = childDigest === f.amd64.digest ? f.amd64 : f.arm64;
    const childBlobs = (JSON.parse(child.bytes.toString()) as { layers: Descriptor[] }).layers.map((l) => l.digest);
    const blobsDone = events.slice(0, firstChild).filter((e): e is Extract<TransferEvent, { type: 'blob-done' }> => e.type === 'blob-done').map((e) => e.descriptor.digest);
    for (const d of childBlobs) assert.ok(blobsDone.includes(d), `layer ${d} done before its manifest`);
    const progress = new Map<string, number>();
    for (const e of events) if (e.type === 'blob-progress') progress.set(e.descriptor.digest, e.bytes);
    for (const e of events) if (e.type === 'blob-done') assert.equal(progress.get(e.descriptor.digest), e.descriptor.size, `progress of ${e.descriptor.digest} reaches its size`);
  });

  test('a single image: a matching platform is accepted, another is an error', async () => {
    const source = new MemoryStore();
    const image = await addImage(source, { os: 'linux', architecture: 'arm64' }, [randomData(100)]);
    await source.pushManifest(image, { root: true, tag: 'one' });
    const r = await copy(source, 'one', new MemoryStore(), { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    assert.equal(r.digest, image.digest);
    await assert.rejects(copy(source, 'one', new MemoryStore(), { platform: { os: 'linux', architecture: 'amd64' } }), /single image that is for linux\/arm64, not linux\/amd64/);
  });

  test('platform and allPlatforms together are refused; bad concurrency is refused', async () => {
    const f = await fixture();
    await assert.rejects(copy(f.store, 'v1', new MemoryStore(), { platform: { os: 'linux', architecture: 'amd64' }, allPlatforms: true }), /exclude each other/);
    await assert.rejects(copy(f.store, 'v1', new MemoryStore(), { concurrency: 0 }), /invalid concurrency/);
  });
});

for (const { name, start } of targets) {
  describe(`copy with ${name}`, () => {
    let target: Target;
    let client: RegistryClient;
    let f: Fixture;
    const work = tempDir('wharf-copy-');

    before(async () => {
      target = await start();
      client = new RegistryClient(target.url, { credentials: false });
      f = await fixture();
    });

    after(async () => {
      await client?.close();
      await target?.close();
      removeDir(work);
    });

    const store = (repo: string) => new RegistryStore(client, repo);

    test('memory → registry: the whole index, byte-identical, every blob once', async () => {
      const repo = uniqueRepo('copy');
      const r = await copy(f.store, 'v1', store(repo));
      assert.equal(r.digest, f.index.digest);
      assert.deepEqual(counters(r), { blobsCopied: f.blobs, blobsSkipped: 0, blobsMounted: 0, manifests: 3, referrers: 0 });
      const served = await client.getManifest(repo, 'v1');
      assert.ok(served.bytes.equals(f.index.bytes), 'index byte-identical');
      assert.ok((await client.getManifest(repo, f.arm64.digest)).bytes.equals(f.arm64.bytes), 'child byte-identical');
    });

    test('registry → registry in one registry mounts every blob; a second run skips them all', async () => {
      const from = uniqueRepo('copy');
      await copy(f.store, 'v1', store(from));
      const to = uniqueRepo('copy');
      const first = await copy(store(from), 'v1', store(to));
      assert.deepEqual(counters(first), { blobsCopied: 0, blobsSkipped: 0, blobsMounted: f.blobs, manifests: 3, referrers: 0 });
      assert.equal(first.bytesCopied, 0);
      const again = await copy(store(from), 'v1', store(to));
      assert.deepEqual(counters(again), { blobsCopied: 0, blobsSkipped: f.blobs, blobsMounted: 0, manifests: 1, referrers: 0 });
      assert.ok((await client.getManifest(to, 'v1')).bytes.equals(f.index.bytes), 'index byte-identical');
    });

    test('one platform: only that manifest, under the tag, with its own digest', async () => {
      const from = uniqueRepo('copy');
      await copy(f.store, 'v1', store(from));
      const to = uniqueRepo('copy');
      const r = await copy(store(from), 'v1', store(to), { platform: { os: 'linux', architecture: 'arm64' }, tag: 'arm' });
      assert.equal(r.digest, f.arm64.digest);
      assert.equal(r.manifests, 1);
      assert.equal(r.blobsMounted, 3);
      assert.equal((await client.headManifest(to, 'arm'))?.digest, f.arm64.digest);
      assert.equal(await client.headManifest(to, f.index.digest), undefined);
    });

    test('an unknown platform is an error listing the available ones', async () => {
      await assert.rejects(copy(f.store, 'v1', store(uniqueRepo('copy')), { platform: { os: 'linux', architecture: 's390x' } }), (e: unknown) => {
        assert.ok(e instanceof PlatformNotFoundError, `PlatformNotFoundError, got ${String(e)}`);
        assert.deepEqual((e as PlatformNotFoundError).available, ['linux/amd64', 'linux/arm64/v8']);
        assert.match((e as Error).message, /no manifest for platform linux\/s390x \(available: linux\/amd64, linux\/arm64\/v8\)/);
        return true;
      });
    });

    test('a digest reference without a tag is pushed by digest only', async () => {
      const from = uniqueRepo('copy');
      await copy(f.store, 'v1', store(from));
      const to = uniqueRepo('copy');
      const r = await copy(store(from), f.index.digest, store(to));
      assert.equal(r.digest, f.index.digest);
      assert.equal((await client.headManifest(to, f.index.digest))?.digest, f.index.digest);
      assert.equal(await client.headManifest(to, 'v1'), undefined);
      const tagged = await copy(store(from), f.index.digest, store(to), { tag: 'pinned' });
      assert.equal((await client.headManifest(to, 'pinned'))?.digest, f.index.digest);
      assert.equal(tagged.blobsSkipped, f.blobs);
    });

    test('a missing tag is a NotFoundError naming it', async () => {
      const from = uniqueRepo('copy');
      await copy(f.store, 'v1', store(from));
      await assert.rejects(copy(store(from), 'missing', store(uniqueRepo('copy'))), (e: unknown) => {
        assert.ok(e instanceof NotFoundError, `NotFoundError, got ${String(e)}`);
        assert.match((e as Error).message, /tag missing not found/);
        return true;
      });
    });

    test('referrers follow: memory → registry → registry, recursively', async () => {
      const source = new MemoryStore();
      const image = await addImage(source, { os: 'linux', architecture: 'amd64' }, [randomData(500)]);
      await source.pushManifest(image, { root: true, tag: 'signed' });
      const sig = await addReferrer(source, image, 'application/vnd.example.sig');
      const sigOfSig = await addReferrer(source, sig, 'application/vnd.example.countersig');
      const from = uniqueRepo('copy');
      const r1 = await copy(source, 'signed', store(from), { referrers: true });
      assert.equal(r1.referrers, 2);
      assert.equal(r1.manifests, 3);
      assert.deepEqual((await store(from).referrers(image.digest)).map((d) => d.digest), [sig.digest]);
      assert.deepEqual((await store(from).referrers(sig.digest)).map((d) => d.digest), [sigOfSig.digest]);
      const to = uniqueRepo('copy');
      const without = await copy(store(from), 'signed', store(to));
      assert.equal(without.referrers, 0);
      const r2 = await copy(store(from), 'signed', store(to), { referrers: true });
      assert.equal(r2.referrers, 2);
      assert.deepEqual((await store(to).referrers(sig.digest)).map((d) => d.digest), [sigOfSig.digest]);
      assert.ok((await client.getManifest(to, sigOfSig.digest)).bytes.equals(sigOfSig.bytes), 'referrer byte-identical');
    });

    test('registry → memory and back: the same digests', async () => {
      const from = uniqueRepo('copy');
      await copy(f.store, 'v1', store(from));
      const mem = new MemoryStore();
      const r = await copy(store(from), 'v1', mem);
      assert.equal(r.blobsCopied, f.blobs);
      assert.ok((await mem.resolve('v1')).bytes.equals(f.index.bytes), 'index in memory');
      const to = uniqueRepo('copy');
      assert.equal((await copy(mem, 'v1', store(to), { tag: 'back' })).digest, f.index.digest);
    });

    test('registry → OCI layout → registry', async () => {
      const from = uniqueRepo('copy');
      await copy(f.store, 'v1', store(from));
      const dir = join(work, `layout-${name}-${Date.now()}`);
      const layout = await openLayout(dir, { create: true });
      const r = await copy(store(from), 'v1', layout);
      await layout.close();
      assert.equal(r.digest, f.index.digest);
      const reopened = await openLayout(dir);
      assert.deepEqual(await reopened.tags(), ['v1']);
      const to = uniqueRepo('copy');
      const back = await copy(reopened, 'v1', store(to));
      assert.equal(back.blobsCopied, f.blobs);
      assert.ok((await client.getManifest(to, 'v1')).bytes.equals(f.index.bytes), 'index byte-identical after the layout');
      const one = await openLayout(join(dir, '..', `one-${name}-${Date.now()}`), { create: true });
      const single = await copy(reopened, 'v1', one, { platform: { os: 'linux', architecture: 'amd64' } });
      await one.close();
      assert.equal(single.digest, f.amd64.digest);
    });

    test('registry → oci-archive → registry through openLocation', async () => {
      const from = uniqueRepo('copy');
      await copy(f.store, 'v1', store(from));
      const clientFor = () => client;
      const file = join(work, `image-${name}-${Date.now()}.tar`);
      const src = await openLocation(`docker://${target.host}/${from}:v1`, { role: 'source', clientFor });
      const out = await openLocation(`oci-archive:${file}:kept`, { role: 'sink', clientFor });
      assert.equal(out.kind, 'archive');
      const written = await copy(src.store, src.reference!, out.store, { tag: out.reference! });
      await out.store.close();
      assert.equal(written.digest, f.index.digest);
      const back = await openLocation(`oci-archive:${file}:kept`, { role: 'source', clientFor });
      const to = uniqueRepo('copy');
      const dst = await openLocation(`${target.host}/${to}`, { role: 'sink', clientFor });
      try {
        const r = await copy(back.store, back.reference!, dst.store, { tag: 'from-archive' });
        assert.equal(r.blobsCopied, f.blobs);
        assert.ok((await client.getManifest(to, 'from-archive')).bytes.equals(f.index.bytes), 'index byte-identical after the archive');
      } finally {
        await back.store.close();
      }
    });
  });
}

describe('copy across registries', () => {
  let wharf: Target;
  let reference: Target;
  let wc: RegistryClient;
  let rc: RegistryClient;

  before(async () => {
    wharf = await startWharf();
    reference = await startReference();
    wc = new RegistryClient(wharf.url, { credentials: false });
    rc = new RegistryClient(reference.url, { credentials: false });
  });

  after(async () => {
    await wc?.close();
    await rc?.close();
    await wharf?.close();
    await reference?.close();
  });

  test('Wharf → Distribution → Wharf keeps the index and children byte-identical', async () => {
    const f = await fixture();
    await copy(f.store, 'v1', new RegistryStore(wc, 'cross/a'));
    const there = await copy(new RegistryStore(wc, 'cross/a'), 'v1', new RegistryStore(rc, 'cross/b'));
    assert.deepEqual(counters(there), { blobsCopied: f.blobs, blobsSkipped: 0, blobsMounted: 0, manifests: 3, referrers: 0 });
    const back = await copy(new RegistryStore(rc, 'cross/b'), 'v1', new RegistryStore(wc, 'cross/c'));
    assert.equal(back.blobsCopied, f.blobs);
    assert.ok((await rc.getManifest('cross/b', 'v1')).bytes.equals(f.index.bytes), 'Distribution serves the same index');
    assert.ok((await wc.getManifest('cross/c', f.amd64.digest)).bytes.equals(f.amd64.bytes), 'Wharf serves the same child');
  });

  test('concurrency bounds the transfers in flight; an aborted copy rejects', async () => {
    const f = await fixture();
    const proxy = await startFaultProxy(wharf.url);
    const viaProxy = new RegistryClient(proxy.url, { credentials: false });
    try {
      for (const concurrency of [1, 2]) {
        let active = 0;
        let most = 0;
        const onEvent = (e: TransferEvent) => {
          if (e.type === 'blob-start') most = Math.max(most, ++active);
          if (e.type === 'blob-done') active--;
        };
        await copy(f.store, 'v1', new RegistryStore(viaProxy, `bounded/c${concurrency}`), { concurrency, onEvent });
        assert.equal(most, concurrency, `${concurrency}: blobs in flight at most`);
      }

      const controller = new AbortController();
      let started = 0;
      const aborted = copy(f.store, 'v1', new RegistryStore(viaProxy, 'bounded/aborted'), {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'blob-start' && ++started === 2) controller.abort(new Error('stop here'));
        },
      });
      await assert.rejects(aborted, /stop here|abort/i);
      assert.equal(await viaProxy.headManifest('bounded/aborted', 'v1'), undefined, 'no tag after an aborted copy');
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  for (const [side, fromMemory] of [['source', false], ['sink', false], ['sink', true]] as const) {
    test(`a transfer cut mid-blob on the ${side} side${fromMemory ? ' (from memory)' : ''} resumes without sending the whole blob again`, async () => {
      const big = randomData(400_000);
      const mem = new MemoryStore();
      const image = await addImage(mem, { os: 'linux', architecture: 'amd64' }, [big]);
      await mem.pushManifest(image, { root: true, tag: 'big' });
      const repo = `cut/${side}${fromMemory ? '-memory' : ''}`;
      // The source side cuts a download from Wharf (going to Distribution); the sink side cuts a chunked
      // upload to Wharf (coming from Distribution), whose sessions survive a broken PATCH.
      const origin = side === 'source' ? wc : rc;
      const destination = side === 'source' ? rc : wc;
      if (!fromMemory) await copy(mem, 'big', new RegistryStore(origin, repo));
      const proxy = await startFaultProxy(wharf.url);
      const viaProxy = new RegistryClient(proxy.url, { credentials: false, retryBaseDelayMs: 5 });
      try {
        const bigDigest = sha256(big);
        let cuts = 0;
        let uploaded = 0;
        proxy.decide = (req) => {
          if (side === 'source' && req.method === 'GET' && req.url?.includes(`/blobs/${bigDigest}`) && cuts++ === 0) return { cutResponseAfter: 150_000 };
          if (side === 'sink' && req.method === 'PATCH') {
            req.on('data', (c: Buffer) => (uploaded += c.length));
            if (cuts++ === 1) return { cutRequestAfter: 30_000 };
          }
          return undefined;
        };
        // From memory, the resumed upload reads the source again and skips what the registry holds.
        const source = fromMemory ? mem : side === 'source' ? new RegistryStore(viaProxy, repo) : new RegistryStore(rc, repo);
        const sink = side === 'sink' ? new RegistryStore(viaProxy, repo, { chunkThreshold: 100_000, chunkSize: 100_000 }) : new RegistryStore(rc, repo);
        const r = await copy(source, 'big', sink);
        assert.equal(r.digest, image.digest);
        assert.ok(cuts >= 2, `the cut happened (${cuts} matching requests)`);
        const blob = await readAll(await destination.getBlob(repo, bigDigest));
        assert.ok(blob.equals(big), 'the target holds the whole blob');
        if (side === 'source') {
          // A download cut mid-way continues with Range from where it broke.
          const ranges = proxy.log.filter((l) => l.method === 'GET' && l.url.includes(`/blobs/${bigDigest}`)).map((l) => String(l.headers.range ?? ''));
          const resumedAt = ranges.map((r) => Number(/bytes=(\d+)-/.exec(r)?.[1] ?? 0)).filter((n) => n > 0);
          assert.ok(resumedAt.length >= 1 && resumedAt[0]! <= 150_000, `a download resumed past byte 0 (Ranges ${JSON.stringify(ranges)})`);
        } else {
          // The session survived: one PATCH from byte 0 and one session, the rest continues from the registry's Range.
          const patches = proxy.log.filter((l) => l.method === 'PATCH').map((l) => String(l.headers['content-range'] ?? ''));
          assert.equal(patches.filter((r) => r.startsWith('0-')).length, 1, `the blob was not sent again from byte 0: ${patches.join(', ')}`);
          assert.ok(uploaded >= big.length && uploaded < 2 * big.length, `${uploaded} bytes sent for a ${big.length}-byte blob`);
        }
      } finally {
        await viaProxy.close();
        await proxy.close();
      }
    });
  }
});

describe('locations', () => {
  test('parseLocation: layouts, archives and registry references (docker:// accepted)', () => {
    assert.deepEqual(parseLocation('oci:./dir:v1'), { kind: 'layout', path: './dir', reference: 'v1' });
    assert.deepEqual(parseLocation('oci:/tmp/x'), { kind: 'layout', path: '/tmp/x', reference: undefined });
    assert.deepEqual(parseLocation(`oci:/tmp/x:${sha256('a')}`), { kind: 'layout', path: '/tmp/x', reference: sha256('a') });
    assert.deepEqual(parseLocation('oci-archive:img.tar:latest'), { kind: 'archive', path: 'img.tar', reference: 'latest' });
    assert.deepEqual(parseLocation('localhost:5000/app:v1'), { kind: 'registry', registry: 'localhost:5000', repository: 'app', tag: 'v1', digest: undefined, reference: 'v1' });
    const d = sha256('x');
    assert.deepEqual(parseLocation(`docker://localhost:5000/team/app:v1@${d}`), { kind: 'registry', registry: 'localhost:5000', repository: 'team/app', tag: 'v1', digest: d, reference: d });
    assert.deepEqual(parseLocation('127.0.0.1:5000/app'), { kind: 'registry', registry: '127.0.0.1:5000', repository: 'app', tag: undefined, digest: undefined, reference: undefined });
  });

  test('parseLocation: clear errors', () => {
    assert.throws(() => parseLocation(''), /invalid location "": empty/);
    assert.throws(() => parseLocation('oci::v1'), /no path/);
    assert.throws(() => parseLocation('oci:dir:a:b'), /neither a ref name nor a digest/);
    assert.throws(() => parseLocation('dir:/tmp/x'), /the dir: transport is not supported/);
    assert.throws(() => parseLocation('localhost:5000/App'), /lower case/);
  });

  test('openLocation: a registry source defaults to latest; clients come from clientFor; layouts open', async () => {
    const made: string[] = [];
    const clients = registryClients({ credentials: false });
    const clientFor = (r: string) => {
      made.push(r);
      return clients.clientFor(r);
    };
    try {
      const src = await openLocation('localhost:5999/app', { role: 'source', clientFor });
      const dst = await openLocation('localhost:5999/other', { role: 'sink', clientFor });
      assert.equal(src.kind, 'registry');
      assert.equal(src.reference, 'latest');
      assert.equal(dst.reference, undefined);
      assert.deepEqual(made, ['localhost:5999', 'localhost:5999']);
      assert.ok(src.kind === 'registry' && dst.kind === 'registry' && src.store.client === dst.store.client, 'one client per registry');
      const other = clients.clientFor('localhost:6000');
      assert.ok(src.kind === 'registry' && other.transport === src.store.client.transport, 'one transport for every registry');
      const dir = tempDir('wharf-loc-');
      try {
        const sink = await openLocation(`oci:${join(dir, 'layout')}:v2`, { role: 'sink' });
        assert.equal(sink.kind, 'layout');
        assert.equal(sink.reference, 'v2');
        await sink.store.close();
        await assert.rejects(openLocation(`oci:${join(dir, 'missing')}`, { role: 'source' }), /missing/);
      } finally {
        removeDir(dir);
      }
    } finally {
      await clients.close();
    }
  });
});
