// HandleCache: one handle per immutable file, shared by concurrent readers, closed when idle, evicted, or
// deleted through the driver — and the filesystem driver's immutable reads go through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import { HandleCache } from '../../src/storage/drivers/handle-cache.js';
import { FilesystemDriver } from '../../src/storage/drivers/filesystem.js';
import { removeDir, tempDir } from '../helpers/processes.js';

/** Descriptors this process has open on files under `dir`. */
function openUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

test('concurrent readers share one handle; it stays open for the next read and closes when forgotten', async () => {
  const dir = tempDir('wharf-hc-');
  try {
    const file = join(dir, 'a');
    await writeFile(file, 'hello');
    const cache = new HandleCache();
    const [a, b] = await Promise.all([cache.acquire(file), cache.acquire(file)]);
    assert.equal(a.fh, b.fh, 'two concurrent acquires of one file share one handle');
    assert.equal(openUnder(dir), 1, 'one descriptor is open for the file');
    await a.release();
    await b.release();
    assert.equal(openUnder(dir), 1, 'the handle stays open after its readers let go');
    const c = await cache.acquire(file);
    assert.equal(c.fh, a.fh, 'the next read reuses the cached handle');
    await cache.forget(file);
    assert.equal(openUnder(dir), 1, 'a forgotten handle stays open while a reader holds it');
    const buf = Buffer.alloc(5);
    await c.fh.read(buf, 0, 5, 0);
    assert.equal(buf.toString(), 'hello', 'the reader can still read through a forgotten handle');
    await c.release();
    assert.equal(openUnder(dir), 0, 'the handle closes when its last reader lets go');
    await cache.closeAll();
  } finally {
    removeDir(dir);
  }
});

test('the cache holds at most max handles, evicting the least recently used idle one', async () => {
  const dir = tempDir('wharf-hc-');
  try {
    const cache = new HandleCache(2, 60_000);
    const files = ['a', 'b', 'c'].map((n) => join(dir, n));
    for (const f of files) await writeFile(f, f);
    const held = await cache.acquire(files[0]!);
    await (await cache.acquire(files[1]!)).release();
    await (await cache.acquire(files[2]!)).release();
    assert.equal(cache.size, 2, 'a third file evicts one handle');
    assert.equal(openUnder(dir), 2, 'the evicted handle is closed');
    const again = await cache.acquire(files[0]!);
    assert.equal(again.fh, held.fh, 'a handle held by a reader is never the one evicted');
    await held.release();
    await again.release();
    await cache.closeAll();
    assert.equal(openUnder(dir), 0, 'closeAll closes every idle handle');
  } finally {
    removeDir(dir);
  }
});

test('idle handles close after idleMs', async () => {
  const dir = tempDir('wharf-hc-');
  try {
    const cache = new HandleCache(16, 100);
    const file = join(dir, 'a');
    await writeFile(file, 'x');
    await (await cache.acquire(file)).release();
    assert.equal(openUnder(dir), 1, 'open right after the read');
    const deadline = Date.now() + 5_000;
    while (openUnder(dir) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(openUnder(dir), 0, 'closed within a few idle periods');
    await cache.closeAll();
  } finally {
    removeDir(dir);
  }
});

test('a missing file rejects with ENOENT and caches nothing', async () => {
  const dir = tempDir('wharf-hc-');
  try {
    const cache = new HandleCache();
    await assert.rejects(cache.acquire(join(dir, 'missing')), { code: 'ENOENT' });
    assert.equal(cache.size, 0, 'nothing cached for a missing file');
  } finally {
    removeDir(dir);
  }
});

test('filesystem driver: immutable reads reuse a handle; delete and a new file at the same path are seen', async () => {
  const dir = tempDir('wharf-hc-');
  const driver = new FilesystemDriver({ root: dir });
  try {
    const one = randomBytes(300_000);
    await driver.putContent('blobs/x', one);
    const read = async (o: { immutable?: boolean }) => buffer((await driver.reader('blobs/x', { offset: 0, length: one.length }, o)) as Readable);
    assert.deepEqual(await read({ immutable: true }), one, 'first immutable read gives the bytes');
    assert.deepEqual(await read({ immutable: true }), one, 'second immutable read gives the bytes');
    assert.equal(openUnder(dir), 1, 'the immutable reads left one cached handle open');
    await driver.delete('blobs/x');
    assert.equal(openUnder(dir), 0, 'deleting through the driver closes the cached handle');
    await assert.rejects(driver.reader('blobs/x', undefined, { immutable: true }), (e: Error & { kind?: string }) => e.kind === 'not-found');
    const two = randomBytes(1000);
    await driver.putContent('blobs/x', two);
    assert.deepEqual(await buffer((await driver.reader('blobs/x', undefined, { immutable: true })) as Readable), two, 'a new file at the path is read, not the old handle');
    assert.deepEqual(await buffer((await driver.reader('blobs/x')) as Readable), two, 'a plain read sees the same bytes');
  } finally {
    await driver.close();
    removeDir(dir);
  }
});

test('when every cached handle is held, a new file is still opened (the cache runs over max until they are released)', async () => {
  const dir = tempDir('wharf-hc-');
  try {
    const cache = new HandleCache(1, 60_000);
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    await writeFile(a, 'a');
    await writeFile(b, 'b');
    const held = await cache.acquire(a);
    const other = await cache.acquire(b);
    const buf = Buffer.alloc(1);
    await other.fh.read(buf, 0, 1, 0);
    assert.equal(buf.toString(), 'b', 'the new file is readable while the only slot is held');
    await held.release();
    await other.release();
    await cache.closeAll();
    assert.equal(openUnder(dir), 0, 'everything closes at the end');
  } finally {
    removeDir(dir);
  }
});
