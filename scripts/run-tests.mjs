#!/usr/bin/env node
// Runs every test file under test/ (or the files/folders given) with node's test runner and tsx.
// node 20's `node --test` finds no .ts files by itself, and sh globs do not recurse, so walk the tree here.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (entry.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = [];
for (const r of roots.length ? roots : ['test']) {
  if (statSync(r).isDirectory()) walk(r, files);
  else files.push(r);
}
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const concurrency = process.env.WHARF_TEST_CONCURRENCY ?? '2';
// The AWS SDK warns on Node 20 in every process; the version is pinned on purpose (see package.json).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files.map((f) => resolve(f))], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
