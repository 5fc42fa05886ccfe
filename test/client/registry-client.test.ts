// Every RegistryClient method against two real servers: Wharf (in-process) and the reference registry
// (Debian's docker-registry, CNCF Distribution 2.8).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { RegistryClient, NotFoundError, RegistryClientError, MediaType, referrersTag } from '../../src/client/index.js';
import { buildImage, pushImage, randomData, readAll, removeDir, sha256, targets, tempDir, uniqueRepo, type Target } from './helpers.js';

for (const { name, start } of targets) {
  describe(`RegistryClient against ${name}`, () => {
    let target: Target;
    let client: RegistryClient;
    let dir: string;

    before(async () => {
      target = await start();
      // host:port without a scheme: loopback hosts are spoken to over http.
      client = new RegistryClient(target.host, { credentials: false, retryBaseDelayMs: 10 });
      dir = tempDir('wharf-client-files-');
    });

    after(async () => {
      await client?.close();
      await target?.close();
      removeDir(dir);
    });

    test('ping', async () => {
      assert.equal(await client.baseUrl(), target.url);
      const r = await client.ping();
      assert.equal(r.apiVersion, 'registry/2.0');
    });

    test('uploadBlob (one request), headBlob, getBlob, upload again is skipped', async () => {
      const repo = uniqueRepo();
      const data = randomData(200_000);
      const up = await client.uploadBlob(repo, data);
      assert.equal(up.digest, sha256(data));
      assert.equal(up.existed, false);
      assert.deepEqual(await client.headBlob(repo, up.digest), { digest: up.digest, size: data.length });
      const stream = await client.getBlob(repo, up.digest);
      assert.equal(stream.size, data.length);
      assert.equal(stream.verified, true);
      assert.ok((await readAll(stream)).equals(data), '(await readAll(stream)).equals(data)');
      const again = await client.uploadBlob(repo, data);
      assert.equal(again.existed, true);
    });

    test('uploadBlob from a file, from a stream with a digest and from a stream without one', async () => {
      const repo = uniqueRepo();
      const fileData = randomData(150_000);
      const path = join(dir, 'blob.bin');
      writeFileSync(path, fileData);
      const a = await client.uploadBlob(repo, { path });
      assert.equal(a.digest, sha256(fileData));
      assert.equal(a.size, fileData.length);

      const s1 = randomData(90_000);
      const b = await client.uploadBlob(repo, Readable.from([s1.subarray(0, 40_000), s1.subarray(40_000)]), { digest: sha256(s1), size: s1.length });
      assert.equal(b.digest, sha256(s1));

      const s2 = randomData(70_000);
      const c = await client.uploadBlob(repo, Readable.from([s2.subarray(0, 10_000), s2.subarray(10_000)]));
      assert.equal(c.digest, sha256(s2));

      for (const [d, bytes] of [[a.digest, fileData], [b.digest, s1], [c.digest, s2]] as const) {
        assert.ok((await readAll(await client.getBlob(repo, d))).equals(bytes), `blob ${d} reads back`);
      }
    });

    test('uploadBlob chunked (PATCH with Content-Range), from bytes and from a stream', async () => {
      const repo = uniqueRepo();
      const data = randomData(300_000);
      const progress: number[] = [];
      const r = await client.uploadBlob(repo, data, { chunkSize: 64 * 1024, onProgress: (n) => progress.push(n) });
      assert.equal(r.digest, sha256(data));
      assert.deepEqual(progress, [65536, 131072, 196608, 262144, 300000]);
      assert.ok((await readAll(await client.getBlob(repo, r.digest))).equals(data), '(await readAll(await client.getBlob(repo, r.digest))).equals(data)');

      const streamed = randomData(100_001);
      const r2 = await client.uploadBlob(repo, Readable.from([streamed]), { chunkSize: 30_000 });
      assert.equal(r2.digest, sha256(streamed));
      assert.equal(r2.size, streamed.length);
      assert.ok((await readAll(await client.getBlob(repo, r2.digest))).equals(streamed), '(await readAll(await client.getBlob(repo, r2.digest))).equals(streamed)');
    });

    test('the upload endpoints one by one: startUpload, uploadChunk, uploadStatus, completeUpload, cancelUpload', async () => {
      const repo = uniqueRepo();
      const data = randomData(5000);
      let s = await client.startUpload(repo);
      assert.equal(s.offset, 0);
      s = await client.uploadChunk(s, data.subarray(0, 2000));
      assert.equal(s.offset, 2000);
      s = await client.uploadStatus(s);
      assert.equal(s.offset, 2000);
      s = await client.uploadChunk(s, data.subarray(2000, 4000));
      const location = await client.completeUpload(s, sha256(data), data.subarray(4000));
      assert.ok(location?.includes(sha256(data)), 'location?.includes(sha256(data))');
      assert.equal((await client.headBlob(repo, sha256(data)))?.size, 5000);

      const abandoned = await client.startUpload(repo);
      await client.cancelUpload(abandoned);
      await assert.rejects(client.uploadStatus(abandoned), (e: unknown) => e instanceof NotFoundError && e.code === 'BLOB_UPLOAD_UNKNOWN');
    });

    test('getBlob with a Range', async () => {
      const repo = uniqueRepo();
      const data = randomData(10_000);
      const { digest } = await client.uploadBlob(repo, data);
      const part = await client.getBlob(repo, digest, { range: { start: 100, end: 199 } });
      assert.equal(part.verified, false);
      assert.ok((await readAll(part)).equals(data.subarray(100, 200)), '(await readAll(part)).equals(data.subarray(100, 200))');
      const tail = await client.getBlob(repo, digest, { range: { start: 9000 } });
      assert.equal(tail.size, 10_000);
      assert.ok((await readAll(tail)).equals(data.subarray(9000)), '(await readAll(tail)).equals(data.subarray(9000))');
    });

    test('cross-repository mount, and a mount that falls back to a session', async () => {
      const from = uniqueRepo();
      const to = uniqueRepo();
      const data = randomData(4000);
      await client.uploadBlob(from, data);
      const r = await client.uploadBlob(to, data, { mountFrom: from });
      assert.equal(r.mounted, true);
      assert.equal((await client.headBlob(to, r.digest))?.size, 4000);

      const absent = sha256(randomData(10));
      const m = await client.mountBlob(uniqueRepo(), absent, from);
      assert.equal(m.mounted, false);
      if (!m.mounted) await client.cancelUpload(m.session);

      // mountFrom a repository without the blob: the bytes are uploaded into the session the mount opened.
      const other = randomData(3000);
      const r2 = await client.uploadBlob(uniqueRepo(), other, { mountFrom: from });
      assert.equal(r2.mounted, false);
      assert.equal(r2.digest, sha256(other));
    });

    test('headBlob / getBlob / deleteBlob of a missing blob, and deleteBlob', async () => {
      const repo = uniqueRepo();
      const data = randomData(1000);
      const { digest } = await client.uploadBlob(repo, data);
      const absent = sha256(randomData(16));
      assert.equal(await client.headBlob(repo, absent), undefined);
      await assert.rejects(client.getBlob(repo, absent), (e: unknown) => e instanceof NotFoundError && e.status === 404 && e.code === 'BLOB_UNKNOWN');
      await client.deleteBlob(repo, digest);
      assert.equal(await client.headBlob(repo, digest), undefined);
      await assert.rejects(client.deleteBlob(repo, digest), (e: unknown) => e instanceof RegistryClientError && e.status === 404);
    });

    test('putManifest with several tags, getManifest, headManifest, deleteManifest', async () => {
      const repo = uniqueRepo();
      const image = buildImage();
      await client.uploadBlob(repo, image.config);
      await client.uploadBlob(repo, image.layers[0]!);
      const put = await client.putManifest(repo, 'v1', image.manifest, { tags: ['latest', 'stable'] });
      assert.equal(put.digest, image.digest);
      assert.deepEqual(put.tags, ['v1', 'latest', 'stable']);
      for (const ref of ['v1', 'latest', 'stable', image.digest]) {
        const m = await client.getManifest(repo, ref);
        assert.equal(m.digest, image.digest, ref);
        assert.equal(m.mediaType, MediaType.ociManifest);
        assert.ok(m.bytes.equals(image.manifest), 'm.bytes.equals(image.manifest)');
      }
      assert.deepEqual(await client.headManifest(repo, 'stable'), { digest: image.digest, mediaType: MediaType.ociManifest, size: image.manifest.length });
      assert.equal(await client.headManifest(repo, 'nope'), undefined);
      await assert.rejects(client.getManifest(repo, 'nope'), (e: unknown) => e instanceof NotFoundError && e.code === 'MANIFEST_UNKNOWN');

      // An index over the image, pushed by digest.
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociManifest, digest: image.digest, size: image.manifest.length }] }));
      const pi = await client.putManifest(repo, sha256(index), index);
      assert.equal(pi.digest, sha256(index));
      assert.equal((await client.getManifest(repo, pi.digest)).mediaType, MediaType.ociIndex);

      await client.deleteManifest(repo, pi.digest);
      assert.equal(await client.headManifest(repo, pi.digest), undefined);
      await client.deleteManifest(repo, image.digest);
      assert.equal(await client.headManifest(repo, image.digest), undefined);
      assert.equal(await client.headManifest(repo, 'latest'), undefined);
    });

    test('listTags follows Link pagination; async iteration and collect', async () => {
      const repo = uniqueRepo();
      const image = buildImage();
      const tags = ['a1', 'a2', 'b1', 'b2', 'c1'];
      await pushImage(client, repo, image, tags[0]);
      for (const t of tags.slice(1)) await client.putManifest(repo, t, image.manifest);
      // Distribution lists tags in storage order without n; sorted when paginating.
      assert.deepEqual((await client.listTags(repo).collect()).sort(), tags);
      const pages: string[][] = [];
      for await (const page of client.listTags(repo, { pageSize: 2 }).pages()) pages.push(page);
      if (name === 'reference') {
        // Distribution 2.8 ignores n and last on /tags/list: one page with everything.
        assert.deepEqual(pages.flat().sort(), tags);
      } else {
        assert.deepEqual(pages, [['a1', 'a2'], ['b1', 'b2'], ['c1']]);
        const seen: string[] = [];
        for await (const t of client.listTags(repo, { pageSize: 2, last: 'a2' })) seen.push(t);
        assert.deepEqual(seen, ['b1', 'b2', 'c1']);
        assert.deepEqual(await client.listTags(repo, { pageSize: 2 }).collect(3), ['a1', 'a2', 'b1']);
      }
      await assert.rejects(client.listTags(uniqueRepo('never')).collect(), (e: unknown) => e instanceof NotFoundError && e.code === 'NAME_UNKNOWN');
    });

    test('catalog follows Link pagination', async () => {
      const repos = [uniqueRepo('cat'), uniqueRepo('cat'), uniqueRepo('cat')];
      for (const r of repos) await pushImage(client, r, buildImage({ layers: [randomData(100)] }), 'latest');
      const all = await client.catalog().collect();
      for (const r of repos) assert.ok(all.includes(r), `${r} in catalog`);
      const paged = await client.catalog({ pageSize: 1 }).collect();
      assert.deepEqual(paged, all);
      assert.deepEqual([...all].sort(), all);
    });

    test('referrers: the API where there is one, the sha256-<hex> tag schema where it answers 404', async () => {
      const repo = uniqueRepo();
      const subject = buildImage();
      await pushImage(client, repo, subject, 'app');
      const sbomType = 'application/vnd.example.sbom.v1+json';
      const sigType = 'application/vnd.example.sig.v1+json';
      const subjectDesc = { mediaType: MediaType.ociManifest, digest: subject.digest, size: subject.manifest.length };
      const sbom = buildImage({ layers: [randomData(50)], subject: subjectDesc, artifactType: sbomType });
      const sig = buildImage({ layers: [randomData(60)], subject: subjectDesc, artifactType: sigType });
      await pushImage(client, repo, sbom);
      await pushImage(client, repo, sig);
      if (name === 'reference') {
        // Distribution 2.8 has no referrers API: a pusher maintains the tag-schema index itself.
        const index = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.ociIndex,
            manifests: [
              { mediaType: MediaType.ociManifest, digest: sbom.digest, size: sbom.manifest.length, artifactType: sbomType },
              { mediaType: MediaType.ociManifest, digest: sig.digest, size: sig.manifest.length, artifactType: sigType },
            ],
          }),
        );
        await client.putManifest(repo, referrersTag(subject.digest), index);
      }
      const all = await client.referrers(repo, subject.digest);
      assert.equal(all.source, name === 'wharf' ? 'api' : 'tag-schema');
      assert.deepEqual(all.manifests.map((d) => d.digest).sort(), [sbom.digest, sig.digest].sort());
      const onlySbom = await client.referrers(repo, subject.digest, { artifactType: sbomType });
      assert.deepEqual(onlySbom.manifests.map((d) => d.digest), [sbom.digest]);
      assert.equal(onlySbom.filteredByRegistry, name === 'wharf');
      const none = await client.referrers(repo, sha256('nothing refers to this'));
      assert.deepEqual(none.manifests, []);
    });
  });
}
