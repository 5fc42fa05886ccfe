// Every example configuration in examples/ is valid as it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { parseStorageURL } from '../../src/storage/index.js';
import { projectRoot } from '../helpers/processes.js';

const dir = join(projectRoot, 'examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

test('examples/ has a config per storage backend', () => {
  for (const name of ['minimal.yaml', 'memory.yaml', 's3.yaml', 'azure.yaml']) assert.ok(files.includes(name), `examples/${name} exists`);
});

for (const file of files) {
  test(`examples/${file} loads`, () => {
    const config = loadConfig({ config: join(dir, file) }, {});
    assert.ok(parseStorageURL(config.storage).protocol.length > 0, `${file}: storage ${config.storage}`);
  });
}
