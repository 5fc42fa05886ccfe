import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { tempDir, removeDir } from '../helpers/processes.js';

test('defaults run as they are: 127.0.0.1:5000 with ./data', () => {
  const c = loadConfig({}, {}, '/srv');
  assert.equal(c.listen, '127.0.0.1:5000');
  assert.equal(c.data, '/srv/data');
  assert.equal(c.storage, pathToFileURL('/srv/data/blobs').href);
  assert.equal(c.metadata, 'sqlite:/srv/data/wharf.db');
});

test('flags beat environment, environment beats the file; file paths are relative to the file', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'wharf.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:6000\ndata: ./store\nlog:\n  level: warn\n');
    const fromFile = loadConfig({ config: file }, {}, '/elsewhere');
    assert.equal(fromFile.listen, '127.0.0.1:6000');
    assert.equal(fromFile.data, join(dir, 'store'));
    assert.equal(fromFile.log.level, 'warn');
    const fromEnv = loadConfig({ config: file }, { WHARF_LISTEN: '127.0.0.1:7000', WHARF_DATA: 'envdata' }, '/cwd');
    assert.equal(fromEnv.listen, '127.0.0.1:7000');
    assert.equal(fromEnv.data, '/cwd/envdata');
    const fromFlags = loadConfig({ listen: '127.0.0.1:8000' }, { WHARF_LISTEN: '127.0.0.1:7000', WHARF_CONFIG: file }, '/cwd');
    assert.equal(fromFlags.listen, '127.0.0.1:8000');
    assert.equal(fromFlags.data, join(dir, 'store'));
  } finally {
    removeDir(dir);
  }
});

test('explicit storage and metadata URLs', () => {
  const c = loadConfig({ storage: 'memory:', metadata: 'sqlite:rel/x.db' }, {}, '/w');
  assert.equal(c.storage, 'memory:');
  assert.equal(c.metadata, 'sqlite:/w/rel/x.db');
  assert.equal(loadConfig({ storage: './blobs' }, {}, '/w').storage, 'file:///w/blobs');
});

test('bad configuration names the key and the problem', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'listen: nowhere\nunknownKey: 1\n');
    assert.throws(() => loadConfig({ config: file }, {}), (e: unknown) => e instanceof ConfigError && /listen/.test(e.message) && /unknownKey/.test(e.message));
    writeFileSync(file, 'listen: [\n');
    assert.throws(() => loadConfig({ config: file }, {}), /not valid YAML/);
    assert.throws(() => loadConfig({ config: join(dir, 'missing.yaml') }, {}), /cannot read config file/);
    assert.throws(() => loadConfig({ listen: '127.0.0.1:70000' }, {}), /port/);
  } finally {
    removeDir(dir);
  }
});
