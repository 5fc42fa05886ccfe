// The one test suite every MetadataStore passes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MetadataStore, ManifestWrite } from '../../src/metadata/store.js';
import { runLifecycleTests } from './lifecycle.suite.js';
import { runCollectionTests } from './gc.suite.js';

export interface MetadataFactory {
  name: string;
  create(): Promise<MetadataStore>;
  /** Closes and reopens the same database (durability across restarts). */
  reopen(store: MetadataStore): Promise<MetadataStore>;
  destroy(store: MetadataStore): Promise<void>;
}

const dg = (c: string | number) => 'sha256:' + String(c).repeat(64).slice(0, 64);

function manifest(digest: string, extra: Partial<ManifestWrite> = {}): ManifestWrite {
  const body = Buffer.from(`{"m":"${digest}"}`);
  return { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: body.length, body, createdAt: 1, blobs: [], manifests: [], ...extra };
}

export function runMetadataSuite(factory: MetadataFactory): void {
  describe(`metadata store suite: ${factory.name}`, () => {
    let s: MetadataStore;
    before(async () => {
      s = await factory.create();
    });
    after(async () => {
      await factory.destroy(s);
    });

    test('blobs are scoped to repositories', async () => {
      await s.linkBlob('r/one', { digest: dg('a'), size: 10 });
      assert.deepEqual(await s.getRepositoryBlob('r/one', dg('a')), { digest: dg('a'), size: 10 });
      assert.equal(await s.getRepositoryBlob('r/two', dg('a')), undefined);
      assert.deepEqual(await s.getBlob(dg('a')), { digest: dg('a'), size: 10 });
      assert.deepEqual(await s.missingBlobs('r/one', [dg('a'), dg('b'), dg('b')]), [dg('b')]);
      assert.deepEqual(await s.missingBlobs('r/none', [dg('a')]), [dg('a')]);
      await s.linkBlob('r/one', { digest: dg('a'), size: 10 }); // idempotent
      assert.equal(await s.unlinkBlob('r/one', dg('a')), true);
      assert.equal(await s.unlinkBlob('r/one', dg('a')), false);
      assert.equal(await s.getRepositoryBlob('r/one', dg('a')), undefined);
      assert.ok(await s.getBlob(dg('a')), 'unlinking keeps the global record for GC to decide');
    });

    test('manifests, tags and deletes', async () => {
      await s.linkBlob('m', { digest: dg('c'), size: 1 });
      const m1 = manifest(dg(1), { blobs: [dg('c')] });
      await s.putManifest('m', m1, ['latest', 'v1']);
      assert.deepEqual((await s.getManifest('m', dg(1)))?.body, m1.body);
      assert.equal((await s.getManifestByTag('m', 'latest'))?.digest, dg(1));
      assert.equal(await s.getManifestByTag('m', 'nope'), undefined);
      assert.equal(await s.getManifest('other', dg(1)), undefined);
      // moving a tag
      await s.putManifest('m', manifest(dg(2)), ['latest']);
      assert.equal((await s.getManifestByTag('m', 'latest'))?.digest, dg(2));
      assert.equal((await s.getManifestByTag('m', 'v1'))?.digest, dg(1));
      assert.deepEqual(await s.missingManifests('m', [dg(1), dg(3)]), [dg(3)]);
      // delete a tag keeps the manifest
      assert.equal(await s.deleteTag('m', 'v1'), true);
      assert.equal(await s.deleteTag('m', 'v1'), false);
      assert.ok(await s.getManifest('m', dg(1)), 'await s.getManifest(\'m\', dg(1))');
      // delete a manifest removes its tags
      assert.equal(await s.deleteManifest('m', dg(2)), true);
      assert.equal(await s.getManifestByTag('m', 'latest'), undefined);
      assert.equal(await s.deleteManifest('m', dg(2)), false);
      // re-put after delete works
      await s.putManifest('m', manifest(dg(2)), ['again']);
      assert.equal((await s.getManifestByTag('m', 'again'))?.digest, dg(2));
    });

    test('tag listing is sorted in byte order and paginated', async () => {
      const tags = ['b', 'a', 'Z', '_x', '10', '9', 'a.b', 'a-b'];
      for (const t of tags) await s.putManifest('t', manifest(dg(7)), [t]);
      const sorted = [...tags].sort((x, y) => (Buffer.compare(Buffer.from(x), Buffer.from(y))));
      assert.deepEqual(await s.listTags('t', { limit: 100 }), sorted);
      assert.deepEqual(await s.listTags('t', { limit: 3 }), sorted.slice(0, 3));
      assert.deepEqual(await s.listTags('t', { limit: 3, last: sorted[2]! }), sorted.slice(3, 6));
      assert.deepEqual(await s.listTags('unknown', { limit: 3 }), []);
      assert.equal(await s.repositoryExists('t'), true);
      assert.equal(await s.repositoryExists('unknown'), false);
    });

    test('catalog lists repositories holding manifests, paginated', async () => {
      for (const r of ['cat/c', 'cat/a', 'cat/b']) await s.putManifest(r, manifest(dg(8)), []);
      await s.linkBlob('cat/blobs-only', { digest: dg('d'), size: 1 });
      const all = await s.listRepositories({ limit: 1000 });
      assert.ok(!all.includes('cat/blobs-only'), '!all.includes(\'cat/blobs-only\')');
      const cats = all.filter((r) => r.startsWith('cat/'));
      assert.deepEqual(cats, ['cat/a', 'cat/b', 'cat/c']);
      assert.deepEqual(await s.listRepositories({ last: 'cat/a', limit: 1 }), ['cat/b']);
    });

    test('referrers by subject', async () => {
      await s.putManifest('ref', manifest(dg('e'), { subject: dg('f'), artifactType: 'application/x.sig', annotations: { a: 'b' } }), []);
      await s.putManifest('ref', manifest(dg(9), { subject: dg('f') }), []);
      const refs = await s.listReferrers('ref', dg('f'));
      assert.equal(refs.length, 2);
      const sig = refs.find((r) => r.digest === dg('e'));
      assert.equal(sig?.artifactType, 'application/x.sig');
      assert.deepEqual(sig?.annotations, { a: 'b' });
      assert.deepEqual(await s.listReferrers('ref', dg(0)), []);
      assert.deepEqual(await s.listReferrers('other', dg('f')), []);
    });

    test('upload sessions', async () => {
      const id = '00000000-0000-4000-8000-000000000001';
      await s.createUpload({ id, repository: 'u', createdAt: 5 });
      assert.deepEqual(await s.getUpload(id), { id, repository: 'u', createdAt: 5 });
      await s.linkBlob('u', { digest: dg('9'), size: 3 }, id);
      assert.equal(await s.getUpload(id), undefined, 'completing an upload removes its session in the same step');
      await s.createUpload({ id, repository: 'u', createdAt: 6 });
      assert.equal(await s.deleteUpload(id), true);
      assert.equal(await s.deleteUpload(id), false);
    });

    test('API keys: create once per name, find, list by name, revoke', async () => {
      const key = { name: 'ci-deploy', subject: 'alice', secretHash: 'ab'.repeat(32), createdAt: 10, expiresAt: 20 };
      assert.equal(await s.createApiKey(key), true);
      assert.equal(await s.createApiKey({ ...key, subject: 'mallory' }), false, 'a second key of the same name is refused');
      assert.deepEqual(await s.findApiKey('ci-deploy'), key);
      assert.equal(await s.findApiKey('nope'), undefined);
      await s.createApiKey({ ...key, name: 'a-first' });
      assert.deepEqual((await s.listApiKeys()).map((k) => k.name), ['a-first', 'ci-deploy']);
      assert.equal(await s.revokeApiKey('ci-deploy'), true);
      assert.equal(await s.revokeApiKey('ci-deploy'), false);
      assert.equal(await s.findApiKey('ci-deploy'), undefined);
      assert.deepEqual((await s.listApiKeys()).map((k) => k.name), ['a-first']);
    });

    test('many concurrent writes all land, each answered after it is stored', async () => {
      const writes = Array.from({ length: 60 }, (_, i) =>
        s.putManifest(`conc/r${i % 3}`, manifest(dg(`c${i}`.padEnd(2, '0'))), [`t${i}`]).then(async () => {
          assert.ok(await s.getManifestByTag(`conc/r${i % 3}`, `t${i}`), 'visible once acknowledged');
        }),
      );
      await Promise.all(writes);
      const tags = [0, 1, 2].map((r) => s.listTags(`conc/r${r}`, { limit: 100 }));
      assert.equal((await Promise.all(tags)).flat().length, 60);
    });

    runLifecycleTests(() => s);
    runCollectionTests(() => s);

    test('everything survives a reopen', async () => {
      await s.putManifest('durable', manifest(dg('a1')), ['kept']);
      await s.createApiKey({ name: 'durable-key', subject: 'bob', secretHash: 'cd'.repeat(32), createdAt: 1, expiresAt: 2 });
      s = await factory.reopen(s);
      assert.equal((await s.getManifestByTag('durable', 'kept'))?.digest, dg('a1'));
      assert.equal((await s.findApiKey('durable-key'))?.subject, 'bob');
    });
  });
}
