// Wharf's token service as the auth server of CNCF Distribution 2.8 (docker-registry): Distribution trusts a
// certificate of Wharf's signing key and sends clients to Wharf's /token, so the tokens Wharf issues (header
// kid, claims, access, ES256 signature) must be exactly what the ecosystem expects. skopeo pushes to
// Distribution as alice and is refused as bob.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startAuthRegistry, type AuthRegistry } from './helpers.js';
import { freePort, tempDir, removeDir } from '../helpers/processes.js';
import { requireTools, runExpectingFailure } from '../interop/run.js';
import { buildMultiLayerImage, type LayoutImage } from '../interop/images.js';
import { Skopeo, dockerRef, ociRef } from '../interop/skopeo.js';
import { defaultKeyPath } from '../../src/auth/signing-key.js';

const TIMEOUT = 120_000;

describe('Distribution 2.8 trusts the tokens of Wharf', () => {
  const work = tempDir('wharf-auth-distribution-');
  let wharf: AuthRegistry;
  let distribution: ChildProcess | undefined;
  let host = '';
  let output = '';
  let skopeo: Skopeo;
  let image: LayoutImage;

  before(
    async () => {
      requireTools('docker-registry', 'openssl', 'skopeo', 'umoci');
      wharf = await startAuthRegistry(
        {
          token: { issuer: 'wharf-issuer', service: 'distribution-under-test' },
          policies: [
            { repositories: ['alice/**'], users: ['alice'], actions: ['pull', 'push'] },
            { repositories: ['**'], users: ['bob'], actions: ['pull'] },
          ],
        },
        { alice: 'alice-secret', bob: 'bob-secret' },
      );
      const cert = join(work, 'wharf-token.crt');
      execFileSync('openssl', ['req', '-new', '-x509', '-key', defaultKeyPath(join(wharf.dir, 'data')), '-out', cert, '-days', '2', '-subj', '/CN=wharf token signer'], { stdio: 'pipe', timeout: 20_000 });
      const port = await freePort();
      host = `127.0.0.1:${port}`;
      mkdirSync(join(work, 'root'), { recursive: true });
      const config = join(work, 'config.yml');
      writeFileSync(
        config,
        `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(work, 'root')}
http:
  addr: ${host}
auth:
  token:
    realm: ${wharf.url}/token
    service: distribution-under-test
    issuer: wharf-issuer
    rootcertbundle: ${cert}
`,
      );
      distribution = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      distribution.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      distribution.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await fetch(`http://${host}/v2/`).catch(() => undefined);
        if (res) {
          await res.arrayBuffer();
          if (res.status === 401) break;
        }
        if (Date.now() > deadline || distribution.exitCode !== null) throw new Error(`docker-registry did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      skopeo = new Skopeo(join(work, 'skopeo'));
      image = await buildMultiLayerImage(join(work, 'umoci'));
    },
    { timeout: TIMEOUT },
  );
  after(async () => {
    if (distribution && distribution.exitCode === null) {
      distribution.kill('SIGTERM');
      await new Promise((r) => distribution!.once('exit', r));
    }
    await wharf?.close();
    removeDir(work);
  });

  test('Distribution challenges with Wharf as the realm', async () => {
    const res = await fetch(`http://${host}/v2/alice/app/tags/list`);
    await res.arrayBuffer();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${wharf.url}/token",service="distribution-under-test",scope="repository:alice/app:pull"`);
  });

  test('skopeo pushes to Distribution as alice with a Wharf token and pulls as bob; bob may not push', { timeout: TIMEOUT }, async () => {
    const digest = await skopeo.copy(ociRef(image.layout, image.ref), dockerRef(host, 'alice/app', 'v1'), ['--dest-creds', 'alice:alice-secret']);
    assert.equal(digest, image.descriptor.digest, `Distribution accepted the push:\n${output}`);
    const pulled = await skopeo.copy(dockerRef(host, 'alice/app', 'v1'), ociRef(join(work, 'out'), 'v1'), ['--src-creds', 'bob:bob-secret']);
    assert.equal(pulled, digest);
    const env = { REGISTRY_AUTH_FILE: join(work, 'skopeo', 'auth.json'), TMPDIR: join(work, 'skopeo', 'tmp') };
    const denied = await runExpectingFailure('skopeo', ['--policy', join(work, 'skopeo', 'policy.json'), 'copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', 'bob:bob-secret', ociRef(image.layout, image.ref), dockerRef(host, 'alice/app', 'bob')], { env });
    assert.match(denied.stderr, /denied|unauthorized|authentication required/i);
  });
});
