// Graceful shutdown: on SIGTERM the server stops accepting connections, lets an in-flight upload finish,
// closes the database and exits 0; what was acknowledged is there after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { spawnWharf, tempDir, removeDir } from '../helpers/processes.js';

function send(url: string, method: string, headers: Record<string, string | number>): { req: ReturnType<typeof request>; done: Promise<{ status: number; headers: Record<string, unknown> }> } {
  const req = request(url, { method, headers });
  const done = new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
  });
  return { req, done };
}

test('SIGTERM lets an in-flight upload finish, then exits 0', { timeout: 60_000 }, async () => {
  const data = tempDir('wharf-shutdown-');
  try {
    const server = await spawnWharf({ data });
    const body = randomBytes(256 * 1024);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const upload = send(`${server.url}/v2/shutdown/test/blobs/uploads/?digest=${digest}`, 'POST', { 'Content-Length': body.length });
    upload.req.write(body.subarray(0, 1000)); // the request is in flight
    await new Promise((r) => setTimeout(r, 300));
    const exited = server.stop(); // SIGTERM
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(fetch(`${server.url}/v2/`), 'new connections are refused while shutting down');
    upload.req.end(body.subarray(1000));
    const answer = await upload.done;
    assert.equal(answer.status, 201, 'the in-flight upload completes');
    assert.equal(await exited, 0, 'exit code 0 after a graceful shutdown');

    const again = await spawnWharf({ data });
    try {
      const head = await fetch(`${again.url}/v2/shutdown/test/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(body.length));
    } finally {
      await again.stop();
    }
  } finally {
    removeDir(data);
  }
});
