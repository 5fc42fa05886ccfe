// The examples of docs/client.md section 15 (Operations) run as written, in order, against a real Wharf: the
// code blocks are joined into one module (imports from 'wharf/client' merged and pointed at the sources,
// localhost:5000 replaced by the test registry) and run in a child process in a temporary directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient, RegistryStore, createIndex, type ContentStore } from '../../src/client/index.js';
import { projectRoot } from '../helpers/processes.js';
import { pushPlatformImage } from './ops-places.js';
import { removeDir, startWharf, tempDir, type Target } from './helpers.js';

const run = promisify(execFile);

/** The ```ts blocks between two headings of a markdown file. */
function codeBlocks(markdown: string, from: string, to: string): string[] {
  const start = markdown.indexOf(from);
  const end = markdown.indexOf(to, start);
  assert.ok(start >= 0 && end > start, `docs/client.md has the sections ${from} and ${to}`);
  const section = markdown.slice(start, end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** One module from the blocks: every import merged at the top, the rest in order. */
function assemble(blocks: string[], host: string, workDir: string): string {
  const named = new Map<string, Set<string>>();
  const body: string[] = [];
  for (const block of blocks) {
    for (const line of block.split('\n')) {
      const m = /^import \{ ([^}]+) \} from '([^']+)';$/.exec(line);
      if (m) {
        const set = named.get(m[2]!) ?? new Set<string>();
        for (const n of m[1]!.split(',')) set.add(n.trim());
        named.set(m[2]!, set);
      } else {
        body.push(line);
      }
    }
  }
  const source = (module: string) => (module === 'wharf/client' ? join(projectRoot, 'src', 'client', 'index.ts') : module);
  const imports = [...named].map(([module, names]) => `import { ${[...names].join(', ')} } from ${JSON.stringify(source(module))};`);
  return [...imports, `process.chdir(${JSON.stringify(workDir)});`, ...body].join('\n').replaceAll('localhost:5000', host);
}

let target: Target;
let workDir: string;

before(async () => {
  target = await startWharf();
  workDir = tempDir('wharf-ops-docs-');
  // What the section says demo/app holds before its examples run.
  const client = new RegistryClient(target.host, { credentials: false });
  const store: ContentStore = new RegistryStore(client, 'demo/app');
  await pushPlatformImage(store, { architecture: 'amd64', tag: 'v1-amd64' });
  await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8', tag: 'v1-arm64' });
  await createIndex(store, { tag: 'v1', manifests: ['v1-amd64', 'v1-arm64'] });
  await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8', tag: 'v1-arm64-rebuilt' });
  await pushPlatformImage(store, { architecture: 's390x', tag: 'v1-s390x' });
  await client.close();
});

after(async () => {
  await target?.close();
  removeDir(workDir);
});

test('the examples of docs/client.md section 15 run in order against Wharf', async () => {
  const markdown = readFileSync(join(projectRoot, 'docs', 'client.md'), 'utf8');
  const blocks = codeBlocks(markdown, '## 15. Operations', '## 16.');
  assert.ok(blocks.length >= 12, `one example per operation (found ${blocks.length})`);
  const script = join(workDir, 'examples.mts');
  // Close the clients the examples open, so the child exits by itself.
  writeFileSync(script, assemble(blocks, target.host, workDir) + '\nawait client.close();\n');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, timeout: 120_000 });
  assert.match(stdout, /^sha256:[0-9a-f]{64}$/m, 'pushArtifact printed the digest');
  assert.match(stdout, /has no child matching/, 'removeFromIndex explained what did not match');
  for (const f of ['report.txt', 'report.md', 'result.json']) assert.ok(existsSync(join(workDir, 'out', f)), `pullArtifact wrote out/${f}`);
  assert.ok(existsSync(join(workDir, 'app-layout', 'index.json')), 'copy wrote the layout');

  const client = new RegistryClient(target.host, { credentials: false });
  try {
    const store = new RegistryStore(client, 'demo/app');
    const tags = await store.tags();
    for (const t of ['report', 'v1-multi', 'v1-multi-next', 'latest', 'stable']) assert.ok(tags.includes(t), `the examples left the tag ${t} (${tags.join(', ')})`);
    assert.deepEqual(await new RegistryStore(client, 'mirror/app').tags(), ['v1'], 'mirror copied v1');
    assert.deepEqual(await new RegistryStore(client, 'demo/other').tags(), ['stable'], 'copy tagged stable in demo/other');
  } finally {
    await client.close();
  }
});

test('the examples of docs/client.md section 14 (stores, openLocation) run against Wharf', async () => {
  const markdown = readFileSync(join(projectRoot, 'docs', 'client.md'), 'utf8');
  const blocks = codeBlocks(markdown, '## 14. Stores', '## 15. Operations');
  assert.ok(blocks.length >= 2, `an example of the stores and of openLocation (found ${blocks.length})`);
  const dir = join(workDir, 'stores');

  mkdirSync(dir);
  const script = join(dir, 'examples.mts');
  writeFileSync(script, assemble(blocks, target.host, dir) + '\nawait client.close();\n');
  await run(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, timeout: 120_000 });
  assert.ok(existsSync(join(dir, 'app.tar')), 'the archive was written on close()');
  assert.ok(readFileSync(join(dir, 'app-layout', 'index.json'), 'utf8').includes('"org.opencontainers.image.ref.name":"v1"'), 'openLocation + copy tagged v1 in the layout');
});
