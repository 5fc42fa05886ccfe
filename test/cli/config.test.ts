// `wharf config check|print|reference` as a user runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliEnv, runCli } from './helpers.js';
import { removeDir, tempDir } from '../helpers/processes.js';

test('config check: a valid file passes, an invalid one names the key and exits 1, a missing argument exits 2', async () => {
  const dir = tempDir('wharf-config-cli-');
  try {
    const env = cliEnv(dir);
    const ok = await runCli(['config', 'check', 'examples/minimal.yaml'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid \(listen 127\.0\.0\.1:5000/, 'says what it would run');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'listen: nowhere\nhttp:\n  idleTimeoutSeconds: -1\n');
    const res = await runCli(['config', 'check', bad], env);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /listen: expected HOST:PORT/, 'names the bad key');
    assert.match(res.stderr, /http\.idleTimeoutSeconds/, 'names every bad key');
    const secret = join(dir, 'secret.yaml');
    writeFileSync(secret, 'metadata: postgres://wharf:hunter2@127.0.0.1/wharf\n');
    const masked = await runCli(['config', 'check', secret], env);
    assert.equal(masked.code, 0, masked.stderr);
    assert.ok(masked.stdout.includes('postgres://wharf:********@127.0.0.1/wharf') && !masked.stdout.includes('hunter2'), `password masked: ${masked.stdout}`);
    const usage = await runCli(['config', 'check'], env);
    assert.equal(usage.code, 2, usage.stderr);
  } finally {
    removeDir(dir);
  }
});

test('config print: every key with its effective value, flags over environment over file, secrets masked', async () => {
  const dir = tempDir('wharf-config-cli-');
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:6001\nstorage: s3://b/p?endpoint=http://127.0.0.1:1\nstorageOptions:\n  secretAccessKey: very-secret\n');
    const env = { ...cliEnv(dir), WHARF_LISTEN: '127.0.0.1:6002', WHARF_METADATA: 'postgres://w:pw@127.0.0.1/db' };
    const res = await runCli(['config', 'print', '--config', file, '--json', '--log-level', 'debug'], env);
    assert.equal(res.code, 0, res.stderr);
    const printed = JSON.parse(res.stdout);
    assert.equal(printed.listen, '127.0.0.1:6002', 'environment over file');
    assert.equal(printed.log.level, 'debug', 'flag applied');
    assert.equal(printed.storageOptions.secretAccessKey, '********', 'secret masked');
    assert.equal(printed.metadata, 'postgres://w:********@127.0.0.1/db', 'URL password masked');
    assert.ok(!res.stdout.includes('very-secret') && !res.stdout.includes(':pw@'), 'no secret anywhere in the output');
    assert.equal(printed.http.shutdownTimeoutSeconds, 10, 'defaults are shown too');
    const yaml = await runCli(['config', 'print', '--config', file], env);
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.match(yaml.stdout, /^listen: 127\.0\.0\.1:6002$/m, 'YAML by default');
  } finally {
    removeDir(dir);
  }
});
