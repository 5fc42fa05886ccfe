// `wharf login` / `wharf logout` against the reference registry with htpasswd auth: credentials are checked,
// stored in the auth file (other keys kept, mode 0600), used by the next push, and removed again. The library
// underneath (client/login.ts) in-process: which file it writes, credential helpers, a broken file. And the
// same against Wharf's token service, where every request goes through a Bearer token.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startReference, writeHtpasswd, type Target } from '../client/helpers.js';
import { cliEnv, runCli, tempDir, removeDir, type CliResult } from './helpers.js';
import { login, logout, loginAuthFile, authKeyFor } from '../../src/client/login.js';
import { dockerCredentials, UnauthorizedError, CredentialsError } from '../../src/client/index.js';
import { startAuthRegistry, type AuthRegistry } from '../auth/helpers.js';

function expectCode(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, stdout: ${r.stdout} stderr: ${r.stderr}`);
}

const basic = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');

describe('wharf login and logout (reference registry with htpasswd)', () => {
  let target: Target;
  let dir: string;
  let authDir: string;
  let env: NodeJS.ProcessEnv;
  let authFile: string;
  const others = { auths: { 'other.example:5000': { auth: basic('bob', 'pw') } }, credHelpers: { 'helper.example': 'none' }, psFormat: 'table' };

  before(async () => {
    dir = tempDir('wharf-cli-login-');
    authDir = tempDir('wharf-cli-login-auth-');
    env = cliEnv(authDir);
    authFile = env.REGISTRY_AUTH_FILE!;
    target = await startReference({ htpasswd: writeHtpasswd(dir, { alice: 's3cret' }) });
    writeFileSync(authFile, JSON.stringify(others));
    // A one-image OCI layout, written by umoci, to push with the stored credentials.
    execFileSync('umoci', ['init', '--layout', join(dir, 'layout')]);
    execFileSync('umoci', ['new', '--image', `${join(dir, 'layout')}:v1`]);
  });

  after(async () => {
    await target?.close();
    for (const d of [dir, authDir]) if (d) removeDir(d);
  });

  test('wrong password and usage errors store nothing; login stores, push uses it, logout removes it', async () => {
    const host = target.host;
    const [wrong, noUser, both] = await Promise.all([
      runCli(['login', host, '-u', 'alice', '--password-stdin'], env, { input: 'nope\n' }),
      runCli(['login', host, '--password-stdin'], env, { input: 's3cret\n' }),
      runCli(['login', host, '-u', 'alice', '-p', 'x', '--password-stdin'], env, { input: 's3cret\n' }),
    ]);
    expectCode(wrong, 1, 'login with a wrong password');
    assert.equal(wrong.stderr, `wharf login: ${host} refused the credentials of "alice" (401 UNAUTHORIZED); check the username and password; nothing was stored\n`);
    expectCode(noUser, 2, 'login without -u and no terminal');
    assert.equal(noUser.stderr, "wharf login: no username: give -u USER\n(run 'wharf login --help' for usage and examples)\n");
    expectCode(both, 2, 'login with -p and --password-stdin');
    assert.deepEqual(JSON.parse(readFileSync(authFile, 'utf8')), others, 'the auth file is untouched');

    const ok = await runCli(['login', host, '-u', 'alice', '--password-stdin', '--json'], env, { input: 's3cret\n' });
    expectCode(ok, 0, 'login');
    assert.deepEqual(JSON.parse(ok.stdout), { registry: host, username: 'alice', file: authFile, key: host, helper: null });
    const stored = JSON.parse(readFileSync(authFile, 'utf8')) as typeof others & { auths: Record<string, { auth: string }> };
    assert.deepEqual(stored, { ...others, auths: { ...others.auths, [host]: { auth: basic('alice', 's3cret') } } }, 'the new entry, every other key kept');
    assert.equal(statSync(authFile).mode & 0o777, 0o600, 'mode 0600');

    const push = await runCli(['push', '--json', join(dir, 'layout'), `${host}/team/app:v1`], env);
    expectCode(push, 0, 'push with the stored credentials');
    const tags = await runCli(['tags', `${host}/team/app`], env);
    expectCode(tags, 0, 'tags with the stored credentials');
    assert.equal(tags.stdout, 'v1\n');

    const out = await runCli(['logout', '--json', host], env);
    expectCode(out, 0, 'logout');
    assert.deepEqual(JSON.parse(out.stdout), { registry: host, files: [authFile], helpers: [] });
    assert.deepEqual(JSON.parse(readFileSync(authFile, 'utf8')), others, 'only the entry for the host is gone');

    const [refused, again] = await Promise.all([runCli(['tags', `${host}/team/app`], env), runCli(['logout', host], env)]);
    expectCode(refused, 1, 'tags after logout');
    assert.equal(refused.stderr, `wharf tags: ${host} refused the credentials or asked for some (401 UNAUTHORIZED); try 'wharf login ${host}'\n`);
    expectCode(again, 1, 'logout when not logged in');
    assert.equal(again.stderr, `wharf logout: not logged in to ${host}: no stored credentials found\n`);
  });

  test('library: the file login writes (REGISTRY_AUTH_FILE, else DOCKER_CONFIG), credential helpers, a broken file', async () => {
    const host = target.host;
    const home = tempDir('wharf-login-home-');
    try {
      const dockerDir = join(home, 'docker');
      const noAuthFile: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: dockerDir };
      assert.equal(loginAuthFile({ env: noAuthFile }), join(dockerDir, 'config.json'));
      assert.equal(loginAuthFile({ env: { HOME: home } }), join(home, '.docker', 'config.json'));
      assert.equal(loginAuthFile({ env: { ...noAuthFile, REGISTRY_AUTH_FILE: '/x/auth.json' } }), '/x/auth.json');
      assert.equal(loginAuthFile({ env: noAuthFile, authFile: '/y.json' }), '/y.json');
      assert.equal(authKeyFor('docker.io'), 'https://index.docker.io/v1/');
      assert.equal(authKeyFor('http://LOCALHOST:5000/'), 'localhost:5000');

      // No REGISTRY_AUTH_FILE: docker's config.json, created with its directory; read back by dockerCredentials.
      await assert.rejects(login(host, { username: 'alice', password: 'bad' }, { env: noAuthFile }), UnauthorizedError);
      assert.ok(!existsSync(join(dockerDir, 'config.json')), 'nothing written for refused credentials');
      const r = await login(host, { username: 'alice', password: 's3cret' }, { env: noAuthFile });
      assert.deepEqual(r, { file: join(dockerDir, 'config.json'), key: host, helper: undefined });
      assert.equal(statSync(r.file).mode & 0o777, 0o600);
      assert.deepEqual(await dockerCredentials({ env: noAuthFile, homeDir: home })(host), { username: 'alice', password: 's3cret' });

      // credsStore: the secret goes to docker-credential-<name> store; the file is left as it is.
      const bin = join(home, 'bin');
      mkdirSync(bin);
      const log = join(home, 'helper.log');
      writeFileSync(join(bin, 'docker-credential-fake'), `#!/bin/sh\nprintf '%s ' "$1" >> ${log}\ncat >> ${log}\necho >> ${log}\n`);
      chmodSync(join(bin, 'docker-credential-fake'), 0o755);
      const helperEnv: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: home, DOCKER_CONFIG: join(home, 'with-helper') };
      mkdirSync(join(home, 'with-helper'));
      const config = JSON.stringify({ credsStore: 'fake', auths: {} });
      writeFileSync(join(home, 'with-helper', 'config.json'), config);
      const viaHelper = await login(host, { username: 'alice', password: 's3cret' }, { env: helperEnv });
      assert.equal(viaHelper.helper, 'fake');
      assert.equal(readFileSync(join(home, 'with-helper', 'config.json'), 'utf8'), config, 'the config is not rewritten');
      const out = await logout(host, { env: helperEnv });
      assert.deepEqual(out, { files: [], helpers: ['fake'] });
      assert.equal(readFileSync(log, 'utf8'), `store ${JSON.stringify({ ServerURL: host, Username: 'alice', Secret: 's3cret' })}\nerase ${host}\n`);

      // A file that is not JSON is reported and left alone.
      const broken = join(home, 'broken.json');
      writeFileSync(broken, '{"auths": ');
      await assert.rejects(login(host, { username: 'alice', password: 's3cret' }, { env: noAuthFile, authFile: broken }), (e: unknown) => e instanceof CredentialsError && /is not valid JSON/.test(e.message));
      assert.equal(readFileSync(broken, 'utf8'), '{"auths": ');
    } finally {
      removeDir(home);
    }
  });
});

describe('wharf login against a registry that demands Bearer tokens (Wharf with its token service)', () => {
  let reg: AuthRegistry;
  let authDir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    authDir = tempDir('wharf-cli-token-auth-');
    env = cliEnv(authDir);
    reg = await startAuthRegistry(
      {
        token: { service: 'wharf' },
        policies: [
          { repositories: ['alice/**'], users: ['alice'], actions: ['pull', 'push', 'delete'] },
          { repositories: ['**'], users: ['alice', 'bob'], actions: ['pull', 'catalog'] },
        ],
      },
      { alice: 'alice-secret', bob: 'bob-secret' },
    );
  });

  after(async () => {
    await reg?.close();
    if (authDir) removeDir(authDir);
  });

  test('a wrong password is refused at the token endpoint; alice logs in and pushes; bob is denied the push', async () => {
    const file = join(authDir, 'bob.json');
    writeFileSync(join(authDir, 'payload.txt'), 'bytes');
    const [wrong, alice, bob] = await Promise.all([
      runCli(['login', reg.host, '-u', 'alice', '--password-stdin'], env, { input: 'nope' }),
      runCli(['login', reg.host, '-u', 'alice', '--password-stdin'], env, { input: 'alice-secret\n' }),
      runCli(['login', reg.host, '-u', 'bob', '-p', 'bob-secret', '--authfile', file], env),
    ]);
    expectCode(wrong, 1, 'login with a wrong password');
    assert.ok(wrong.stderr.startsWith(`wharf login: ${reg.host} refused the credentials of "alice" (`), wrong.stderr);
    expectCode(alice, 0, 'login alice');
    assert.equal(alice.stderr, `logged in to ${reg.host} as alice; credentials stored in ${env.REGISTRY_AUTH_FILE}\n`);
    expectCode(bob, 0, 'login bob --authfile');
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).auths[reg.host].auth, basic('bob', 'bob-secret'));

    const [pushed, catalog] = await Promise.all([
      runCli(['blob', 'put', `${reg.host}/alice/app`, join(authDir, 'payload.txt')], env),
      runCli(['catalog', reg.host], { ...env, REGISTRY_AUTH_FILE: file }),
    ]);
    expectCode(pushed, 0, 'blob put as alice with the stored credentials');
    expectCode(catalog, 0, 'catalog as bob');
    writeFileSync(join(authDir, 'other.txt'), 'bytes bob may not push');
    const denied = await runCli(['blob', 'put', `${reg.host}/alice/app`, join(authDir, 'other.txt')], { ...env, REGISTRY_AUTH_FILE: file });
    expectCode(denied, 1, 'blob put as bob');
    assert.ok(/^wharf blob put: 127\.0\.0\.1:\d+ (denied access|refused the credentials)/.test(denied.stderr), denied.stderr);
  });
});
