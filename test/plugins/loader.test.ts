// The plugin loader: broken plugins stop `wharf serve` (a child process) with exit code ≠ 0 and a message
// naming the plugin and the problem; the other checks in-process (what a plugin exports, what it declares,
// conflicts, the objects its factories return); and the auth provider and metadata store seams working.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadPlugins } from '../../src/plugins/loader.js';
import { openMetadata } from '../../src/metadata/index.js';
import { openStorage } from '../../src/storage/index.js';
import { loadConfig } from '../../src/config/load.js';
import { authSchema } from '../../src/auth/config.js';
import { startRegistry } from '../../src/server.js';
import { RegistryClient, UnauthorizedError } from '../../src/client/index.js';
import { freePort, removeDir, tempDir, wharfCommand } from '../helpers/processes.js';
import { buildImage, pushImage, uniqueRepo } from '../client/helpers.js';

const silent = pino({ level: 'silent' });
const root = tempDir('wharf-plugin-loader-');
after(() => removeDir(root));

let n = 0;
/** Writes a plugin module (ESM JavaScript) into its own directory; returns the directory. */
function plugin(source: string, file = 'index.js'): string {
  const dir = join(root, `p${++n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `p${n}`, type: 'module', main: file }));
  writeFileSync(join(dir, file), source);
  return dir;
}

async function loadError(entries: string[]): Promise<Error> {
  return loadPlugins(entries, { dataDir: root, log: silent }).then(
    () => assert.fail('loading should fail'),
    (e: Error) => e,
  );
}

/** Runs `wharf serve --config FILE` until it exits (bounded); a plugin problem must end it. */
async function serveExit(configText: string): Promise<{ code: number | null; stderr: string }> {
  const dir = join(root, `serve${++n}`);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'wharf.yaml');
  writeFileSync(config, configText);
  const { cmd, argv } = wharfCommand(['serve', '--config', config, '--listen', `127.0.0.1:${await freePort()}`, '--data', join(dir, 'data')]);
  return new Promise((resolve) => {
    execFile(cmd, argv, { timeout: 30000, env: { ...process.env, WHARF_LOG_LEVEL: 'warn' } }, (err, _stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr });
    });
  });
}

/** A storage driver that lacks walk and concat. */
const driverWithoutWalkAndConcat = `
const ok = async () => {};
export function register(api) {
  api.storageDriver('half', () => ({
    name: 'half', capabilities: { append: true, minConcatPart: 0 },
    getContent: ok, putContent: ok, reader: ok, writer: ok, stat: ok, list: ok, move: ok, delete: ok,
  }));
}
`;

describe('broken plugins stop wharf serve', () => {
  test('a storage driver missing methods: exit ≠ 0, the plugin and the missing methods named', async () => {
    const dir = plugin(driverWithoutWalkAndConcat);
    const r = await serveExit(`plugins: ["${dir}"]\nstorage: "half:x"\n`);
    assert.notEqual(r.code, 0, `exit code ${r.code}`);
    assert.match(r.stderr, new RegExp(`plugin "${dir}": the storage driver \\(scheme half:\\) is invalid: missing methods walk, concat`));
  });

  test('a plugin that throws while it is imported: exit ≠ 0, "failed to load" and the error', async () => {
    const dir = plugin(`throw new Error('cannot reach the license server');\nexport function register() {}\n`);
    const r = await serveExit(`plugins: ["${dir}"]\n`);
    assert.notEqual(r.code, 0, `exit code ${r.code}`);
    assert.match(r.stderr, /plugin ".*" \(.*index\.js\) failed to load: cannot reach the license server/);
  });

  test('a plugin path or package that does not exist: exit ≠ 0, "not found"', async () => {
    const path = await serveExit(`plugins: ["./no-such-plugin"]\n`);
    assert.notEqual(path.code, 0, `exit code ${path.code}`);
    assert.match(path.stderr, /plugin ".*no-such-plugin" not found: no file or directory/);
    const pkg = await serveExit(`plugins: ["wharf-plugin-that-does-not-exist"]\n`);
    assert.notEqual(pkg.code, 0, `exit code ${pkg.code}`);
    assert.match(pkg.stderr, /plugin "wharf-plugin-that-does-not-exist" not found: no package of that name/);
  });

  test('an auth provider without verifyPassword fails at load, before anything opens', async () => {
    const dir = plugin(`export default { authProviders: [{ name: 'ldap', check() {} }] };\n`);
    const r = await serveExit(`plugins: ["${dir}"]\nauth: {}\n`);
    assert.notEqual(r.code, 0, `exit code ${r.code}`);
    assert.match(r.stderr, /is invalid: auth provider "ldap": missing method verifyPassword/);
  });
});

describe('plugin resolution', () => {
  test('a package name from node_modules under the working directory, ESM-only through "exports"', async () => {
    const cwd = join(root, 'project');
    const pkg = join(cwd, 'node_modules', '@acme', 'wharf-sink');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@acme/wharf-sink', type: 'module', exports: { '.': { import: './dist/index.js' } } }));
    writeFileSync(join(pkg, 'dist', 'index.js'), `export function register(api) { api.eventSink({ name: 'acme', deliver: async () => {} }); }\n`);
    const loaded = await loadPlugins(['@acme/wharf-sink'], { dataDir: root, log: silent, cwd: join(cwd, 'sub') });
    assert.deepEqual(loaded.plugins, [{ entry: '@acme/wharf-sink', provides: ['events acme'] }]);
    assert.equal(loaded.eventSinks[0]!.name, 'acme');
  });

  test('a package directory whose entry module is missing is named', async () => {
    const dir = join(root, 'no-entry');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'no-entry', main: 'lib/plugin.js' }));
    const e = await loadError([dir]);
    assert.match(e.message, /not found: .*no-entry: its entry module lib\/plugin\.js \(package\.json "main"\) does not exist/);
  });
});

describe('plugin loader checks (in-process)', () => {
  test('a module exporting neither register nor a default object', async () => {
    const e = await loadError([plugin(`export const x = 1;\n`)]);
    assert.match(e.message, /exports neither a register\(api\) function nor a default object .* \(default export is missing\)/);
  });

  test('register() that throws', async () => {
    const e = await loadError([plugin(`export function register() { throw new Error('boom'); }\n`)]);
    assert.match(e.message, /register\(\) failed: boom/);
  });

  test('a plugin that declares nothing', async () => {
    const e = await loadError([plugin(`export function register(api) {}\n`)]);
    assert.match(e.message, /declares nothing/);
  });

  test('built-in schemes cannot be replaced; bad schemes and non-function factories are named', async () => {
    const e = await loadError([
      plugin(`export function register(api) { api.storageDriver('file', () => ({})); api.metadataStore('sqlite', () => ({})); api.storageDriver('no good', () => ({})); api.storageDriver('x', 42); }\n`),
    ]);
    assert.match(e.message, /storage scheme file: is built in/);
    assert.match(e.message, /metadata scheme sqlite: is built in/);
    assert.match(e.message, /storage driver scheme "no good" is not a URL scheme/);
    assert.match(e.message, /storage driver x:: the factory must be a function \(it is a number\)/);
  });

  test('unknown keys in the default object, and an event sink without deliver', async () => {
    const e = await loadError([plugin(`export default { storageDriver: {}, eventSinks: [{ name: 'audit', send() {} }] };\n`)]);
    assert.match(e.message, /unknown key storageDriver in the default export/);
    assert.match(e.message, /event sink "audit": missing method deliver/);
  });

  test('two plugins providing the same scheme', async () => {
    const source = `export function register(api) { api.storageDriver('twice', () => ({})); }\n`;
    const a = plugin(source);
    const b = plugin(source);
    const e = await loadError([a, b]);
    assert.match(e.message, new RegExp(`plugins "${a}" and "${b}" both provide the storage scheme twice:`));
  });

  test('a factory returning something that is not a driver or a store fails when it is opened', async () => {
    await loadPlugins([plugin(`export function register(api) { api.storageDriver('nothing', () => 'a string'); api.metadataStore('partial', () => ({ close: async () => {} })); }\n`)], {
      dataDir: root,
      log: silent,
    });
    await assert.rejects(openStorage('nothing:x'), /the storage driver \(scheme nothing:\) is invalid: the factory returned a string/);
    await assert.rejects(openMetadata('partial:x'), /the metadata store \(scheme partial:\) is invalid: missing methods getRepositoryBlob, getBlob, /);
  });

  test('a driver with wrong capability types is named precisely', async () => {
    await loadPlugins([plugin(driverWithoutWalkAndConcat.replace("'half'", "'caps'").replace('append: true', "append: 'yes'"))], { dataDir: root, log: silent });
    await assert.rejects(openStorage('caps:x'), /capabilities\.append must be a boolean \(it is a string\)/);
  });
});

describe('plugin seams working', () => {
  test('an auth provider checks Basic credentials; without an auth section the start fails', async () => {
    const dir = plugin(`
export function register(api) {
  api.authProvider({
    name: 'static',
    async verifyPassword(user, password) { return user === 'carol' && password === 'from-the-plugin' ? 'carol' : undefined; },
    async userExists(user) { return user === 'carol'; },
  });
}
`);
    const data = join(root, 'auth-data');
    const base = loadConfig({ listen: '127.0.0.1:0', data }, {});
    await assert.rejects(startRegistry({ ...base, plugins: [dir] }, silent), /plugin auth provider "static" needs an auth section/);
    const auth = authSchema.parse({ policies: [{ repositories: ['**'], users: ['carol'], actions: ['pull', 'push'] }] });
    const running = await startRegistry({ ...base, plugins: [dir], auth }, silent);
    const host = new URL(running.url).host;
    const good = new RegistryClient(host, { credentials: { username: 'carol', password: 'from-the-plugin' } });
    const bad = new RegistryClient(host, { credentials: { username: 'carol', password: 'wrong' } });
    try {
      const image = buildImage();
      assert.equal(await pushImage(good, uniqueRepo('auth'), image, 'v1'), image.digest);
      await assert.rejects(pushImage(bad, uniqueRepo('auth'), buildImage(), 'v1'), (e: unknown) => e instanceof UnauthorizedError);
    } finally {
      await good.close();
      await bad.close();
      await running.close();
    }
  });

  test('a metadata store from a plugin (default-object form) serves a push and a pull', async () => {
    const data = join(root, 'meta-data');
    mkdirSync(data, { recursive: true });
    const base = loadConfig({ listen: '127.0.0.1:0', data }, {});
    const fixture = join(import.meta.dirname, 'fixtures', 'sqlite-metadata-plugin.ts');
    const running = await startRegistry({ ...base, plugins: [fixture], metadata: `wrapped-sqlite:${join(data, 'plugin.db')}` }, silent);
    const client = new RegistryClient(new URL(running.url).host);
    try {
      const repo = uniqueRepo('meta');
      const image = buildImage();
      await pushImage(client, repo, image, 'v1');
      assert.equal((await client.getManifest(repo, 'v1')).digest, image.digest);
    } finally {
      await client.close();
      await running.close();
    }
  });
});
