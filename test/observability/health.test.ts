// Liveness and readiness on the main and debug listeners: no credentials needed even with auth on, 503 naming
// the failed check when the database is closed or the storage directory is broken, /metrics only on the debug
// listener, and no debug port unless one is configured (checked on a real `wharf serve` process).
import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { freePort, removeDir, spawnWharf, tempDir } from '../helpers/processes.js';
import { closeRegistry } from '../http/helpers.js';
import { startAuthRegistry, basic, type AuthRegistry } from '../auth/helpers.js';
import { listeningPorts } from './helpers.js';

interface Readiness {
  status: string;
  failed?: string[];
  checks: Record<string, { status: string; ms: number; error?: string }>;
}

async function readyz(base: string): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(new URL('/readyz', base));
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return { status: res.status, body: (await res.json()) as Readiness };
}

describe('health on a registry with authentication', () => {
  let reg: AuthRegistry;
  before(async () => {
    reg = await startAuthRegistry({ realm: 'test', admins: ['root'], policies: [] }, { root: 'root-secret' });
  });
  after(async () => reg?.close());

  test('/healthz and /readyz answer without credentials while /v2/ asks for them', async () => {
    const v2 = await fetch(new URL('/v2/', reg.url));
    assert.equal(v2.status, 401);
    await v2.arrayBuffer();
    const live = await fetch(new URL('/healthz', reg.url));
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    const ready = await readyz(reg.url);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ok');
    assert.equal(ready.body.checks.metadata?.status, 'ok');
    assert.equal(ready.body.checks.storage?.status, 'ok');
    const head = await fetch(new URL('/healthz', reg.url), { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  test('/metrics is not on the main listener, with or without credentials', async () => {
    for (const headers of [{}, { authorization: basic('root', 'root-secret') }] as Record<string, string>[]) {
      const res = await fetch(new URL('/metrics', reg.url), { headers });
      assert.equal(res.status, 404);
      assert.ok(!(await res.text()).includes('wharf_'), 'no metrics text on the main listener');
    }
  });

  test('POST /healthz is refused', async () => {
    const res = await fetch(new URL('/healthz', reg.url), { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    await res.arrayBuffer();
  });
});

describe('readiness failures', () => {
  let reg: TestRegistry | undefined;
  after(async () => closeRegistry(reg));

  test('a storage directory that cannot be resolved makes /readyz answer 503 naming storage', async () => {
    reg = await startTestRegistry({ debugListen: '127.0.0.1:0' });
    assert.equal((await readyz(reg.url)).status, 200);
    // The storage root becomes a symbolic link to itself: every path under it fails with ELOOP.
    const root = join(reg.data, 'blobs');
    rmSync(root, { recursive: true, force: true });
    symlinkSync(root, root);
    for (const base of [reg.url, reg.running.debugURL!]) {
      const r = await readyz(base);
      assert.equal(r.status, 503, `readiness on ${base}`);
      assert.equal(r.body.status, 'fail');
      assert.deepEqual(r.body.failed, ['storage']);
      assert.equal(r.body.checks.metadata?.status, 'ok');
      assert.match(r.body.checks.storage?.error ?? '', /ELOOP|too many/i);
    }
    // Liveness does not depend on the stores.
    const live = await fetch(new URL('/healthz', reg.url));
    assert.equal(live.status, 200);
    await live.arrayBuffer();
    rmSync(root);
  });

  test('a closed database makes /readyz answer 503 naming metadata', async () => {
    await closeRegistry(reg);
    reg = await startTestRegistry({ debugListen: '127.0.0.1:0' });
    assert.equal((await readyz(reg.url)).status, 200);
    await reg.running.registry.metadata.close();
    for (const base of [reg.url, reg.running.debugURL!]) {
      const r = await readyz(base);
      assert.equal(r.status, 503, `readiness on ${base}`);
      assert.deepEqual(r.body.failed, ['metadata']);
      assert.equal(r.body.checks.storage?.status, 'ok');
      assert.ok((r.body.checks.metadata?.error ?? '').length > 0, 'the failure says what went wrong');
    }
  });
});

describe('the debug listener in a wharf serve process', () => {
  test('opens no port unless configured; --debug-listen and WHARF_DEBUG_LISTEN open one', async () => {
    const data = tempDir('wharf-debug-');
    try {
      const plain = await spawnWharf({ data });
      try {
        assert.deepEqual(listeningPorts(plain.pid), [plain.port], 'only the main port is listening');
        const live = await fetch(new URL('/healthz', plain.url));
        assert.equal(live.status, 200);
        await live.arrayBuffer();
      } finally {
        await plain.stop();
      }

      const byFlag = await freePort();
      const flagged = await spawnWharf({ data, args: ['--debug-listen', `127.0.0.1:${byFlag}`] });
      try {
        assert.deepEqual(listeningPorts(flagged.pid), [flagged.port, byFlag].sort((a, b) => a - b));
        const metrics = await fetch(`http://127.0.0.1:${byFlag}/metrics`);
        assert.equal(metrics.status, 200);
        assert.match(await metrics.text(), /wharf_http_requests_total\{endpoint="base",method="GET",status="200"\} \d+/);
      } finally {
        await flagged.stop();
      }

      const byEnv = await freePort();
      const env = await spawnWharf({ data, env: { WHARF_DEBUG_LISTEN: `127.0.0.1:${byEnv}` } });
      try {
        const ready = await fetch(`http://127.0.0.1:${byEnv}/readyz`);
        assert.equal(ready.status, 200);
        await ready.arrayBuffer();
      } finally {
        await env.stop();
      }
    } finally {
      removeDir(data);
    }
  });

  test('a debug address already in use stops the start with a message naming it', async () => {
    const taken = await startTestRegistry({});
    try {
      const port = new URL(taken.url).port;
      await assert.rejects(
        startTestRegistry({ debugListen: `127.0.0.1:${port}` }),
        (e: Error) => e.message.includes(`debug listener on 127.0.0.1:${port}`),
      );
    } finally {
      await closeRegistry(taken);
    }
  });
});
