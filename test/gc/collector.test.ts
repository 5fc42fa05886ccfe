// The garbage collector and the upload purger in-process, on real storage (filesystem; memory as an object
// store for the segmented upload layout) and each metadata store (SQLite, and a real PostgreSQL): what is
// reclaimed, what is kept (referenced blobs, index children, blobs shared between repositories, fresh blobs),
// dry run equal to the real run, two collectors at once, and the push path racing a collection.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { utimesSync } from 'node:fs';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Registry } from '../../src/registry/index.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite.js';
import { PostgresMetadataStore } from '../../src/metadata/postgres.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import { openStorage, isNotFound, type StorageDriver } from '../../src/storage/index.js';
import { MemoryDriver } from '../../src/storage/drivers/memory.js';
import { digestOf, parseDigest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';
import { blobPath, uploadPath } from '../../src/registry/paths.js';
import { GarbageCollector, type CollectReport } from '../../src/gc/collector.js';
import { purgeUploads } from '../../src/gc/upload-purger.js';
import { parseDuration, formatDuration, DurationError } from '../../src/gc/duration.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import { createPostgresDatabase, sharedPostgres, type PostgresDatabase } from '../helpers/services.js';

const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const indexType = 'application/vnd.oci.image.index.v1+json';

interface Image {
  manifest: string;
  config: string;
  layers: string[];
  body: Buffer;
}

async function putBlob(reg: Registry, repo: string, bytes: Buffer): Promise<string> {
  const digest = digestOf(bytes);
  await reg.uploads.monolithic(repo, parseDigest(digest), { body: Readable.from([bytes]), length: bytes.length });
  return digest;
}

async function pushImage(reg: Registry, repo: string, layers: Buffer[], tag?: string): Promise<Image> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const configDigest = await putBlob(reg, repo, config);
  const layerDigests: string[] = [];
  for (const l of layers) layerDigests.push(await putBlob(reg, repo, l));
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigests[i], size: l.length })),
    }),
  );
  const { digest } = await reg.manifests.put(repo, tag ?? digestOf(body), body, manifestType);
  return { manifest: digest, config: configDigest, layers: layerDigests, body };
}

async function hasBytes(storage: StorageDriver, digest: string): Promise<boolean> {
  try {
    await storage.stat(blobPath(parseDigest(digest)));
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Reads a blob through the registry, as a pull does, and checks its digest. */
async function pullable(reg: Registry, repo: string, digest: string): Promise<boolean> {
  try {
    const info = await reg.blobs.stat(repo, digest);
    const chunks: Buffer[] = [];
    for await (const c of await reg.blobs.open(info)) chunks.push(c as Buffer);
    return digestOf(Buffer.concat(chunks)) === digest;
  } catch (e) {
    if (e instanceof RegistryError && e.code === 'BLOB_UNKNOWN') return false;
    throw e;
  }
}

/**
 * The store with `method` wrapped so that `first` runs (once) just before the real call: puts a collection at
 * an exact point of the push path, deterministically.
 */
function interpose(store: MetadataStore, method: keyof MetadataStore, first: () => Promise<unknown>): MetadataStore {
  let ran = false;
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== method) return value.bind(target);
      return async (...args: unknown[]) => {
        if (!ran) {
          ran = true;
          await first();
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const digests = (r: CollectReport) => ({ blobs: r.blobs.map((b) => b.digest).sort(), links: r.links.map((l) => `${l.repository}@${l.digest}`).sort() });

interface StoreFactory {
  name: string;
  open(): Promise<{ metadata: MetadataStore; second: () => Promise<MetadataStore>; cleanup(): Promise<void> }>;
}

function collectorTests(factory: StoreFactory): void {
  describe(`garbage collector on ${factory.name}`, () => {
    let dir: string;
    let storage: StorageDriver;
    let metadata: MetadataStore;
    let reg: Registry;
    let gc: GarbageCollector;
    let cleanup: () => Promise<void>;
    let second: () => Promise<MetadataStore>;

    before(async () => {
      dir = tempDir('wharf-gc-');
      storage = await openStorage(join(dir, 'blobs'));
      ({ metadata, second, cleanup } = await factory.open());
      reg = new Registry(storage, metadata);
      gc = new GarbageCollector(storage, metadata);
    });
    after(async () => {
      await cleanup();
      removeDir(dir);
    });

    test('an unreferenced blob is reclaimed after the grace period, bytes and row', async () => {
      const bytes = randomBytes(3000);
      const loose = await putBlob(reg, 'gc/loose', bytes);
      const kept = await gc.collect({ graceMs: 3_600_000 });
      assert.ok(!kept.blobs.some((b) => b.digest === loose), 'inside the grace period it stays');
      assert.equal(await pullable(reg, 'gc/loose', loose), true);
      const r = await gc.collect({ graceMs: 0 });
      assert.ok(r.blobs.some((b) => b.digest === loose), 'reclaimed once older than the grace');
      assert.ok(r.links.some((l) => l.repository === 'gc/loose' && l.digest === loose), 'its repository link went first');
      assert.ok(r.bytesReclaimed >= 3000, `bytes reclaimed counted (${r.bytesReclaimed})`);
      assert.equal(await hasBytes(storage, loose), false, 'bytes deleted');
      assert.equal(await metadata.getBlob(loose), undefined, 'row deleted');
      assert.equal(await pullable(reg, 'gc/loose', loose), false);
      // The same content can be pushed again afterwards.
      await putBlob(reg, 'gc/loose', bytes);
      assert.equal(await pullable(reg, 'gc/loose', loose), true, 'pushed again after it was reclaimed');
    });

    test('blobs of a manifest are kept, tagged or not; after DELETE they go', async () => {
      const tagged = await pushImage(reg, 'gc/img', [randomBytes(2000), randomBytes(100)], 'v1');
      const untagged = await pushImage(reg, 'gc/img', [randomBytes(500)]);
      await gc.collect({ graceMs: 0 });
      for (const img of [tagged, untagged]) {
        for (const d of [img.config, ...img.layers]) assert.equal(await pullable(reg, 'gc/img', d), true, `${d} of a kept manifest stays pullable`);
      }
      await reg.manifests.delete('gc/img', untagged.manifest);
      const r = await gc.collect({ graceMs: 0 });
      assert.deepEqual(r.blobs.map((b) => b.digest).filter((d) => [untagged.config, ...untagged.layers].includes(d)).sort(), [untagged.config, ...untagged.layers].sort());
      for (const d of [untagged.config, ...untagged.layers]) assert.equal(await hasBytes(storage, d), false, `${d} bytes gone`);
      for (const d of [tagged.config, ...tagged.layers]) assert.equal(await pullable(reg, 'gc/img', d), true, `${d} still pullable`);
    });

    test('an index holds its children and their blobs; a referrer is a manifest and holds its blobs', async () => {
      const child = await pushImage(reg, 'gc/index', [randomBytes(700)]);
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests: [{ mediaType: manifestType, digest: child.manifest, size: child.body.length }] }));
      await reg.manifests.put('gc/index', 'multi', index, indexType);
      const sig = Buffer.from('signature');
      const sigDigest = await putBlob(reg, 'gc/index', sig);
      const emptyConfig = await putBlob(reg, 'gc/index', Buffer.from('{}'));
      const referrer = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: manifestType,
          artifactType: 'application/x.sig',
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyConfig, size: 2 },
          layers: [{ mediaType: 'application/x.sig', digest: sigDigest, size: sig.length }],
          subject: { mediaType: manifestType, digest: child.manifest, size: child.body.length },
        }),
      );
      await reg.manifests.put('gc/index', digestOf(referrer), referrer, manifestType);
      await gc.collect({ graceMs: 0 });
      assert.ok(await reg.manifests.get('gc/index', child.manifest), 'the untagged child manifest stays');
      for (const d of [child.config, ...child.layers, sigDigest, emptyConfig]) assert.equal(await pullable(reg, 'gc/index', d), true, `${d} stays pullable`);
    });

    test('a blob shared by two repositories stays until neither references it', async () => {
      const shared = randomBytes(4096);
      const a = await pushImage(reg, 'gc/share-a', [shared]);
      const b = await pushImage(reg, 'gc/share-b', [shared]);
      const layer = a.layers[0]!;
      assert.equal(b.layers[0], layer);
      await reg.manifests.delete('gc/share-a', a.manifest);
      const first = await gc.collect({ graceMs: 0 });
      assert.ok(first.links.some((l) => l.repository === 'gc/share-a' && l.digest === layer), 'the link in the repository that let go is removed');
      assert.ok(!first.blobs.some((x) => x.digest === layer), 'the blob itself stays');
      assert.equal(await pullable(reg, 'gc/share-b', layer), true);
      assert.equal(await pullable(reg, 'gc/share-a', layer), false, 'no longer served by the repository that deleted it');
      await reg.manifests.delete('gc/share-b', b.manifest);
      const second = await gc.collect({ graceMs: 0 });
      assert.ok(second.blobs.some((x) => x.digest === layer), 'reclaimed once both let go');
      assert.equal(await hasBytes(storage, layer), false);
    });

    test('a dry run reports exactly what the real run then deletes, and deletes nothing', async () => {
      await gc.collect({ graceMs: 0 }); // start from a clean state
      const kept = await pushImage(reg, 'gc/dry', [randomBytes(300)], 'keep');
      const gone = await pushImage(reg, 'gc/dry', [randomBytes(300), randomBytes(1)]);
      await reg.manifests.delete('gc/dry', gone.manifest);
      await putBlob(reg, 'gc/dry-loose', randomBytes(50));
      await reg.uploads.mount('gc/dry-mounted', kept.layers[0]!, 'gc/dry');
      const dry = await gc.collect({ graceMs: 0, dryRun: true });
      assert.ok(dry.blobs.length >= 3 && dry.links.length >= 4, `the dry run found work (${dry.blobs.length} blobs, ${dry.links.length} links)`);
      for (const d of [gone.config, ...gone.layers]) assert.equal(await hasBytes(storage, d), true, 'a dry run deletes nothing');
      assert.equal(await pullable(reg, 'gc/dry-mounted', kept.layers[0]!), true, 'a dry run removes no link');
      const real = await gc.collect({ graceMs: 0 });
      assert.deepEqual(digests(real), digests(dry));
      assert.equal(real.bytesReclaimed, dry.bytesReclaimed);
      assert.equal(await pullable(reg, 'gc/dry', kept.layers[0]!), true, 'the mounted-from copy stays: a manifest uses it');
      assert.deepEqual(digests(await gc.collect({ graceMs: 0, dryRun: true })), { blobs: [], links: [] }, 'nothing left');
    });

    test('two collectors on separate connections at once reclaim each blob once', async () => {
      const other = new GarbageCollector(storage, await second());
      const loose = await Promise.all(Array.from({ length: 20 }, (_, i) => putBlob(reg, `gc/two/${i % 3}`, randomBytes(100 + i))));
      const [r1, r2] = await Promise.all([gc.collect({ graceMs: 0 }), other.collect({ graceMs: 0 })]);
      const all = [...r1.blobs, ...r2.blobs].map((b) => b.digest).filter((d) => loose.includes(d)).sort();
      assert.deepEqual(all, [...loose].sort(), 'every loose blob reclaimed by exactly one collector');
      for (const d of loose) assert.equal(await hasBytes(storage, d), false);
    });

    test('a fresh upload of a digest being collected is never lost, and a manifest never commits without its blob', async () => {
      // Rounds of: a collector with grace 0, and at the same moment a client re-uploading the same blob and
      // pushing a manifest for it. Whatever the interleaving, a committed manifest's blobs are readable.
      let committed = 0;
      for (let round = 0; round < 25; round++) {
        const layer = randomBytes(1500);
        const digest = await putBlob(reg, 'gc/race', layer);
        const push = (async () => {
          for (let attempt = 0; attempt < 5; attempt++) {
            await putBlob(reg, 'gc/race', layer);
            const config = await putBlob(reg, 'gc/race', Buffer.from(`{"round":${round}}`));
            const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: manifestType, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: `{"round":${round}}`.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: layer.length }] }));
            try {
              await reg.manifests.put('gc/race', `r${round}`, body, manifestType);
              return true;
            } catch (e) {
              if (!(e instanceof RegistryError && e.code === 'MANIFEST_BLOB_UNKNOWN')) throw e;
            }
          }
          return false;
        })();
        await Promise.all([gc.collect({ graceMs: 0 }), push]);
        if (await push) committed++;
        const m = await reg.manifests.get('gc/race', `r${round}`).catch(() => undefined);
        if (m) assert.equal(await pullable(reg, 'gc/race', digest), true, `round ${round}: the committed manifest's layer is readable`);
        await gc.collect({ graceMs: 0 });
        if (m) assert.equal(await pullable(reg, 'gc/race', digest), true, `round ${round}: and stays so after another collection`);
      }
      assert.ok(committed > 0, 'some pushes committed');
    });

    test('a collection between the manifest check and its commit: the PUT fails with MANIFEST_BLOB_UNKNOWN, never commits without its blob', async () => {
      const layer = randomBytes(900);
      const layerDigest = await putBlob(reg, 'gc/between', layer);
      const config = Buffer.from('{"between":true}');
      const configDigest = await putBlob(reg, 'gc/between', config);
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: manifestType, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }] }));
      let collected: CollectReport | undefined;
      const racing = new Registry(storage, interpose(metadata, 'putManifest', async () => (collected = await gc.collect({ graceMs: 0 }))));
      await assert.rejects(racing.manifests.put('gc/between', 'v1', body, manifestType), (e: unknown) => e instanceof RegistryError && e.code === 'MANIFEST_BLOB_UNKNOWN');
      assert.ok(collected?.blobs.some((b) => b.digest === layerDigest), 'the collection did reclaim the layer in between');
      assert.equal(await metadata.getManifestByTag('gc/between', 'v1'), undefined, 'no manifest without its blobs');
      // The client uploads again and pushes: now it commits, whole.
      await putBlob(reg, 'gc/between', layer);
      await putBlob(reg, 'gc/between', config);
      await reg.manifests.put('gc/between', 'v1', body, manifestType);
      assert.equal(await pullable(reg, 'gc/between', layerDigest), true);
    });

    for (const how of ['monolithic', 'session'] as const) {
      test(`a collection between an upload writing its bytes and recording them (${how}) leaves the blob alone`, async () => {
        const bytes = randomBytes(1200);
        const digest = await putBlob(reg, 'gc/claimed', bytes);
        await reg.blobs.delete('gc/claimed', digest); // unlinked: a candidate as soon as nothing claims it
        let collected: CollectReport | undefined;
        const racing = new Registry(storage, interpose(metadata, 'linkBlob', async () => (collected = await gc.collect({ graceMs: 0 }))));
        if (how === 'monolithic') {
          await racing.uploads.monolithic('gc/claimed', parseDigest(digest), { body: Readable.from([bytes]), length: bytes.length });
        } else {
          const s = await racing.uploads.start('gc/claimed');
          await racing.uploads.append('gc/claimed', s.id, { body: Readable.from([bytes]), length: bytes.length });
          await racing.uploads.complete('gc/claimed', s.id, parseDigest(digest), undefined);
        }
        assert.ok(collected, 'the collection ran in between');
        assert.ok(!collected.blobs.some((b) => b.digest === digest), 'the claimed digest was not reclaimed');
        assert.equal(await pullable(reg, 'gc/claimed', digest), true, 'the uploaded blob is whole');
      });
    }

    test('old upload sessions are purged with their bytes; young ones and claims in use stay', async () => {
      const hour = 3_600_000;
      // A session started two hours ago (its record says so), with bytes.
      const old = { id: '0e0e0e0e-0000-4000-8000-000000000001' };
      await metadata.createUpload({ id: old.id, repository: 'gc/uploads', createdAt: Date.now() - 2 * hour });
      await reg.uploads.append('gc/uploads', old.id, { body: Readable.from([randomBytes(1000)]), length: 1000 });
      // Session bytes without a record, last written two hours ago.
      const orphan = '0f0f0f0f-0000-4000-8000-000000000001';
      await storage.putContent(uploadPath(orphan), randomBytes(10));
      const twoHoursAgo = new Date(Date.now() - 2 * hour);
      utimesSync(join(dir, 'blobs', uploadPath(orphan)), twoHoursAgo, twoHoursAgo);
      const young = await reg.uploads.start('gc/uploads');
      await reg.uploads.append('gc/uploads', young.id, { body: Readable.from([randomBytes(10)]), length: 10 });
      const dry = await purgeUploads(storage, metadata, { maxAgeMs: hour, dryRun: true });
      assert.ok(dry.uploads.some((u) => u.id === old.id), 'dry run lists the old session');
      assert.ok(dry.orphans.includes(orphan), 'dry run lists the orphaned bytes');
      assert.ok(await metadata.getUpload(old.id), 'dry run removes nothing');
      const r = await purgeUploads(storage, metadata, { maxAgeMs: hour });
      assert.deepEqual(r.uploads.map((u) => u.id).filter((id) => id === old.id || id === young.id), [old.id]);
      assert.ok(r.bytes >= 1010, `bytes reclaimed counted (${r.bytes})`);
      assert.equal(await metadata.getUpload(old.id), undefined);
      await assert.rejects(storage.stat(uploadPath(old.id)), (e) => isNotFound(e));
      await assert.rejects(storage.stat(uploadPath(orphan)), (e) => isNotFound(e));
      await assert.rejects(reg.uploads.status('gc/uploads', old.id), (e) => e instanceof RegistryError && e.code === 'BLOB_UPLOAD_UNKNOWN');
      assert.equal((await reg.uploads.status('gc/uploads', young.id)).size, 10, 'the young session is untouched');
      const none = await purgeUploads(storage, metadata, { maxAgeMs: hour });
      assert.deepEqual(none.uploads, []);
    });

    test('upload purge on an object store (segmented session bytes)', async () => {
      const objects = new MemoryDriver({ objectStore: { minConcatPart: 0 } });
      const objectsReg = new Registry(objects, metadata);
      const s = await objectsReg.uploads.start('gc/segments');
      for (let i = 0; i < 3; i++) await objectsReg.uploads.append('gc/segments', s.id, { body: Readable.from([randomBytes(100)]), length: 100 });
      const segments = [];
      for await (const f of objects.walk(uploadPath(s.id))) segments.push(f.path);
      assert.equal(segments.length, 3, 'three segment objects stored');
      await new Promise((r) => setTimeout(r, 10));
      const r = await purgeUploads(objects, metadata, { maxAgeMs: 5 });
      assert.ok(r.uploads.some((u) => u.id === s.id), 'purged');
      const left = [];
      for await (const f of objects.walk('_uploads')) left.push(f.path);
      assert.deepEqual(left, [], 'every segment removed');
    });
  });
}

collectorTests({
  name: 'SQLite',
  async open() {
    const dir = tempDir('wharf-gc-db-');
    const file = join(dir, 'wharf.db');
    const metadata = new SqliteMetadataStore(file);
    const opened: MetadataStore[] = [metadata];
    return {
      metadata,
      second: async () => {
        const s = new SqliteMetadataStore(file);
        opened.push(s);
        return s;
      },
      async cleanup() {
        for (const s of opened) await s.close();
        removeDir(dir);
      },
    };
  },
});

collectorTests({
  name: 'PostgreSQL',
  async open() {
    const db: PostgresDatabase = await createPostgresDatabase(await sharedPostgres(), 'wharf_gc');
    const metadata = await PostgresMetadataStore.open(db.url);
    const opened: MetadataStore[] = [metadata];
    return {
      metadata,
      second: async () => {
        const s = await PostgresMetadataStore.open(db.url);
        opened.push(s);
        return s;
      },
      async cleanup() {
        for (const s of opened) await s.close();
        await db.drop();
      },
    };
  },
});

test('durations: flags and config values', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('250ms'), 250);
  for (const bad of ['', '5', '1x', '-1h', 'h', '1h 30m']) assert.throws(() => parseDuration(bad), DurationError, bad);
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(0), '0');
});
