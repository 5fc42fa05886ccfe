// Slow-loris: a few dozen sockets that trickle header bytes, send nothing, or stall in the middle of an
// upload body cannot hold the server. With short timeouts configured, normal clients are served while they
// hang on, the server closes every one of them, and a stalled PATCH keeps the bytes that arrived (the upload
// resumes). The per-client upload limit answers 429 with Retry-After while uploads hold their slots.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import { call, expectError, expectStatus, pushBlob, randomData, sha256, sleep, startUpload } from '../http/helpers.js';

interface SlowSocket {
  label: string;
  socket: Socket;
  /** Resolves when the server has closed the connection (never on our side). */
  closed: Promise<void>;
  isClosed: () => boolean;
  /** What the server sent before closing. */
  received: () => string;
  stop: () => void;
}

/** Opens a socket that follows `script` (writes at intervals); it never closes the connection itself. */
function slowSocket(url: string, label: string, script: (write: (s: string) => void) => NodeJS.Timeout | undefined): SlowSocket {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  let received = '';
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    timer = script((s) => {
      if (!socket.destroyed) socket.write(s);
    });
  });
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => {
    socket.on('error', () => undefined); // a reset is also the server closing
    socket.on('close', () => {
      done = true;
      if (timer) clearInterval(timer);
      resolve();
    });
  });
  return {
    label,
    socket,
    closed,
    isClosed: () => done,
    received: () => received,
    stop: () => {
      if (timer) clearInterval(timer);
      socket.destroy();
    },
  };
}

/** Starts a registry from YAML settings (loopback, own data dir) with quiet logs. */
async function startWith(dir: string, yaml: string): Promise<RunningRegistry> {
  const file = join(dir, 'wharf.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\ndata: ./data\n${yaml}`);
  return startRegistry(loadConfig({ config: file }, {}, '/'), pino({ level: process.env.WHARF_TEST_LOG ?? 'silent' }));
}

async function waitAll(sockets: SlowSocket[], timeoutMs: number): Promise<SlowSocket[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
  await Promise.race([Promise.all(sockets.map((s) => s.closed)), timeout]);
  clearTimeout(timer);
  return sockets.filter((s) => !s.isClosed());
}

describe('slow-loris', () => {
  const dir = tempDir('wharf-slowloris-');
  let reg: RunningRegistry;
  let base = '';
  const sockets: SlowSocket[] = [];

  before(async () => {
    reg = await startWith(dir, 'http:\n  headersTimeoutSeconds: 1\n  bodyIdleTimeoutSeconds: 1\n  idleTimeoutSeconds: 3\n');
    base = reg.url;
  });
  after(async () => {
    for (const s of sockets) s.stop();
    await reg.close();
    removeDir(dir);
  });

  test('45 stalling sockets are closed by the server while a normal client pushes and pulls', { timeout: 60_000 }, async () => {
    const name = 'slow/loris';
    // Header tricklers: a request line, then one byte of a never-ending header every 100 ms.
    for (let i = 0; i < 20; i++) {
      sockets.push(
        slowSocket(base, `header trickle ${i}`, (write) => {
          write(`GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: `);
          return setInterval(() => write('a'), 100);
        }),
      );
    }
    // Silent: connect and send nothing.
    for (let i = 0; i < 10; i++) sockets.push(slowSocket(base, `silent ${i}`, () => undefined));
    // Body stallers: a PATCH to their own upload session announcing 1 MiB, 1000 bytes sent, then nothing.
    const stalled: { path: string; sent: number }[] = [];
    for (let i = 0; i < 15; i++) {
      const path = (await startUpload(base, name)).pathname;
      stalled.push({ path, sent: 1000 });
      sockets.push(
        slowSocket(base, `body stall ${i}`, (write) => {
          write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Range: 0-1048575\r\nContent-Length: 1048576\r\n\r\n`);
          write('b'.repeat(1000));
          return undefined;
        }),
      );
    }
    assert.equal(sockets.length, 45);

    // While they hang on, a normal client is served, again and again (bounded in count and time).
    const until = Date.now() + 2500;
    let served = 0;
    for (let i = 0; i < 20 && Date.now() < until; i++) {
      const data = randomData(64 * 1024 + i);
      const digest = await pushBlob(base, name, data);
      const res = await call(base, 'GET', `/v2/${name}/blobs/${digest}`);
      await expectStatus(res, 200, `normal client GET #${i}`);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), data, 'the blob comes back');
      served += 1;
      await sleep(50);
    }
    assert.ok(served > 0, 'the normal client was served while the slow sockets were open');

    const open = await waitAll(sockets, 20_000);
    assert.deepEqual(open.map((s) => s.label), [], 'the server closed every stalling socket');
    const tricklers = sockets.filter((s) => s.label.startsWith('header trickle'));
    assert.ok(tricklers.every((s) => s.received() === '' || /^HTTP\/1\.1 408/.test(s.received())), 'header tricklers get a 408 or nothing');

    // The server still answers, and a stalled upload kept what arrived: it resumes at byte 1000.
    await expectStatus(await call(base, 'GET', '/v2/'), 200, 'GET /v2/ afterwards');
    const first = stalled[0]!;
    const status = await call(base, 'GET', first.path);
    await expectStatus(status, 204, 'the stalled session still exists');
    const range = status.headers.get('range');
    assert.equal(range, `0-${first.sent - 1}`, 'the session holds the bytes that arrived before the stall');
    const held = first.sent;
    const rest = Buffer.alloc(2000 - held, 'b');
    const patch = await call(base, 'PATCH', first.path, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${held}-${1999}`, 'Content-Length': String(rest.length) },
      body: rest,
    });
    await expectStatus(patch, 202, 'the stalled upload resumes');
    const put = await call(base, 'PUT', `${first.path}?digest=${sha256(Buffer.alloc(2000, 'b'))}`);
    await expectStatus(put, 201, 'and completes with the right digest');
  });
});

describe('uploads per client', () => {
  const dir = tempDir('wharf-upload-limit-');
  let reg: RunningRegistry;
  let base = '';
  const sockets: SlowSocket[] = [];

  before(async () => {
    reg = await startWith(dir, 'http:\n  bodyIdleTimeoutSeconds: 30\nlimits:\n  uploadsPerClient: 4\n');
    base = reg.url;
  });
  after(async () => {
    for (const s of sockets) s.stop();
    await reg.close();
    removeDir(dir);
  });

  test('a client with 4 uploads streaming gets 429 TOOMANYREQUESTS with Retry-After; reads still work; the slot frees when one ends', { timeout: 30_000 }, async () => {
    const name = 'limit/repo';
    for (let i = 0; i < 4; i++) {
      const path = (await startUpload(base, name)).pathname;
      sockets.push(
        slowSocket(base, `upload ${i}`, (write) => {
          write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`);
          write('c'.repeat(100));
          return undefined;
        }),
      );
    }
    // Until the server has admitted all four, a fifth may still get in: wait for the limit, bounded.
    const deadline = Date.now() + 10_000;
    let res: Response | undefined;
    while (Date.now() < deadline) {
      res = await call(base, 'POST', `/v2/${name}/blobs/uploads/`);
      if (res.status === 429) break;
      await res.arrayBuffer();
      await sleep(50);
    }
    assert.ok(res, 'a response');
    await expectError(res, 429, 'TOOMANYREQUESTS', 'fifth upload');
    assert.equal(res.headers.get('retry-after'), '1');
    await expectStatus(await call(base, 'GET', '/v2/'), 200, 'reads are not limited');

    sockets[0]!.stop();
    await sockets[0]!.closed;
    const again = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < again) {
      const r = await call(base, 'POST', `/v2/${name}/blobs/uploads/`);
      await r.arrayBuffer();
      status = r.status;
      if (status === 202) break;
      await sleep(50);
    }
    assert.equal(status, 202, 'a freed slot admits a new upload');
  });
});

describe('whole-request timeout', () => {
  const dir = tempDir('wharf-request-timeout-');
  let reg: RunningRegistry;
  const sockets: SlowSocket[] = [];

  before(async () => {
    reg = await startWith(dir, 'http:\n  headersTimeoutSeconds: 1\n  requestTimeoutSeconds: 2\n  bodyIdleTimeoutSeconds: 30\n');
  });
  after(async () => {
    for (const s of sockets) s.stop();
    await reg.close();
    removeDir(dir);
  });

  test('with http.requestTimeoutSeconds, bodies that trickle steadily (never idle) are cut off too', { timeout: 30_000 }, async () => {
    for (let i = 0; i < 5; i++) {
      const path = (await startUpload(reg.url, 'trickle/repo')).pathname;
      sockets.push(
        slowSocket(reg.url, `body trickle ${i}`, (write) => {
          write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`);
          return setInterval(() => write('t'), 100);
        }),
      );
    }
    const open = await waitAll(sockets, 15_000);
    assert.deepEqual(open.map((s) => s.label), [], 'the server closed every trickling upload');
    await expectStatus(await call(reg.url, 'GET', '/v2/'), 200, 'GET /v2/ afterwards');
  });
});
