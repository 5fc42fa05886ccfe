// FileReadStream: the Readable path and the socket fast path give the same bytes, for whole files, ranges,
// and files that end early; concurrent sends never mix bytes (buffers are reused between sends).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { FileReadStream } from '../../src/storage/file-read-stream.js';
import { removeDir, tempDir } from '../helpers/processes.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function withFile<T>(content: Buffer, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = tempDir('wharf-frs-');
  try {
    const path = join(dir, 'f');
    await writeFile(path, content);
    return await fn(path);
  } finally {
    removeDir(dir);
  }
}

/** A loopback server that answers every request by sending `path[start, start+length)` through sendTo. */
async function sendServer(path: string, start: number, length: number): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const fh = await open(path, 'r');
    const s = new FileReadStream(fh, start, length);
    res.writeHead(200, { 'Content-Length': length });
    try {
      await s.sendTo(res);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

function get(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    request(url, (res) => buffer(res).then(resolve, reject)).on('error', reject).end();
  });
}

test('the Readable path reads whole files and ranges', async () => {
  const content = randomBytes(9 * 1024 * 1024 + 123);
  await withFile(content, async (path) => {
    const whole = await buffer(new FileReadStream(await open(path, 'r'), 0, content.length));
    assert.equal(sha(whole), sha(content), 'whole file');
    const part = await buffer(new FileReadStream(await open(path, 'r'), 1000, 5 * 1024 * 1024));
    assert.equal(sha(part), sha(content.subarray(1000, 1000 + 5 * 1024 * 1024)), 'range');
    const empty = await buffer(new FileReadStream(await open(path, 'r'), 10, 0));
    assert.equal(empty.length, 0, 'zero-length range');
  });
});

test('the Readable path fails when the file is shorter than asked', async () => {
  await withFile(randomBytes(1000), async (path) => {
    await assert.rejects(buffer(new FileReadStream(await open(path, 'r'), 0, 2000)), /ended 1000 bytes early/);
  });
});

test('sendTo delivers the same bytes over a socket, also for many concurrent sends', async () => {
  const content = randomBytes(13 * 1024 * 1024 + 7);
  await withFile(content, async (path) => {
    const { server, url } = await sendServer(path, 3, content.length - 3);
    try {
      const bodies = await Promise.all(Array.from({ length: 6 }, () => get(url)));
      for (const b of bodies) assert.equal(sha(b), sha(content.subarray(3)), 'every concurrent body is the file');
    } finally {
      server.close();
    }
  });
});

test('sendTo cuts the response when the file ends early', async () => {
  const content = randomBytes(6 * 1024 * 1024);
  await withFile(content, async (path) => {
    const { server, url } = await sendServer(path, 0, content.length + 100);
    try {
      await assert.rejects(get(url), /aborted|socket hang up|ECONNRESET/, 'a short file never looks like a complete body');
    } finally {
      server.close();
    }
  });
});

test('sendTo refuses a stream that is already being read', async () => {
  await withFile(randomBytes(100), async (path) => {
    const s = new FileReadStream(await open(path, 'r'), 0, 100);
    await buffer(s);
    await assert.rejects(s.sendTo(process.stdout), /already in use/);
  });
});
