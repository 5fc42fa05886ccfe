// Read-only mode: a registry with content is restarted with readOnly; every write endpoint answers
// 405 UNSUPPORTED saying the registry is read-only and changes nothing, every read keeps working.
// Also the three ways to turn it on (config file, WHARF_READ_ONLY, --read-only) and their precedence.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import { tempDir, removeDir, spawnWharf } from '../helpers/processes.js';
import { call, expectError, expectStatus, pushImage, pushBlob, sha256, startUpload, MT, type PushedImage } from '../http/helpers.js';

const silent = pino({ level: 'silent' });

async function start(data: string, readOnly: boolean): Promise<RunningRegistry> {
  return startRegistry(loadConfig({ listen: '127.0.0.1:0', data, readOnly }, {}), silent);
}

async function stop(running: RunningRegistry | undefined): Promise<void> {
  if (!running) return;
  try {
    await (await fetch(new URL('/v2/', running.url))).arrayBuffer();
  } catch {
    // closing anyway
  }
  await running.close();
}

async function expectReadOnly(res: Response, what: string): Promise<void> {
  const errors = await expectError(res, 405, 'UNSUPPORTED', what);
  assert.ok(errors.some((e) => /read-only/.test(e.message ?? '')), `${what}: the message says the registry is read-only: ${errors.map((e) => e.message).join(' | ')}`);
  assert.notEqual(res.headers.get('allow'), null, `${what}: a 405 names the allowed methods`);
}

describe('read-only mode over HTTP', () => {
  const data = tempDir('wharf-readonly-');
  const name = 'team/app';
  let base = '';
  let running: RunningRegistry | undefined;
  let image: PushedImage;
  let session: URL;
  const otherBlob = Buffer.from('a blob pushed before maintenance');
  let otherDigest = '';

  before(async () => {
    const writable = await start(data, false);
    image = await pushImage(writable.url, name, { tag: 'v1' });
    otherDigest = await pushBlob(writable.url, 'other/repo', otherBlob);
    session = new URL((await startUpload(writable.url, name)).pathname, 'http://placeholder');
    await stop(writable);
    running = await start(data, true);
    base = running.url;
  });
  after(async () => {
    await stop(running);
    removeDir(data);
  });

  const sessionPath = () => session.pathname;
  const writes: { what: string; method: string; path: () => string; headers?: Record<string, string>; body?: string }[] = [
    { what: 'start an upload', method: 'POST', path: () => `/v2/${name}/blobs/uploads/` },
    { what: 'monolithic upload', method: 'POST', path: () => `/v2/${name}/blobs/uploads/?digest=${sha256('x')}`, headers: { 'Content-Type': 'application/octet-stream' }, body: 'x' },
    { what: 'cross-repository mount', method: 'POST', path: () => `/v2/${name}/blobs/uploads/?mount=${otherDigest}&from=other/repo` },
    { what: 'upload a chunk', method: 'PATCH', path: sessionPath, headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-2' }, body: 'abc' },
    { what: 'complete an upload', method: 'PUT', path: () => `${sessionPath()}?digest=${sha256('')}` },
    { what: 'cancel an upload', method: 'DELETE', path: sessionPath },
    { what: 'push a manifest', method: 'PUT', path: () => `/v2/${name}/manifests/v2`, headers: { 'Content-Type': MT.ociManifest }, body: '{}' },
    { what: 'delete a manifest', method: 'DELETE', path: () => `/v2/${name}/manifests/${image.digest}` },
    { what: 'delete a tag', method: 'DELETE', path: () => `/v2/${name}/manifests/v1` },
    { what: 'delete a blob', method: 'DELETE', path: () => `/v2/${name}/blobs/${image.layers[0]!.digest}` },
  ];
  for (const w of writes) {
    test(`${w.what} (${w.method}) → 405 UNSUPPORTED, read-only`, async () => {
      const init: { headers?: Record<string, string>; body?: string } = {};
      if (w.headers) init.headers = w.headers;
      if (w.body !== undefined) init.body = w.body;
      await expectReadOnly(await call(base, w.method, w.path(), init), `${w.method} ${w.what}`);
    });
  }

  test('reads work: version check, catalog, tags, manifest by tag and digest, blobs, upload status, referrers', async () => {
    const ok = async (method: string, path: string, status = 200) => {
      const res = await call(base, method, path, { headers: { Accept: `${MT.ociManifest}, ${MT.ociIndex}` } });
      await expectStatus(res, status, `${method} ${path}`);
      return Buffer.from(await res.arrayBuffer());
    };
    await ok('GET', '/v2/');
    const catalog = JSON.parse((await ok('GET', '/v2/_catalog')).toString()) as { repositories: string[] };
    assert.ok(catalog.repositories.includes(name), `the catalog lists ${name}: ${catalog.repositories.join(', ')}`);
    const tags = JSON.parse((await ok('GET', `/v2/${name}/tags/list`)).toString()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1']);
    assert.deepEqual(await ok('GET', `/v2/${name}/manifests/v1`), image.body, 'manifest by tag');
    assert.deepEqual(await ok('GET', `/v2/${name}/manifests/${image.digest}`), image.body, 'manifest by digest');
    await ok('HEAD', `/v2/${name}/manifests/v1`);
    assert.deepEqual(await ok('GET', `/v2/${name}/blobs/${image.layers[0]!.digest}`), image.layerData[0], 'layer bytes');
    await ok('HEAD', `/v2/${name}/blobs/${image.config.digest}`);
    await ok('GET', sessionPath(), 204);
    await ok('GET', `/v2/${name}/referrers/${image.digest}`);
  });

  test('nothing changed: the blob was not mounted, the session still exists, the manifest and tag remain', async () => {
    await expectError(await call(base, 'GET', `/v2/${name}/blobs/${otherDigest}`), 404, 'BLOB_UNKNOWN', 'the mount did not happen');
    const status = await call(base, 'GET', sessionPath());
    await expectStatus(status, 204, 'the upload session is still open');
    assert.equal(status.headers.get('range'), '0-0', 'the refused PATCH stored nothing');
    await expectStatus(await call(base, 'HEAD', `/v2/${name}/manifests/v1`), 200, 'the tag is still there');
  });

  test('a wrong method on an endpoint is still the ordinary 405, and unknown paths 404', async () => {
    await expectError(await call(base, 'POST', '/v2/_catalog'), 405, 'UNSUPPORTED', 'POST /v2/_catalog');
    await expectError(await call(base, 'DELETE', '/v3/'), 404, 'NOT_FOUND', 'DELETE /v3/');
  });
});

describe('turning read-only mode on', () => {
  test('precedence: flag > WHARF_READ_ONLY > config file > default (off)', () => {
    const dir = tempDir('wharf-readonly-config-');
    try {
      const file = join(dir, 'wharf.yaml');
      writeFileSync(file, 'readOnly: true\n');
      assert.equal(loadConfig({}, {}, dir).readOnly, false, 'off by default');
      assert.equal(loadConfig({ config: file }, {}, dir).readOnly, true, 'from the file');
      assert.equal(loadConfig({ config: file }, { WHARF_READ_ONLY: 'false' }, dir).readOnly, false, 'environment over file');
      assert.equal(loadConfig({}, { WHARF_READ_ONLY: 'true' }, dir).readOnly, true, 'environment');
      assert.equal(loadConfig({}, { WHARF_READ_ONLY: '1' }, dir).readOnly, true, 'environment, 1');
      assert.equal(loadConfig({ readOnly: true }, { WHARF_READ_ONLY: 'false' }, dir).readOnly, true, 'flag over environment');
      assert.throws(() => loadConfig({}, { WHARF_READ_ONLY: 'maybe' }, dir), (e: unknown) => e instanceof ConfigError && /WHARF_READ_ONLY/.test(e.message));
      writeFileSync(file, 'readOnly: "yes"\n');
      assert.throws(() => loadConfig({ config: file }, {}, dir), (e: unknown) => e instanceof ConfigError && /readOnly/.test(e.message));
    } finally {
      removeDir(dir);
    }
  });

  for (const how of ['--read-only', 'WHARF_READ_ONLY=true'] as const) {
    test(`wharf serve with ${how} refuses a push and serves reads`, async () => {
      const data = tempDir('wharf-readonly-serve-');
      const reg = await spawnWharf(how === '--read-only' ? { data, args: ['--read-only'] } : { data, env: { WHARF_READ_ONLY: 'true' } });
      try {
        await expectReadOnly(await call(reg.url, 'POST', '/v2/some/repo/blobs/uploads/'), `${how}: POST`);
        const res = await call(reg.url, 'GET', '/v2/_catalog');
        await expectStatus(res, 200, `${how}: GET /v2/_catalog`);
        assert.deepEqual(await res.json(), { repositories: [] });
      } finally {
        assert.equal(await reg.stop(), 0, 'exits 0 on SIGTERM');
        removeDir(data);
      }
    });
  }
});
