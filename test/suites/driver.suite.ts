// The one test suite every storage driver passes. A driver's test file declares its capabilities and calls it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StorageDriver } from '../../src/storage/driver.js';
import { StorageError, isNotFound } from '../../src/storage/driver.js';
import { CheckedDriver } from '../../src/storage/checked.js';

export interface DriverCapabilities {
  /** Size of the large streamed object; drivers that hold bytes in memory say why theirs is smaller. */
  largeObjectBytes: number;
  largeObjectReason?: string;
}

export interface DriverFactory {
  name: string;
  create(): Promise<StorageDriver>;
  destroy(driver: StorageDriver): Promise<void>;
  capabilities: DriverCapabilities;
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function writeAll(d: StorageDriver, path: string, data: Buffer, append = false): Promise<number> {
  const w = await d.writer(path, append);
  await pipeline(Readable.from([data]), w.stream);
  await w.commit();
  return w.size;
}

/** Deterministic pseudo-random chunks, so a large object never sits in memory whole. */
function* chunks(total: number, size = 1024 * 1024): Generator<Buffer> {
  const block = randomBytes(size);
  for (let off = 0, i = 0; off < total; off += size, i++) {
    const b = Buffer.from(block.subarray(0, Math.min(size, total - off)));
    b.writeUInt32BE(i, 0);
    yield b;
  }
}

export function runDriverSuite(factory: DriverFactory): void {
  describe(`storage driver suite: ${factory.name}`, () => {
    let d: StorageDriver;
    let n = 0;
    const p = (leaf: string) => `suite/t${n}/${leaf}`;
    before(async () => {
      d = new CheckedDriver(await factory.create());
    });
    after(async () => {
      await factory.destroy(d);
    });

    test('putContent / getContent / stat', async () => {
      n++;
      const data = randomBytes(1000);
      await d.putContent(p('a/b'), data);
      assert.deepEqual(await d.getContent(p('a/b')), data);
      const s = await d.stat(p('a/b'));
      assert.equal(s.size, 1000);
      assert.equal(s.isDir, false);
      await d.putContent(p('a/b'), Buffer.from('replaced'));
      assert.equal((await d.getContent(p('a/b'))).toString(), 'replaced');
      await d.putContent(p('empty'), Buffer.alloc(0));
      assert.equal((await d.getContent(p('empty'))).length, 0);
    });

    test('not-found errors are typed', async () => {
      n++;
      for (const op of [() => d.getContent(p('nope')), () => d.stat(p('nope')), () => d.reader(p('nope')), () => d.move(p('nope'), p('x'))]) {
        await assert.rejects(op(), (e: unknown) => isNotFound(e));
      }
      await d.delete(p('nope')); // deleting nothing is fine
    });

    test('ranged reads', async () => {
      n++;
      const data = randomBytes(10_000);
      await d.putContent(p('r'), data);
      assert.deepEqual(await readAll(await d.reader(p('r'), { offset: 0 })), data);
      assert.deepEqual(await readAll(await d.reader(p('r'), { offset: 1234 })), data.subarray(1234));
      assert.deepEqual(await readAll(await d.reader(p('r'), { offset: 100, length: 50 })), data.subarray(100, 150));
      assert.deepEqual(await readAll(await d.reader(p('r'), { offset: 9_999, length: 1 })), data.subarray(9_999));
      assert.equal((await readAll(await d.reader(p('r'), { offset: 10_000 }))).length, 0);
    });

    test('writer: append, commit, size', async () => {
      n++;
      if (!d.capabilities.append) {
        assert.equal(await writeAll(d, p('w'), Buffer.from('hello world')), 11);
        assert.equal((await d.getContent(p('w'))).toString(), 'hello world');
        return;
      }
      assert.equal(await writeAll(d, p('w'), Buffer.from('hello ')), 6);
      assert.equal(await writeAll(d, p('w'), Buffer.from('world'), true), 11);
      assert.equal((await d.getContent(p('w'))).toString(), 'hello world');
      assert.equal(await writeAll(d, p('w'), Buffer.from('new')), 3, 'a non-append writer truncates');
      const w = await d.writer(p('w'), true);
      await w.close();
      assert.equal(w.size, 3);
    });

    test('atomic visibility: nothing half-written is readable under the final name', async () => {
      n++;
      await d.putContent(p('v'), Buffer.from('old'));
      const w = await d.writer(p('v'), false);
      w.stream.write(randomBytes(256 * 1024));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal((await d.getContent(p('v'))).toString(), 'old', 'the old content stays until commit');
      const fresh = await d.writer(p('v-new'), false);
      fresh.stream.write(Buffer.from('partial'));
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(d.stat(p('v-new')), (e: unknown) => isNotFound(e), 'a new object is invisible until commit');
      await w.commit();
      assert.equal((await d.getContent(p('v'))).length, 256 * 1024);
      await fresh.cancel();
      await assert.rejects(d.stat(p('v-new')), (e: unknown) => isNotFound(e));
    });

    test('writer: cancel leaves nothing', async () => {
      n++;
      const w = await d.writer(p('c'), false);
      w.stream.write(Buffer.from('partial'));
      await w.cancel();
      await assert.rejects(d.stat(p('c')), (e: unknown) => isNotFound(e));
    });

    test('move is atomic replace; the source is gone', async () => {
      n++;
      await d.putContent(p('src'), Buffer.from('one'));
      await d.putContent(p('dst/x'), Buffer.from('old'));
      await d.move(p('src'), p('dst/x'));
      assert.equal((await d.getContent(p('dst/x'))).toString(), 'one');
      await assert.rejects(d.stat(p('src')), (e: unknown) => isNotFound(e));
    });

    test('concat joins sources in order at the destination and removes them', async () => {
      n++;
      const min = Math.max(d.capabilities.minConcatPart, 1);
      const parts = [randomBytes(min), randomBytes(min + 17), randomBytes(3)];
      await Promise.all(parts.map((b, i) => d.putContent(p(`part${i}`), b)));
      await d.concat(parts.map((_, i) => p(`part${i}`)), p('joined/blob'));
      assert.deepEqual(await d.getContent(p('joined/blob')), Buffer.concat(parts));
      for (let i = 0; i < parts.length; i++) await assert.rejects(d.stat(p(`part${i}`)), (e: unknown) => isNotFound(e));
      await d.putContent(p('single'), Buffer.from('one source'));
      await d.concat([p('single')], p('joined/single'));
      assert.equal((await d.getContent(p('joined/single'))).toString(), 'one source');
    });

    test('writers append only where the driver says it can', async () => {
      n++;
      if (d.capabilities.append) {
        assert.equal(await writeAll(d, p('ap'), Buffer.from('ab')), 2);
        assert.equal(await writeAll(d, p('ap'), Buffer.from('cd'), true), 4);
      } else {
        await assert.rejects(d.writer(p('ap'), true));
      }
    });

    test('list, walk and delete of a prefix with many entries', async () => {
      n++;
      const names = Array.from({ length: 120 }, (_, i) => `f${String(i).padStart(3, '0')}`);
      await Promise.all(names.map((x) => d.putContent(p(`dir/${x}`), Buffer.from(x))));
      await d.putContent(p('dir/sub/deep/z'), Buffer.from('z'));
      const listed = await d.list(p('dir'));
      assert.equal(listed.length, 121);
      assert.deepEqual(listed.slice(0, 2), [p('dir/f000'), p('dir/f001')]);
      assert.ok(listed.includes(p('dir/sub')), 'listed.includes(p(\'dir/sub\'))');
      const walked: string[] = [];
      for await (const f of d.walk(p('dir'))) walked.push(f.path);
      assert.equal(walked.length, 121);
      assert.ok(walked.includes(p('dir/sub/deep/z')), 'walked.includes(p(\'dir/sub/deep/z\'))');
      await d.delete(p('dir'));
      await assert.rejects(d.list(p('dir')), (e: unknown) => isNotFound(e));
      const after: string[] = [];
      for await (const f of d.walk(p('dir'))) after.push(f.path);
      assert.equal(after.length, 0);
    });

    test('concurrent writers to different keys and to the same key', async () => {
      n++;
      const blobs = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
      await Promise.all(blobs.map((b, i) => writeAll(d, p(`k${i}`), b)));
      for (const [i, b] of blobs.entries()) assert.deepEqual(await d.getContent(p(`k${i}`)), b);
      // Same key: each writer publishes whole content through its own temp + move; one complete value wins.
      await Promise.all(blobs.map(async (b, i) => {
        await writeAll(d, p(`tmp${i}`), b);
        await d.move(p(`tmp${i}`), p('same'));
      }));
      const final = await d.getContent(p('same'));
      assert.ok(blobs.some((b) => b.equals(final)), 'the winner is one writer\'s complete content');
    });

    test('invalid paths never reach the backend', async () => {
      for (const bad of ['', '/abs', 'a//b', '../x', 'a/../b', 'a/./b', 'a\u0000b', 'a b', '.hidden/x']) {
        await assert.rejects(d.getContent(bad), (e: unknown) => e instanceof StorageError && e.kind === 'invalid-path', JSON.stringify(bad));
      }
    });

    test('abort via AbortSignal stops a read', async () => {
      n++;
      const size = 32 * 1024 * 1024; // many chunks for any driver's read size
      await writeAll(d, p('big'), Buffer.alloc(size, 7));
      const ac = new AbortController();
      const r = await d.reader(p('big'), undefined, { signal: ac.signal });
      let got = 0;
      await assert.rejects(
        (async () => {
          for await (const c of r) {
            got += (c as Buffer).length;
            ac.abort();
          }
        })(),
        (e: unknown) => (e as Error).name === 'AbortError' || (e instanceof StorageError && e.kind === 'aborted'),
      );
      assert.ok(got < size, `the read stopped early (${got} of ${size} bytes)`);
    });

    const large = factory.capabilities.largeObjectBytes;
    const reason = factory.capabilities.largeObjectReason ? ` (${factory.capabilities.largeObjectReason})` : '';
    test(`large object streamed: ${large} bytes${reason}, memory flat`, { timeout: 180_000 }, async () => {
      n++;
      // The driver runs in this process: its RSS must not grow with the object (bounded buffers only).
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
      const hash = createHash('sha256');
      const w = await d.writer(p('large'), false);
      await pipeline(Readable.from((function* () {
        for (const c of chunks(large)) {
          hash.update(c);
          sample();
          yield c;
        }
      })()), w.stream);
      await w.commit();
      assert.equal(w.size, large);
      const expected = hash.digest('hex');
      const back = createHash('sha256');
      for await (const c of await d.reader(p('large'))) {
        back.update(c as Buffer);
        sample();
      }
      assert.equal(back.digest('hex'), expected);
      await d.delete(p('large'));
      const allowed = Math.max(256 * 1024 * 1024, factory.capabilities.largeObjectReason ? 3 * large : 0);
      assert.ok(peak - baseline < allowed, `RSS grew by ${((peak - baseline) / 1048576).toFixed(0)} MiB streaming ${large} bytes (allowed ${allowed / 1048576} MiB)`);
    });
  });
}
