#!/usr/bin/env node
// `npm run bench`: Wharf against the reference registry (Debian docker-registry = CNCF Distribution 2.8) with
// ../shared/bench, on this machine, in one session: alternating reference/Wharf runs (3 pairs by default),
// then the medians and the Wharf/reference ratios from summarize.mjs.
//
//   npm run bench                       # 3 alternated pairs, full scenarios
//   npm run bench -- --pairs 1 --quick  # a smoke run
//   npm run bench -- --limits           # also measure the machine's ceilings (limits.mjs)
//
// Results (JSON per run and the summary) go to .bench/<timestamp>/. Data dirs are fresh and removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = resolve(root, '..', 'shared', 'bench');
const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    limits: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    'wharf-port': { type: 'string', default: '5101' },
    'ref-port': { type: 'string', default: '5102' },
    out: { type: 'string' },
  },
});

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(1);
}
if (!existsSync(join(benchDir, 'registry-bench.mjs'))) fail(`the benchmark is not at ${benchDir}`);
if (spawnSync('sh', ['-c', 'command -v docker-registry']).status !== 0) fail('docker-registry is not installed: apt-get install -y docker-registry');
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) fail('dist/ is missing: run npm ci (or npm run build) first');

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = resolve(args.out ?? join(root, '.bench', stamp));
const work = join(out, 'data');
mkdirSync(work, { recursive: true });

async function waitReady(url, proc, name) {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) fail(`${name} exited early`);
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`${name} did not become ready at ${url}`);
}

function startWharf() {
  const port = args['wharf-port'];
  // The way `npm start` and the bin/wharf shebang run it: a 4 MiB V8 semi-space.
  const proc = spawn(process.execPath, ['--max-semi-space-size=4', join(root, 'bin', 'wharf'), 'serve', '--listen', `127.0.0.1:${port}`, '--data', join(work, 'wharf'), '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { name: 'wharf', url: `http://127.0.0.1:${port}`, proc };
}

function startReference() {
  const port = args['ref-port'];
  const dir = join(work, 'reference');
  mkdirSync(dir, { recursive: true });
  // The shared reference configuration: filesystem driver, error-level logs, access log off, deletes on.
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: ${join(dir, 'root')}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
`;
  writeFileSync(join(dir, 'config.yml'), config);
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { name: 'reference', url: `http://127.0.0.1:${port}`, proc };
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit' });
  return r.status ?? 1;
}

const servers = [startReference(), startWharf()];
const stopAll = () => servers.forEach((s) => s.proc.exitCode === null && s.proc.kill('SIGTERM'));
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));
for (const s of servers) await waitReady(s.url, s.proc, s.name);

if (args.limits) run(process.execPath, [join(benchDir, 'limits.mjs'), '--json', join(out, 'limits.json'), '--dir', work]);

const files = [];
let failures = 0;
for (let pair = 1; pair <= Number(args.pairs); pair++) {
  for (const s of servers) {
    const file = join(out, `${s.name}-${pair}.json`);
    const argv = [join(benchDir, 'registry-bench.mjs'), '--url', s.url, '--pid', String(s.proc.pid), '--label', s.name, '--json', file];
    if (args.quick) argv.push('--quick');
    if (args.scenarios) argv.push('--scenarios', args.scenarios);
    console.log(`\n=== ${s.name}, run ${pair} of ${args.pairs}`);
    const status = run(process.execPath, argv);
    if (status !== 0) failures++;
    if (existsSync(file)) files.push(file);
  }
}
stopAll();
console.log('\n=== summary (ratio column: wharf / reference)');
run(process.execPath, [join(benchDir, 'summarize.mjs'), ...files, '--json', join(out, 'summary.json')]);
rmSync(work, { recursive: true, force: true });
console.log(`\nresults in ${out}`);
process.exitCode = failures ? 1 : 0;
