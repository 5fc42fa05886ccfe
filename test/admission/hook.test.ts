// The admission hook over real loopback HTTP: a push the hook denies fails with the hook's reason in the
// client's error and stores nothing; allowed pushes commit; the review carries the manifest, the image config,
// existing referrers and the actor; an unavailable hook refuses (fail-closed) or allows (failOpen); the
// repository globs and the pull hook.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient, DeniedError, RegistryClientError } from '../../src/client/index.js';
import { MediaType } from '../../src/oci/index.js';
import { buildImage, pushImage, uniqueRepo, writeHtpasswd } from '../client/helpers.js';
import { freePort, removeDir, tempDir } from '../helpers/processes.js';
import { json, startHook, startWithAdmission, type HookServer, type AdmissionRegistry } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected the call to fail');
}

async function manifestStored(client: RegistryClient, repo: string, ref: string): Promise<boolean> {
  return (await client.headManifest(repo, ref)) !== undefined;
}

describe('admission hook: push', () => {
  let hook: HookServer;
  let reg: AdmissionRegistry;
  let client: RegistryClient;
  before(async () => {
    hook = await startHook((_r, _q, res) => json(res, 200, { allowed: true }));
    reg = await startWithAdmission({ url: hook.url, timeoutSeconds: 5, headers: { Authorization: 'Bearer hook-secret' } });
    client = new RegistryClient(reg.host);
  });
  after(async () => {
    await client.close();
    await reg.close();
    await hook.close();
  });

  test('a denied push fails with 403 DENIED and the hook\'s reason, and nothing is stored', async () => {
    hook.answer = (_r, _q, res) => json(res, 200, { allowed: false, reason: 'images must carry the label org.opencontainers.image.source' });
    const repo = uniqueRepo('adm');
    const image = buildImage();
    const e = await rejection(pushImage(client, repo, image, 'v1'));
    assert.ok(e instanceof DeniedError, `a DeniedError, got ${e.constructor.name}: ${e.message}`);
    assert.equal((e as RegistryClientError).status, 403);
    assert.match(e.message, /denied by the admission hook: images must carry the label org\.opencontainers\.image\.source/);
    assert.equal(await manifestStored(client, repo, 'v1'), false, 'the tag was not written');
    assert.equal(await manifestStored(client, repo, image.digest), false, 'the manifest was not written');
  });

  test('an allowed push commits; the review holds the manifest, the parsed config, the tags and the hook headers', async () => {
    hook.answer = (_r, _q, res) => json(res, 200, { allowed: true, reason: 'fine' });
    hook.reviews.length = 0;
    hook.headers.length = 0;
    const repo = uniqueRepo('adm');
    const image = buildImage();
    const digest = await pushImage(client, repo, image, 'v1');
    assert.equal(digest, image.digest);
    assert.equal(await manifestStored(client, repo, 'v1'), true, 'the tag is there');
    assert.equal(hook.reviews.length, 1, 'one review per manifest push');
    const r = hook.reviews[0]!;
    assert.equal(r.apiVersion, 'wharf.admission/v1');
    assert.equal(r.action, 'push');
    assert.equal(r.repository, repo);
    assert.equal(r.reference, 'v1');
    assert.deepEqual(r.tags, ['v1']);
    assert.equal(r.digest, image.digest);
    assert.equal(r.mediaType, MediaType.ociManifest);
    assert.equal(r.size, image.manifest.length);
    assert.deepEqual(r.manifest, JSON.parse(image.manifest.toString()));
    assert.deepEqual(r.config, JSON.parse(image.config.toString()));
    assert.deepEqual(r.referrers, []);
    assert.deepEqual(r.actor, { name: null });
    assert.equal(hook.headers[0]!.authorization, 'Bearer hook-secret');
  });

  test('the review lists the referrers the manifest already has', async () => {
    hook.answer = (_r, _q, res) => json(res, 200, { allowed: true });
    const repo = uniqueRepo('adm');
    const image = buildImage();
    await pushImage(client, repo, image, 'v1');
    const signature = buildImage({
      layers: [Buffer.from('signature')],
      artifactType: 'application/vnd.example.signature',
      subject: { mediaType: MediaType.ociManifest, digest: image.digest, size: image.manifest.length },
    });
    await pushImage(client, repo, signature);
    hook.reviews.length = 0;
    await client.putManifest(repo, 'v2', image.manifest);
    const r = hook.reviews[0]!;
    assert.equal(r.reference, 'v2');
    assert.equal(r.referrers.length, 1, `one referrer: ${JSON.stringify(r.referrers)}`);
    assert.equal(r.referrers[0]!.digest, signature.digest);
    assert.equal(r.referrers[0]!.artifactType, 'application/vnd.example.signature');
  });

  test('a hook answering without a boolean "allowed" counts as unavailable (fail-closed)', async () => {
    hook.answer = (_r, _q, res) => json(res, 200, { ok: true });
    const repo = uniqueRepo('adm');
    const e = await rejection(pushImage(client, repo, buildImage(), 'v1'));
    assert.ok(e instanceof DeniedError, `a DeniedError, got ${e.message}`);
    assert.match(e.message, /admission hook unavailable/);
    hook.answer = (_r, _q, res) => json(res, 500, { allowed: true });
    const e2 = await rejection(pushImage(client, repo, buildImage(), 'v2'));
    assert.match(e2.message, /admission hook unavailable \(the hook answered HTTP 500\)/);
  });
});

describe('admission hook: unavailable', () => {
  let slow: HookServer;
  before(async () => {
    // Answers only after 3 s, well past the 0.3 s timeout of these registries.
    slow = await startHook((_r, _q, res) => {
      const t = setTimeout(() => json(res, 200, { allowed: true }), 3000);
      res.once('close', () => clearTimeout(t));
    });
  });
  after(async () => {
    await slow.close();
  });

  test('a hook that does not answer in time: fail-closed refuses the push with "admission hook unavailable"', async () => {
    const reg = await startWithAdmission({ url: slow.url, timeoutSeconds: 0.3 });
    const client = new RegistryClient(reg.host);
    try {
      const repo = uniqueRepo('adm');
      const image = buildImage();
      const e = await rejection(pushImage(client, repo, image, 'v1'));
      assert.ok(e instanceof DeniedError, `a DeniedError, got ${e.message}`);
      assert.match(e.message, /admission hook unavailable \(no answer within 0\.3 s\)/);
      assert.equal(await manifestStored(client, repo, 'v1'), false, 'nothing stored');
    } finally {
      await client.close();
      await reg.close();
    }
  });

  test('a hook that does not answer in time: failOpen lets the push through', async () => {
    const reg = await startWithAdmission({ url: slow.url, timeoutSeconds: 0.3, failOpen: true });
    const client = new RegistryClient(reg.host);
    try {
      const repo = uniqueRepo('adm');
      const image = buildImage();
      assert.equal(await pushImage(client, repo, image, 'v1'), image.digest);
      assert.equal(await manifestStored(client, repo, 'v1'), true, 'stored');
    } finally {
      await client.close();
      await reg.close();
    }
  });

  test('a hook nobody listens on: fail-closed refuses with "connection refused", failOpen allows', async () => {
    // A port that was free a moment ago (bound and released) and that nothing listens on.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/admit`;
    const closed = await startWithAdmission({ url, timeoutSeconds: 2 });
    const open = await startWithAdmission({ url, timeoutSeconds: 2, failOpen: true });
    const c1 = new RegistryClient(closed.host);
    const c2 = new RegistryClient(open.host);
    try {
      const e = await rejection(pushImage(c1, uniqueRepo('adm'), buildImage(), 'v1'));
      assert.match(e.message, /admission hook unavailable \(connection refused\)/);
      const image = buildImage();
      assert.equal(await pushImage(c2, uniqueRepo('adm'), image, 'v1'), image.digest);
    } finally {
      await c1.close();
      await c2.close();
      await closed.close();
      await open.close();
    }
  });
});

describe('admission hook: repositories and pulls', () => {
  let hook: HookServer;
  let reg: AdmissionRegistry;
  let client: RegistryClient;
  before(async () => {
    hook = await startHook((r, _q, res) =>
      json(res, 200, r.action === 'pull' && r.tags.includes('secret') ? { allowed: false, reason: 'tag secret may not be pulled' } : { allowed: true }),
    );
    reg = await startWithAdmission({ url: hook.url, onPull: true, repositories: ['checked/**'] });
    client = new RegistryClient(reg.host);
  });
  after(async () => {
    await client.close();
    await reg.close();
    await hook.close();
  });

  test('repositories outside the globs are not sent to the hook', async () => {
    hook.reviews.length = 0;
    const repo = uniqueRepo('free');
    const image = buildImage();
    await pushImage(client, repo, image, 'secret');
    await client.getManifest(repo, 'secret');
    assert.equal(hook.reviews.length, 0, 'the hook was not asked');
  });

  test('onPull: the hook is asked before a manifest GET and its denial reaches the client; HEAD is not asked', async () => {
    const repo = `checked/${uniqueRepo('pull')}`;
    const image = buildImage();
    await pushImage(client, repo, image, 'secret');
    await client.putManifest(repo, 'public', image.manifest);
    hook.reviews.length = 0;
    const e = await rejection(client.getManifest(repo, 'secret'));
    assert.ok(e instanceof DeniedError, `a DeniedError, got ${e.message}`);
    assert.match(e.message, /denied by the admission hook: tag secret may not be pulled/);
    const r = hook.reviews[0]!;
    assert.equal(r.action, 'pull');
    assert.equal(r.digest, image.digest);
    assert.deepEqual(r.config, JSON.parse(image.config.toString()));
    const ok = await client.getManifest(repo, 'public');
    assert.equal(ok.digest, image.digest);
    assert.ok((await client.headManifest(repo, 'secret')) !== undefined, 'HEAD answers without asking the hook');
  });
});

describe('admission hook: the actor', () => {
  test('an authenticated push names the user in the review', async () => {
    const dir = tempDir('wharf-admission-auth-');
    const hook = await startHook((_r, _q, res) => json(res, 200, { allowed: true }));
    const htpasswd = writeHtpasswd(dir, { alice: 'wonderland' });
    const reg = await startWithAdmission({ url: hook.url }, { htpasswd, policies: [{ repositories: ['**'], users: ['alice'], actions: ['pull', 'push'] }] });
    const client = new RegistryClient(reg.host, { credentials: { username: 'alice', password: 'wonderland' } });
    try {
      await pushImage(client, uniqueRepo('adm'), buildImage(), 'v1');
      assert.deepEqual(hook.reviews[0]!.actor, { name: 'alice' });
    } finally {
      await client.close();
      await reg.close();
      await hook.close();
      removeDir(dir);
    }
  });
});
