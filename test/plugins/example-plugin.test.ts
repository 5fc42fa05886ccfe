// The example plugin package (examples/plugin-storage): its storage driver passes the shared driver suite
// (loaded through the plugin loader, as serve loads it), keeps objects under its prefix, and `wharf serve`
// started from examples-style config with `storage: prefixed:…` serves a push and a pull.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { runDriverSuite } from '../suites/driver.suite.js';
import { loadPlugins } from '../../src/plugins/loader.js';
import { openStorage } from '../../src/storage/index.js';
import { RegistryClient } from '../../src/client/index.js';
import { projectRoot, removeDir, spawnWharf, tempDir, type SpawnedRegistry } from '../helpers/processes.js';
import { buildImage, pushImage, readAll, uniqueRepo } from '../client/helpers.js';

const pluginDir = join(projectRoot, 'examples', 'plugin-storage');
const silent = pino({ level: 'silent' });

let inner = '';
runDriverSuite({
  name: 'example plugin prefixed: (over the filesystem driver)',
  capabilities: {
    largeObjectBytes: 64 * 1024 * 1024,
    largeObjectReason: 'the filesystem driver underneath runs the 1 GiB case in test/storage/filesystem.test.ts',
  },
  async create() {
    inner = tempDir('wharf-plugin-suite-');
    await loadPlugins([pluginDir], { dataDir: inner, log: silent });
    return openStorage('prefixed:suite/a', { inner });
  },
  async destroy(driver) {
    await driver.close?.();
    removeDir(inner);
  },
});

describe('example plugin: the prefix', () => {
  test('objects live under PREFIX/ of the inner storage, and paths come back without it', async () => {
    const dir = tempDir('wharf-plugin-prefix-');
    try {
      await loadPlugins([pluginDir], { dataDir: dir, log: silent });
      const d = await openStorage('prefixed:team-a', {}); // inner: DATA/blobs
      await d.putContent('x/y', Buffer.from('hello'));
      assert.ok(existsSync(join(dir, 'blobs', 'team-a', 'x', 'y')), 'stored under DATA/blobs/team-a');
      assert.deepEqual(await d.list('x'), ['x/y']);
      assert.equal((await d.stat('x/y')).path, 'x/y');
      await assert.rejects(openStorage('prefixed:', {}), /the prefix must be one or more segments/);
    } finally {
      removeDir(dir);
    }
  });
});

describe('example plugin: wharf serve with storage prefixed:team-a', () => {
  let dir: string;
  let wharf: SpawnedRegistry;
  before(async () => {
    dir = tempDir('wharf-plugin-serve-');
    const config = join(dir, 'wharf.yaml');
    // The plugin path is relative to the config file, as in examples/plugin-storage.yaml.
    writeFileSync(config, `plugins:\n  - ${relative(dir, pluginDir)}\nstorage: prefixed:team-a\n`);
    wharf = await spawnWharf({ data: join(dir, 'data'), args: ['--config', config] });
  });
  after(async () => {
    await wharf?.stop();
    removeDir(dir);
  });

  test('a push and a pull go through the plugin driver', async () => {
    const client = new RegistryClient(wharf.host);
    try {
      const repo = uniqueRepo('plugin');
      const image = buildImage();
      assert.equal(await pushImage(client, repo, image, 'v1'), image.digest);
      const got = await client.getManifest(repo, 'v1');
      assert.equal(got.digest, image.digest);
      const blob = await client.getBlob(repo, (JSON.parse(image.manifest.toString()) as { layers: { digest: string }[] }).layers[0]!.digest);
      assert.deepEqual(await readAll(blob), image.layers[0]);
      const under = join(dir, 'data', 'blobs', 'team-a');
      assert.ok(existsSync(under) && readdirSync(under).length > 0, `blobs under ${under}: ${wharf.output()}`);
    } finally {
      await client.close();
    }
  });
});
