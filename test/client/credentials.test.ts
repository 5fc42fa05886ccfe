// Credential lookup from docker/podman auth files in temp directories, and credential helpers
// (a docker-credential-test shell script put on PATH).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DockerCredentialStore,
  CredentialsError,
  authFilePaths,
  normalizeAuthKey,
  runCredentialHelper,
} from '../../src/client/index.js';
import { removeDir, tempDir } from './helpers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

let root: string;
let home: string;
let bin: string;
let env: NodeJS.ProcessEnv;

function writeJson(path: string, doc: unknown): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

before(() => {
  root = tempDir('wharf-client-creds-');
  home = join(root, 'home');
  bin = join(root, 'bin');
  mkdirSync(home, { recursive: true });
  mkdirSync(bin, { recursive: true });
  // docker-credential-test: answers for two servers, "not found" otherwise, and logs what it was asked.
  const script = `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> "${join(root, 'helper.log')}"
case "$server" in
  helped.example:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-pass"}' "$server" ;;
  token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-123"}' "$server" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hub-user","Secret":"hub-pass"}' "$server" ;;
  broken.example) echo "helper exploded" >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
  writeFileSync(join(bin, 'docker-credential-test'), script);
  chmodSync(join(bin, 'docker-credential-test'), 0o755);
  env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: home };
});

after(() => removeDir(root));

describe('auth file search order', () => {
  test('REGISTRY_AUTH_FILE, then XDG_CONFIG_HOME/containers, then DOCKER_CONFIG, then ~/.dockercfg', () => {
    assert.deepEqual(
      authFilePaths({ env: { REGISTRY_AUTH_FILE: '/a/auth.json', DOCKER_CONFIG: '/d' }, homeDir: '/h' }).map((f) => f.path),
      ['/a/auth.json', '/d/config.json', '/h/.dockercfg'],
    );
    assert.deepEqual(
      authFilePaths({ env: { XDG_RUNTIME_DIR: '/run/u', XDG_CONFIG_HOME: '/cfg' }, homeDir: '/h' }).map((f) => f.path),
      ['/run/u/containers/auth.json', '/cfg/containers/auth.json', '/h/.docker/config.json', '/h/.dockercfg'],
    );
  });

  test('keys are normalized: schemes, /v1/ and every Docker Hub spelling', () => {
    assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeAuthKey('registry-1.docker.io'), 'docker.io');
    assert.equal(normalizeAuthKey('http://LocalHost:5000/v2/'), 'localhost:5000');
    assert.equal(normalizeAuthKey('quay.io/org/repo'), 'quay.io/org/repo');
  });
});

describe('auths entries', () => {
  test('base64 auth, username/password, identitytoken; namespaced keys; DOCKER_CONFIG beats ~/.docker', async () => {
    const dockerConfig = join(root, 'docker-config');
    writeJson(join(dockerConfig, 'config.json'), {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubber:hub:pass:with:colons') },
        'reg.example:5000': { username: 'u1', password: 'p1' },
        'reg.example:5000/team': { auth: b64('team-user:team-pass') },
        'idt.example': { auth: b64('ignored:'), identitytoken: 'refresh-xyz' },
      },
    });
    writeJson(join(home, '.docker', 'config.json'), { auths: { 'reg.example:5000': { auth: b64('home:wrong') } } });
    const store = new DockerCredentialStore({ env: { ...env, DOCKER_CONFIG: dockerConfig } });
    assert.deepEqual(await store.get('docker.io'), { username: 'hubber', password: 'hub:pass:with:colons' });
    assert.deepEqual(await store.get('registry-1.docker.io'), { username: 'hubber', password: 'hub:pass:with:colons' });
    assert.deepEqual(await store.get('reg.example:5000'), { username: 'u1', password: 'p1' });
    assert.deepEqual(await store.get('reg.example:5000', 'team/app'), { username: 'team-user', password: 'team-pass' });
    assert.deepEqual(await store.get('reg.example:5000', 'teamx/app'), { username: 'u1', password: 'p1' });
    assert.deepEqual(await store.get('idt.example'), { username: 'ignored', password: '', identityToken: 'refresh-xyz' });
    assert.equal(await store.get('unknown.example'), undefined);
    // Without DOCKER_CONFIG, ~/.docker/config.json is read.
    assert.deepEqual(await new DockerCredentialStore({ env }).get('reg.example:5000'), { username: 'home', password: 'wrong' });
  });

  test('REGISTRY_AUTH_FILE comes first; a host it lacks falls through to the docker config', async () => {
    const authFile = writeJson(join(root, 'podman', 'auth.json'), { auths: { 'reg.example:5000': { auth: b64('podman:pw') } } });
    const dockerConfig = join(root, 'docker-config-2');
    writeJson(join(dockerConfig, 'config.json'), { auths: { 'reg.example:5000': { auth: b64('docker:pw') }, 'other.example': { auth: b64('o:p') } } });
    const store = new DockerCredentialStore({ env: { ...env, REGISTRY_AUTH_FILE: authFile, DOCKER_CONFIG: dockerConfig } });
    assert.deepEqual(await store.get('reg.example:5000'), { username: 'podman', password: 'pw' });
    assert.deepEqual(await store.get('other.example'), { username: 'o', password: 'p' });
  });

  test('legacy ~/.dockercfg', async () => {
    const h = join(root, 'legacy-home');
    writeJson(join(h, '.dockercfg'), { 'https://old.example': { auth: b64('old:school') } });
    assert.deepEqual(await new DockerCredentialStore({ env: { HOME: h }, homeDir: h }).get('old.example'), { username: 'old', password: 'school' });
  });

  test('a config file that is not JSON is an error that names it', async () => {
    const p = join(root, 'bad', 'config.json');
    mkdirSync(join(root, 'bad'), { recursive: true });
    writeFileSync(p, '{not json');
    await assert.rejects(new DockerCredentialStore({ files: [p] }).get('x.example'), (e: unknown) => e instanceof CredentialsError && e.message.includes(p));
  });
});

describe('credential helpers', () => {
  test('credHelpers per host, credsStore for the rest, auths when the helper has nothing', async () => {
    const dockerConfig = join(root, 'docker-config-helpers');
    writeJson(join(dockerConfig, 'config.json'), {
      credsStore: 'test',
      credHelpers: { 'helped.example:5000': 'test' },
      auths: { 'plain.example': { auth: b64('file-user:file-pass') } },
    });
    const store = new DockerCredentialStore({ env: { ...env, DOCKER_CONFIG: dockerConfig } });
    assert.deepEqual(await store.get('helped.example:5000'), { username: 'helper-user', password: 'helper-pass' });
    assert.deepEqual(await store.get('docker.io'), { username: 'hub-user', password: 'hub-pass' });
    assert.deepEqual(await store.get('token.example'), { identityToken: 'refresh-123' });
    // The store's helper says "not found": the auths entry is used.
    assert.deepEqual(await store.get('plain.example'), { username: 'file-user', password: 'file-pass' });
    assert.equal(await store.get('nothing.example'), undefined);
  });

  test('runCredentialHelper: a failing helper and a missing helper are CredentialsErrors', async () => {
    await assert.rejects(runCredentialHelper('test', 'broken.example', { env }), (e: unknown) => e instanceof CredentialsError && /exited with 3.*exploded/.test(e.message));
    await assert.rejects(runCredentialHelper('absent', 'x', { env }), (e: unknown) => e instanceof CredentialsError && /not on PATH/.test(e.message));
    await assert.rejects(runCredentialHelper('../evil', 'x', { env }), CredentialsError);
  });
});
