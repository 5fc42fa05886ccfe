// Upload sessions through the registry domain (no HTTP), on both byte layouts: appended files (filesystem)
// and segments + server-side concat (object stores; the memory driver in object-store mode).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { Registry } from '../../src/registry/index.js';
import { openStorage, type StorageDriver } from '../../src/storage/index.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite.js';
import { parseDigest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';
import { tempDir, removeDir } from '../helpers/processes.js';

const sha = (b: Buffer, alg: 'sha256' | 'sha512' = 'sha256') => parseDigest(`${alg}:${createHash(alg).update(b).digest('hex')}`);
const chunk = (b: Buffer, start?: number) => ({
  body: Readable.from([b]),
  length: b.length,
  ...(start === undefined ? {} : { range: { start, end: start + b.length - 1 } }),
});

async function readBlob(r: Registry, repo: string, digest: string): Promise<Buffer> {
  const info = await r.blobs.stat(repo, digest);
  const parts: Buffer[] = [];
  for await (const c of await r.blobs.open(info)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

for (const layout of [
  { name: 'appended (filesystem)', storage: (dir: string) => `file://${join(dir, 'blobs')}` },
  { name: 'segmented (object store, 1 KiB minimum part)', storage: () => 'memory:?minConcatPart=1024' },
]) {
  describe(`uploads: ${layout.name}`, () => {
    const dir = tempDir('wharf-uploads-');
    let storage: StorageDriver;
    const metadata = new SqliteMetadataStore(join(dir, 'wharf.db'));
    const open = async () => {
      storage ??= await openStorage(layout.storage(dir));
      return new Registry(storage, metadata);
    };
    after(async () => {
      await metadata.close();
      removeDir(dir);
    });

    test('many small and large chunks complete to the right bytes', async () => {
      const r = await open();
      const pieces = [randomBytes(10), randomBytes(300), randomBytes(2000), randomBytes(5), randomBytes(4096), randomBytes(1)];
      const all = Buffer.concat(pieces);
      const { id } = await r.uploads.start('a');
      let at = 0;
      for (const p of pieces) {
        const { size } = await r.uploads.append('a', id, chunk(p, at));
        at += p.length;
        assert.equal(size, at);
        assert.equal((await r.uploads.status('a', id)).size, at);
      }
      const blob = await r.uploads.complete('a', id, sha(all), undefined);
      assert.equal(blob.size, all.length);
      assert.deepEqual(await readBlob(r, 'a', blob.digest), all);
      await assert.rejects(r.uploads.status('a', id), (e: unknown) => e instanceof RegistryError && e.code === 'BLOB_UPLOAD_UNKNOWN');
    });

    test('a session resumes in a new process: the stored bytes are re-hashed', async () => {
      const first = await open();
      const a = randomBytes(3000);
      const b = randomBytes(700);
      const { id } = await first.uploads.start('resume');
      await first.uploads.append('resume', id, chunk(a, 0));
      const second = await open(); // holds no session in memory
      assert.equal((await second.uploads.status('resume', id)).size, a.length);
      await assert.rejects(second.uploads.append('resume', id, chunk(b, 0)), (e: unknown) => e instanceof RegistryError && e.status === 416);
      const blob = await second.uploads.complete('resume', id, sha(Buffer.concat([a, b])), chunk(b, a.length));
      assert.deepEqual(await readBlob(second, 'resume', blob.digest), Buffer.concat([a, b]));
    });

    test('sha512 after sha256-hashed chunks; a wrong digest leaves nothing behind', async () => {
      const r = await open();
      const data = randomBytes(5000);
      const { id } = await r.uploads.start('s');
      await r.uploads.append('s', id, chunk(data.subarray(0, 2500)));
      await r.uploads.append('s', id, chunk(data.subarray(2500)));
      const blob = await r.uploads.complete('s', id, sha(data, 'sha512'), undefined);
      assert.deepEqual(await readBlob(r, 's', blob.digest), data);

      const other = await r.uploads.start('s');
      await r.uploads.append('s', other.id, chunk(randomBytes(2000)));
      const wrong = sha(randomBytes(1));
      await assert.rejects(r.uploads.complete('s', other.id, wrong, undefined), (e: unknown) => e instanceof RegistryError && e.code === 'DIGEST_INVALID');
      await assert.rejects(r.blobs.stat('s', wrong.digest), (e: unknown) => e instanceof RegistryError && e.code === 'BLOB_UNKNOWN');
      await assert.rejects(r.uploads.status('s', other.id), (e: unknown) => e instanceof RegistryError && e.code === 'BLOB_UPLOAD_UNKNOWN');
      const left: string[] = [];
      for await (const f of storage.walk('_uploads')) left.push(f.path);
      assert.deepEqual(left, [], 'no upload bytes remain');
    });

    test('a chunk that fails mid-stream keeps what was stored and the session usable', async () => {
      const r = await open();
      const good = randomBytes(1500);
      const { id } = await r.uploads.start('f');
      await r.uploads.append('f', id, chunk(good, 0));
      const failing = new Readable({
        read() {
          this.push(randomBytes(100));
          this.destroy(new Error('client went away'));
        },
      });
      await assert.rejects(r.uploads.append('f', id, { body: failing, length: 5000, range: { start: 1500, end: 6499 } }));
      const { size } = await r.uploads.status('f', id);
      assert.ok(size >= 1500 && size <= 1600, `size ${size} is the stored prefix`);
      const stored = Buffer.concat([good, Buffer.alloc(0)]);
      // Resume from what the server reports: re-send from there.
      const all = Buffer.concat([stored, randomBytes(200)]);
      const tail = size === 1500 ? all.subarray(1500) : undefined;
      if (tail) {
        const blob = await r.uploads.complete('f', id, sha(all), chunk(tail, 1500));
        assert.deepEqual(await readBlob(r, 'f', blob.digest), all);
      } else {
        await r.uploads.cancel('f', id);
      }
    });

    test('monolithic uploads stream to the content address and verify', async () => {
      const r = await open();
      const data = randomBytes(4000);
      const blob = await r.uploads.monolithic('m', sha(data), chunk(data));
      assert.deepEqual(await readBlob(r, 'm', blob.digest), data);
      const wrong = sha(randomBytes(3));
      await assert.rejects(r.uploads.monolithic('m', wrong, chunk(data)), (e: unknown) => e instanceof RegistryError && e.code === 'DIGEST_INVALID');
      await assert.rejects(storage.stat(`sha256/${wrong.hex.slice(0, 2)}/${wrong.hex}`));
    });
  });
}
