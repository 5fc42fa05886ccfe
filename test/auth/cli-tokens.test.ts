// `wharf token create|list|revoke` against a registry with the token service: the CLI goes through the client
// transport (challenge → /token with the admin's credentials from the auth file → bearer token).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAuthRegistry, getToken, accessOf, type AuthRegistry } from './helpers.js';
import { cliEnv, runCli, writeDockerConfig } from '../cli/helpers.js';
import { tempDir, removeDir } from '../helpers/processes.js';

describe('wharf token (API keys through the CLI)', () => {
  let reg: AuthRegistry;
  const adminDir = tempDir('wharf-cli-admin-');
  const bobDir = tempDir('wharf-cli-bob-');
  before(async () => {
    reg = await startAuthRegistry(
      {
        token: { service: 'wharf' },
        admins: ['root'],
        policies: [
          { repositories: ['alice/**'], users: ['alice'], actions: ['pull', 'push'] },
          { repositories: ['**'], users: ['bob'], actions: ['pull'] },
        ],
      },
      { root: 'root-secret', bob: 'bob-secret' },
    );
    writeDockerConfig(adminDir, reg.host, 'root', 'root-secret');
    writeDockerConfig(bobDir, reg.host, 'bob', 'bob-secret');
  });
  after(async () => {
    await reg?.close();
    removeDir(adminDir);
    removeDir(bobDir);
  });

  test('create prints the secret once; the key works as its subject; list shows it; revoke ends it', async () => {
    const created = await runCli(['token', 'create', '-q', reg.host, 'ci-deploy', '--subject', 'alice', '--expires', '7d'], cliEnv(adminDir));
    assert.equal(created.code, 0, created.stderr);
    const secret = created.stdout.trim();
    assert.match(secret, /^wharf_[A-Za-z0-9_-]{40,}$/);
    const t = await getToken(reg.url, { user: 'ci-deploy', password: secret, scopes: ['repository:alice/app:pull,push'] });
    assert.equal(t.status, 200);
    assert.deepEqual(accessOf(t.body.token!), [{ type: 'repository', name: 'alice/app', actions: ['pull', 'push'] }]);

    const listed = await runCli(['token', 'list', '--json', reg.host], cliEnv(adminDir));
    assert.equal(listed.code, 0, listed.stderr);
    const { tokens } = JSON.parse(listed.stdout) as { tokens: { name: string; subject: string; expired: boolean; secret?: string }[] };
    assert.deepEqual(tokens.map((k) => [k.name, k.subject, k.expired, k.secret]), [['ci-deploy', 'alice', false, undefined]]);
    const lines = await runCli(['token', 'list', reg.host], cliEnv(adminDir));
    assert.match(lines.stdout, /^ci-deploy\talice\t\S+\tactive\n$/);

    const dup = await runCli(['token', 'create', reg.host, 'ci-deploy', '--subject', 'bob'], cliEnv(adminDir));
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /exists/);

    const revoked = await runCli(['token', 'revoke', reg.host, 'ci-deploy'], cliEnv(adminDir));
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await getToken(reg.url, { user: 'ci-deploy', password: secret })).status, 401, 'a revoked key no longer logs in');
    const again = await runCli(['token', 'revoke', reg.host, 'ci-deploy'], cliEnv(adminDir));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no API key named/);
  });

  test('a user who is not an admin is denied (exit 1)', async () => {
    const r = await runCli(['token', 'create', reg.host, 'sneaky', '--subject', 'root'], cliEnv(bobDir));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /denied|refused/);
    const list = await runCli(['token', 'list', reg.host], cliEnv(bobDir));
    assert.equal(list.code, 1);
  });

  test('against a Basic-mode registry too (the transport answers the Basic challenge)', async () => {
    const basicReg = await startAuthRegistry({ admins: ['root'] }, { root: 'root-secret' });
    const dir = tempDir('wharf-cli-basic-');
    try {
      writeDockerConfig(dir, basicReg.host, 'root', 'root-secret');
      const created = await runCli(['token', 'create', '--json', basicReg.host, 'robot', '--expires', '1h'], cliEnv(dir));
      assert.equal(created.code, 0, created.stderr);
      const key = JSON.parse(created.stdout) as { name: string; subject: string; secret: string };
      assert.deepEqual([key.name, key.subject], ['robot', 'robot'], 'the subject defaults to the key name');
      const res = await fetch(`${basicReg.url}/v2/`, { headers: { authorization: 'Basic ' + Buffer.from(`robot:${key.secret}`).toString('base64') } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      await basicReg.close();
      removeDir(dir);
    }
  });

  test('bad input is a usage error', async () => {
    const r = await runCli(['token', 'create', reg.host], cliEnv(adminDir));
    assert.equal(r.code, 2);
  });
});
