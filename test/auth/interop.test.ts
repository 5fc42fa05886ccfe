// Real clients against the built-in token service: skopeo with --creds (copy an image in and out, refused
// where the policy says no), and podman login / push / pull with a private auth file and vfs storage.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startAuthRegistry, type AuthRegistry } from './helpers.js';
import { requireTools, run, runExpectingFailure } from '../interop/run.js';
import { buildMultiLayerImage, type LayoutImage } from '../interop/images.js';
import { Skopeo, dockerRef, ociRef } from '../interop/skopeo.js';
import { writeContainersConfig, type ContainersConfig } from '../interop/containers-config.js';
import { tempDir, removeDir } from '../helpers/processes.js';

const TIMEOUT = 180_000;

describe('skopeo and podman against the token flow', () => {
  let reg: AuthRegistry;
  const work = tempDir('wharf-auth-interop-');
  let skopeo: Skopeo;
  let image: LayoutImage;
  let pushedDigest = '';

  before(
    async () => {
      requireTools('skopeo', 'umoci', 'podman');
      reg = await startAuthRegistry(
        {
          token: { service: 'wharf' },
          policies: [
            { repositories: ['alice/**'], users: ['alice'], actions: ['pull', 'push', 'delete'] },
            { repositories: ['**'], users: ['alice', 'bob'], actions: ['pull'] },
          ],
        },
        { alice: 'alice-secret', bob: 'bob-secret' },
      );
      skopeo = new Skopeo(join(work, 'skopeo'));
      image = await buildMultiLayerImage(join(work, 'umoci'));
    },
    { timeout: TIMEOUT },
  );
  after(async () => {
    await reg?.close();
    removeDir(work);
  });

  test('skopeo copies an image in as alice and out as bob', { timeout: TIMEOUT }, async () => {
    pushedDigest = await skopeo.copy(ociRef(image.layout, image.ref), dockerRef(reg.host, 'alice/app', 'v1'), ['--dest-creds', 'alice:alice-secret']);
    assert.equal(pushedDigest, image.descriptor.digest, 'the registry stores the manifest as given');
    const out = join(work, 'out');
    const pulled = await skopeo.copy(dockerRef(reg.host, 'alice/app', 'v1'), ociRef(out, 'v1'), ['--src-creds', 'bob:bob-secret']);
    assert.equal(pulled, pushedDigest);
  });

  test('skopeo: bob may not push, a wrong password and no credentials are refused', { timeout: TIMEOUT }, async () => {
    const flags = ['--policy', join(work, 'skopeo', 'policy.json'), 'copy', '--retry-times', '0', '--dest-tls-verify=false'];
    const env = { REGISTRY_AUTH_FILE: join(work, 'skopeo', 'auth.json'), TMPDIR: join(work, 'skopeo', 'tmp') };
    const src = ociRef(image.layout, image.ref);
    const bob = await runExpectingFailure('skopeo', [...flags, '--dest-creds', 'bob:bob-secret', src, dockerRef(reg.host, 'alice/app', 'bob')], { env });
    assert.match(bob.stderr, /denied|unauthorized|authentication required/i);
    const wrong = await runExpectingFailure('skopeo', [...flags, '--dest-creds', 'alice:nope', src, dockerRef(reg.host, 'alice/app', 'x')], { env });
    assert.match(wrong.stderr, /unauthorized|invalid user name or password|authentication required/i);
    const anon = await runExpectingFailure('skopeo', ['--policy', join(work, 'skopeo', 'policy.json'), 'inspect', '--raw', '--tls-verify=false', '--retry-times', '0', dockerRef(reg.host, 'alice/app', 'v1')], { env });
    assert.match(anon.stderr, /unauthorized|authentication required|denied/i);
  });

  test('podman login, pull and push with a private auth file', { timeout: TIMEOUT }, async () => {
    assert.ok(pushedDigest !== '', 'the skopeo test pushed alice/app:v1 first');
    const dir = join(work, 'podman');
    const runroot = mkdtempSync('/tmp/wharf-run-');
    try {
      const config: ContainersConfig = writeContainersConfig(join(dir, 'config'), { root: join(dir, 'root'), runroot });
      const storage = ['--root', join(dir, 'root'), '--runroot', runroot, '--storage-driver', 'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'];
      const podman = (args: string[]) => run('podman', [...storage, ...args], { timeoutMs: 120_000, env: config.env });
      const bad = await runExpectingFailure('podman', [...storage, 'login', '--tls-verify=false', '-u', 'alice', '-p', 'wrong', reg.host], { env: config.env });
      assert.match(bad.stderr, /unauthorized|invalid/i);
      await podman(['login', '--tls-verify=false', '-u', 'alice', '-p', 'alice-secret', reg.host]);
      const auth = JSON.parse(readFileSync(config.env.REGISTRY_AUTH_FILE!, 'utf8')) as { auths: Record<string, unknown> };
      assert.ok(reg.host in auth.auths, 'podman login wrote the private auth file');
      await podman(['pull', '--quiet', '--tls-verify=false', '--signature-policy', config.policy, `${reg.host}/alice/app:v1`]);
      await podman(['tag', `${reg.host}/alice/app:v1`, `${reg.host}/alice/pushed:v2`]);
      const digestFile = join(dir, 'digest');
      await podman(['push', '--tls-verify=false', '--signature-policy', config.policy, '--digestfile', digestFile, `${reg.host}/alice/pushed:v2`]);
      const pushed = readFileSync(digestFile, 'utf8').trim();
      const served = await skopeo.copy(dockerRef(reg.host, 'alice/pushed', 'v2'), ociRef(join(work, 'out2'), 'v2'), ['--src-creds', 'bob:bob-secret']);
      assert.equal(served, pushed, 'bob pulls what podman pushed as alice');
      await podman(['logout', reg.host]);
      await podman(['login', '--tls-verify=false', '-u', 'bob', '-p', 'bob-secret', reg.host]);
      await podman(['tag', `${reg.host}/alice/app:v1`, `${reg.host}/alice/by-bob:v1`]);
      const denied = await runExpectingFailure('podman', [...storage, 'push', '--tls-verify=false', '--signature-policy', config.policy, `${reg.host}/alice/by-bob:v1`], { env: config.env });
      assert.match(denied.stderr, /denied|unauthorized|authentication required/i);
    } finally {
      rmSync(runroot, { recursive: true, force: true });
    }
  });
});
