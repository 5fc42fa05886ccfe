// Basic authentication (htpasswd, no token service): challenges, 401 vs 403, anonymous pull where a policy
// allows it, users added to the htpasswd file while the registry runs, and API keys as Basic passwords.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { ApiKeys } from '../../src/auth/api-keys.js';
import { startAuthRegistry, basic, htpasswdText, type AuthRegistry } from './helpers.js';

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

describe('Basic authentication mode', () => {
  let reg: AuthRegistry;
  before(async () => {
    reg = await startAuthRegistry(
      {
        realm: 'test-realm',
        admins: ['root'],
        groups: { builders: ['carol'] },
        policies: [
          { repositories: ['alice/**'], users: ['alice'], actions: ['pull', 'push', 'delete'] },
          { repositories: ['**'], users: ['bob'], actions: ['pull'] },
          { repositories: ['shared/*'], groups: ['builders'], actions: ['pull', 'push'] },
          { repositories: ['public/**'], anonymous: true, actions: ['pull'] },
        ],
      },
      { alice: 'alice-secret', bob: 'bob-secret', root: 'root-secret' },
    );
  });
  after(async () => reg?.close());

  const req = (method: string, path: string, auth?: string, body?: Buffer) => {
    const init: RequestInit = { method, headers: auth ? { authorization: auth, 'content-type': 'application/octet-stream' } : {} };
    if (body) init.body = body;
    return fetch(new URL(path, reg.url), init);
  };
  const uploadAs = async (auth: string | undefined, repo: string) => {
    const data = randomBytes(50);
    const res = await req('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, auth, data);
    const text = await res.text();
    return { status: res.status, text, challenge: res.headers.get('www-authenticate') };
  };

  test('no credentials: 401 with a Basic challenge, before any 404', async () => {
    for (const path of ['/v2/', '/v2/alice/app/tags/list', '/v2/does/not/exist/manifests/x', '/v2/_catalog']) {
      const res = await req('GET', path);
      assert.equal(res.status, 401, path);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="test-realm", charset="UTF-8"');
      await res.arrayBuffer();
    }
  });

  test('alice pushes alice/**; bob may only pull (403 DENIED); a wrong password is 401', async () => {
    assert.equal((await uploadAs(basic('alice', 'alice-secret'), 'alice/app')).status, 201);
    const bob = await uploadAs(basic('bob', 'bob-secret'), 'alice/app');
    assert.equal(bob.status, 403);
    assert.equal((JSON.parse(bob.text) as { errors: { code: string }[] }).errors[0]?.code, 'DENIED');
    assert.equal((await uploadAs(basic('alice', 'alice-secret'), 'bob/app')).status, 403, 'alice may not push outside alice/**');
    const wrong = await uploadAs(basic('alice', 'bob-secret'), 'alice/app');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.challenge, 'Basic realm="test-realm", charset="UTF-8"');
    const res = await req('GET', '/v2/alice/app/tags/list', basic('bob', 'bob-secret'));
    assert.equal(res.status, 200, 'bob may pull (list the tags)');
    await res.arrayBuffer();
  });

  test('anonymous pull where a policy allows it, and nothing more', async () => {
    const pull = await req('GET', '/v2/public/x/tags/list');
    assert.equal(pull.status, 404);
    await pull.arrayBuffer();
    assert.equal((await uploadAs(undefined, 'public/x')).status, 401);
  });

  test('a user added to the htpasswd file works without a restart (group policy)', async () => {
    assert.equal((await uploadAs(basic('carol', 'carol-secret'), 'shared/tools')).status, 401);
    const file = join(reg.dir, 'htpasswd');
    appendFileSync(file, htpasswdText({ carol: 'carol-secret' }));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.equal((await uploadAs(basic('carol', 'carol-secret'), 'shared/tools')).status, 201);
    assert.equal((await uploadAs(basic('carol', 'carol-secret'), 'shared/a/b')).status, 403, 'shared/* is one segment');
  });

  test('API keys: an admin creates one, it works as a Basic password as its subject, expires, and is revoked', async () => {
    const root = basic('root', 'root-secret');
    const make = (body: object, auth = root) => fetch(new URL('/v2/_wharf/tokens', reg.url), { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const denied = await make({ name: 'x', subject: 'alice', expires: '1d' }, basic('alice', 'alice-secret'));
    assert.equal(denied.status, 403, 'only admins manage keys');
    await denied.arrayBuffer();
    const res = await make({ name: 'deploy', subject: 'alice', expires: '7d' });
    assert.equal(res.status, 201);
    const key = (await res.json()) as { secret: string; expiresAt: string };
    assert.match(key.secret, /^wharf_/);
    assert.equal((await uploadAs(basic('deploy', key.secret), 'alice/from-ci')).status, 201);
    assert.equal((await uploadAs(basic('deploy', key.secret), 'bob/x')).status, 403);
    assert.equal((await uploadAs(basic('deploy', 'wharf_wrong'), 'alice/x')).status, 401);
    const dup = await make({ name: 'deploy', subject: 'bob', expires: '7d' });
    assert.equal(dup.status, 409);
    await dup.arrayBuffer();
    const bad = await make({ name: 'Bad Name', subject: 'bob', expires: '7d' });
    assert.equal(bad.status, 400);
    await bad.arrayBuffer();
    const list = await fetch(new URL('/v2/_wharf/tokens', reg.url), { headers: { authorization: root } });
    const listed = (await list.json()) as { tokens: Record<string, unknown>[] };
    assert.deepEqual(listed.tokens.map((t) => [t.name, t.subject, t.expired]), [['deploy', 'alice', false]]);
    assert.ok(!JSON.stringify(listed).includes(key.secret) && !JSON.stringify(listed).includes('Hash'), 'listing shows neither secrets nor hashes');
    const gone = await fetch(new URL('/v2/_wharf/tokens/deploy', reg.url), { method: 'DELETE', headers: { authorization: root } });
    assert.equal(gone.status, 204);
    await gone.arrayBuffer();
    assert.equal((await uploadAs(basic('deploy', key.secret), 'alice/from-ci')).status, 401);
    const again = await fetch(new URL('/v2/_wharf/tokens/deploy', reg.url), { method: 'DELETE', headers: { authorization: root } });
    assert.equal(again.status, 404);
    await again.arrayBuffer();
  });

  test('an expired API key is refused', async () => {
    // Created in the past with a one-second life (the API only creates keys that expire later).
    const created = await new ApiKeys(reg.running.registry.metadata).create('old-key', 'alice', 1, Date.now() - 10_000);
    assert.equal((await uploadAs(basic('old-key', created.secret), 'alice/x')).status, 401);
  });
});

describe('failed login throttle', () => {
  test('after maxFailedLogins failures the address gets 429 with Retry-After, even with the right password', async () => {
    const reg = await startAuthRegistry({ maxFailedLogins: 3, policies: [{ repositories: ['**'], users: ['alice'], actions: ['pull'] }] }, { alice: 'alice-secret' });
    try {
      const get = async (password: string) => {
        const res = await fetch(new URL('/v2/', reg.url), { headers: { authorization: basic('alice', password) } });
        await res.arrayBuffer();
        return res;
      };
      assert.equal((await get('alice-secret')).status, 200);
      for (let i = 0; i < 3; i++) assert.equal((await get('guess')).status, 401);
      const blocked = await get('alice-secret');
      assert.equal(blocked.status, 429);
      assert.match(blocked.headers.get('retry-after') ?? '', /^\d+$/);
      const token = await fetch(new URL('/token?service=wharf', reg.url), { headers: { authorization: basic('alice', 'alice-secret') } });
      await token.arrayBuffer();
      assert.equal(token.status, 404, 'no token service in Basic mode');
    } finally {
      await reg.close();
    }
  });
});
