// The auth examples run as they are: `wharf serve --config examples/auth-*.yaml` (on a free port and a temp
// data directory through the --listen/--data flags); alice / alice-secret pushes alice/**, bob / bob-secret
// only pulls.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnWharf, tempDir, removeDir, projectRoot, type SpawnedRegistry } from '../helpers/processes.js';
import { RegistryClient, staticCredentials, DeniedError, UnauthorizedError } from '../../src/client/index.js';
import { buildImage, pushImage } from '../client/helpers.js';

const examples = join(projectRoot, 'examples');

async function aliceAndBob(wharf: SpawnedRegistry): Promise<void> {
  const alice = new RegistryClient(wharf.host, { credentials: staticCredentials({ username: 'alice', password: 'alice-secret' }) });
  const bob = new RegistryClient(wharf.host, { credentials: staticCredentials({ username: 'bob', password: 'bob-secret' }) });
  try {
    const image = buildImage();
    assert.equal(await pushImage(alice, 'alice/app', image, 'v1'), image.digest, 'alice pushes alice/app');
    await assert.rejects(pushImage(alice, 'bob/app', buildImage(), 'v1'), (e: Error) => e instanceof DeniedError || e instanceof UnauthorizedError, 'alice may not push outside alice/**');
    assert.equal((await bob.getManifest('alice/app', 'v1')).digest, image.digest, 'bob pulls');
    await assert.rejects(pushImage(bob, 'alice/app', buildImage(), 'v2'), (e: Error) => e instanceof DeniedError || e instanceof UnauthorizedError, 'bob may not push');
    assert.deepEqual(await bob.catalog().collect(), ['alice/app']);
  } finally {
    await alice.close();
    await bob.close();
  }
}

describe('auth examples', () => {
  const dirs: string[] = [];
  const running: SpawnedRegistry[] = [];
  after(async () => {
    for (const r of running) await r.stop();
    for (const d of dirs) removeDir(d);
  });
  async function serve(file: string): Promise<{ wharf: SpawnedRegistry; data: string }> {
    const data = tempDir('wharf-auth-example-');
    dirs.push(data);
    const wharf = await spawnWharf({ data, args: ['--config', join(examples, file)] });
    running.push(wharf);
    return { wharf, data };
  }

  test('examples/auth-htpasswd.yaml: Basic auth, alice pushes alice/**, bob only pulls', { timeout: 60_000 }, async () => {
    const { wharf } = await serve('auth-htpasswd.yaml');
    const res = await fetch(`${wharf.url}/v2/`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="wharf"/);
    await res.arrayBuffer();
    await aliceAndBob(wharf);
  });

  test('examples/auth-token.yaml: Bearer tokens from the built-in service, the key generated in the data directory', { timeout: 60_000 }, async () => {
    const { wharf, data } = await serve('auth-token.yaml');
    const res = await fetch(`${wharf.url}/v2/`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${wharf.url}/token",service="wharf"`);
    await res.arrayBuffer();
    assert.ok(existsSync(join(data, 'auth', 'token-key.pem')), 'the signing key was generated into DATA/auth');
    await aliceAndBob(wharf);
    const anon = await fetch(`${wharf.url}/v2/public/anything/tags/list`);
    assert.equal(anon.status, 404, 'anyone may pull public/** (the repository does not exist)');
    await anon.arrayBuffer();
  });

  test('examples/auth-external-jwks.yaml: starts and sends clients to the external realm', { timeout: 60_000 }, async () => {
    const { wharf } = await serve('auth-external-jwks.yaml');
    const res = await fetch(`${wharf.url}/v2/demo/app/manifests/latest`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="http://127.0.0.1:5001/auth",service="registry.example.com",scope="repository:demo/app:pull"');
    await res.arrayBuffer();
  });
});
