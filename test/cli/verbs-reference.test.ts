// The client verbs of the `wharf` CLI against the reference registry (Debian's docker-registry, CNCF
// Distribution 2.8), and credentials from a docker config.json against it with htpasswd auth.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { verbSuite } from './suite.js';
import { startReference, writeHtpasswd, type Target } from '../client/helpers.js';
import { cliEnv, runCli, tempDir, removeDir, writeDockerConfig } from './helpers.js';

verbSuite('reference', () => startReference());

describe('credentials from the docker config (reference registry with htpasswd)', () => {
  let target: Target;
  let dir: string;
  let withAuth: string;
  let without: string;

  before(async () => {
    dir = tempDir('wharf-cli-auth-');
    target = await startReference({ htpasswd: writeHtpasswd(dir, { alice: 's3cret' }) });
    withAuth = tempDir('wharf-cli-auth-config-');
    without = tempDir('wharf-cli-auth-none-');
    writeDockerConfig(withAuth, target.host, 'alice', 's3cret');
  });

  after(async () => {
    await target?.close();
    for (const d of [dir, withAuth, without]) if (d) removeDir(d);
  });

  test('catalog uses the config.json credentials; without them it exits 1 and says to log in', async () => {
    const [ok, refused] = await Promise.all([runCli(['catalog', '--json', target.host], cliEnv(withAuth)), runCli(['catalog', target.host], cliEnv(without))]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '{"repositories":[]}\n');
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stdout, '');
    assert.equal(refused.stderr, `wharf catalog: ${target.host} refused the credentials or asked for some (401 UNAUTHORIZED); try 'wharf login ${target.host}'\n`);
  });
});
