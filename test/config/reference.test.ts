// The configuration reference cannot drift from the schema, and `config print` never shows a secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationReference, maskSecrets } from '../../src/config/reference.js';
import { environmentVariables } from '../../src/config/load.js';
import { projectRoot } from '../helpers/processes.js';

test('docs/configuration-reference.md is what `wharf config reference` generates', () => {
  const committed = readFileSync(join(projectRoot, 'docs', 'configuration-reference.md'), 'utf8');
  assert.equal(committed, configurationReference(), 'regenerate with: node bin/wharf config reference > docs/configuration-reference.md');
});

test('every key of the reference has a description', () => {
  const undocumented = configurationReference()
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .filter((l) => l.trimEnd().endsWith('|  |'))
    .map((l) => l.split('|')[1]!.trim());
  assert.deepEqual(undocumented, [], 'describe() these keys in src/config/schema.ts');
});

test('every WHARF_* variable the loader reads is in the reference table', () => {
  const source = readFileSync(join(projectRoot, 'src', 'config', 'load.ts'), 'utf8');
  const read = new Set([...source.matchAll(/env\.(WHARF_[A-Z_]+)/g)].map((m) => m[1]!));
  const listed = new Set(environmentVariables.map((e) => e.variable));
  assert.ok(read.size >= 6, `found the variables in load.ts (${[...read].join(', ')})`);
  for (const v of read) assert.ok(listed.has(v), `${v} is read by load.ts but missing from environmentVariables`);
  for (const v of listed) assert.ok(read.has(v), `${v} is listed but load.ts does not read it`);
});

test('maskSecrets hides secret-named keys and passwords in URLs, and nothing else', () => {
  const masked = maskSecrets({
    listen: '127.0.0.1:5000',
    metadata: 'postgres://wharf:hunter2@db.lan:5432/wharf',
    storage: 's3://bucket/prefix?region=x',
    storageOptions: { accessKeyId: 'AKIA', secretAccessKey: 'shh', sessionToken: 'tok', accountKey: 'k', connectionString: 'c' },
    auth: { token: { key: './token.pem' }, external: [{ jwks: 'https://u:p@auth.example/jwks' }] },
    empty: { password: '' },
    events: { endpoints: [{ url: 'http://h/x', headers: { Authorization: 'Bearer abc', 'X-Trace': 'on' } }] },
  }) as Record<string, any>;
  assert.equal(masked.listen, '127.0.0.1:5000', 'plain values stay');
  assert.equal(masked.metadata, 'postgres://wharf:********@db.lan:5432/wharf', 'URL password masked, user kept');
  assert.equal(masked.storage, 's3://bucket/prefix?region=x', 'URL without password unchanged');
  assert.equal(masked.storageOptions.accessKeyId, 'AKIA', 'access key id is not a secret');
  for (const k of ['secretAccessKey', 'sessionToken', 'accountKey', 'connectionString']) assert.equal(masked.storageOptions[k], '********', `${k} masked`);
  assert.equal(masked.auth.token.key, './token.pem', 'a key file path is shown');
  assert.equal(masked.auth.external[0].jwks, 'https://u:********@auth.example/jwks', 'URL in a list masked');
  assert.equal(masked.empty.password, '', 'an empty secret stays visibly empty');
  assert.equal(masked.events.endpoints[0].headers.Authorization, '********', 'an Authorization header is a secret');
  assert.equal(masked.events.endpoints[0].headers['X-Trace'], 'on', 'other headers stay');
});
