// Crash consistency: SIGKILL the registry at random points while workers upload blobs (monolithic and
// chunked), push manifests, move tags and delete manifests and tags; restart it on the same data directory
// and check that everything acknowledged survived, nothing half-written is visible, and unfinished upload
// sessions either resume or are cleanly unknown.
//
// Replay a run with WHARF_CRASH_SEED=<seed> (printed at the start). WHARF_CRASH_CYCLES sets the number of kills.
// WHARF_TEST_TARGET=reference runs it against Distribution 2.8 instead of Wharf (to check the harness).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { removeDir, tempDir, type SpawnedRegistry } from '../helpers/processes.js';
import { Ledger, type BlobInfo, type OpenSession } from './crash-ledger.js';
import { createWorkers, planKill, pushConfig, runCycle, type CrashEnv, type KillRecord } from './crash-cycle.js';
import { checkOpenSessions, type SessionOutcome } from './crash-sessions.js';
import { verifyLedger } from './crash-verify.js';
import { InFlight, type Phase } from './in-flight.js';
import { PushClient } from './push-client.js';
import { Prng, chooseSeed } from './random-data.js';
import { registryTarget } from './registry-target.js';

const target = registryTarget();
const seed = chooseSeed('WHARF_CRASH_SEED');
const cycles = Number(process.env.WHARF_CRASH_CYCLES ?? 27);
const repos = ['crash/shared', 'crash/solo'];
const plantRepo = 'crash/planted';
const workerCount = 3;
/** Every kind of request must have been on the wire at one kill at least. */
const mustHit: readonly Phase[] = ['monolithic', 'patch', 'complete', 'manifest-push', 'tag-move', 'delete-digest', 'delete-tag'];

console.log(`crash test: target ${target.name}, seed ${seed} (replay with WHARF_CRASH_SEED=${seed}), ${cycles} kills`);

function problemReport(env: CrashEnv, when: string, problems: string[]): string {
  const traces = env.workers.map((w) => `worker ${w.id}, last requests:\n${w.client.formatTrace(10)}`).join('\n');
  return [
    `${target.name}, seed ${seed}, ${when}: ${problems.length} problem(s)`,
    ...problems.slice(0, 25).map((p) => `  - ${p}`),
    `verification requests (last 10):\n${env.controller.formatTrace(10)}`,
    traces,
    `server output (tail):\n${env.server().output().slice(-3000)}`,
  ].join('\n');
}

async function setUp(server: () => SpawnedRegistry): Promise<CrashEnv> {
  const prng = new Prng(seed);
  const ledger = new Ledger();
  const controller = new PushClient(server().url, 20_000);
  const configs = new Map<string, BlobInfo>();
  for (const repo of repos) configs.set(repo, await pushConfig(controller, ledger, target, repo));
  const workers = createWorkers(workerCount, repos, configs, prng.fork('workers'), seed, server().url, ledger);
  const sessions: OpenSession[] = [];
  const env: CrashEnv = { target, runSeed: seed, prng, ledger, sessions, workers, controller, plantRepo, server };
  const ctx = { cycle: 0, ledger, sessions, flight: new InFlight(), target, stopping: () => false };
  await Promise.all(workers.map((w) => w.warmUp(ctx)));
  return env;
}

/** After a restart: verify the ledger, then check (and resume) the open upload sessions. */
async function checkAfterRestart(env: CrashEnv, record: KillRecord, outcomes: SessionOutcome[], notes: string[]): Promise<void> {
  const when = `after kill ${record.cycle} (aimed at ${record.aim}, in flight: ${record.inFlight.join(', ') || 'nothing'})`;
  const problems = await verifyLedger(env.controller, env.ledger, false);
  assert.deepEqual(problems, [], problemReport(env, when, problems));
  const sessions = await checkOpenSessions(env.controller, env.ledger, env.sessions, target);
  assert.deepEqual(sessions.problems, [], problemReport(env, `${when}, open uploads`, sessions.problems));
  outcomes.push(...sessions.outcomes);
  notes.push(...sessions.notes.map((n) => `kill ${record.cycle}: ${n}`));
}

function summary(records: KillRecord[], outcomes: SessionOutcome[], env: CrashEnv): string {
  const hits = new Map<Phase, number>();
  for (const r of records) for (const p of new Set(r.inFlight)) hits.set(p, (hits.get(p) ?? 0) + 1);
  const count = (o: SessionOutcome) => outcomes.filter((x) => x === o).length;
  return [
    `${records.length} kills, ${records.filter((r) => r.hit).length} landed on the aimed-at request`,
    `kills with each kind in flight: ${[...hits.entries()].map(([p, n]) => `${p} ${n}`).join(', ')}`,
    `open uploads after restart: ${count('resumed')} resumed (${count('resumed-behind-ack')} more behind the acknowledged offset), ${count('unknown')} unknown, ${count('already-complete')} already complete, ${count('refused-by-reference')} refused (reference only)`,
    `ledger: ${env.ledger.counts()}`,
  ].join('\n');
}

describe(`crash consistency against ${target.name} (seed ${seed})`, () => {
  const dataDir = tempDir('wharf-crash-');
  const live: { server?: SpawnedRegistry } = {};
  const server = () => {
    if (!live.server) throw new Error('no server running');
    return live.server;
  };

  after(async () => {
    await live.server?.kill();
    removeDir(dataDir);
  });

  it(`keeps every acknowledged write through ${cycles} SIGKILLs`, { timeout: 150_000 }, async (t) => {
    const started = Date.now();
    live.server = await target.spawn(dataDir);
    const port = live.server.port;
    const env = await setUp(server);
    const records: KillRecord[] = [];
    const outcomes: SessionOutcome[] = [];
    const notes: string[] = [];
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const record = await runCycle(env, cycle, planKill(env.prng, cycle));
      records.push(record);
      live.server = await target.spawn(dataDir, port);
      await checkAfterRestart(env, record, outcomes, notes);
    }
    const problems = await verifyLedger(env.controller, env.ledger, true);
    assert.deepEqual(problems, [], problemReport(env, 'final full verification', problems));
    for (const line of [...summary(records, outcomes, env).split('\n'), ...notes]) t.diagnostic(line);
    t.diagnostic(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(records.length >= 20, `only ${records.length} kills`);
    const missed = mustHit.filter((p) => !records.some((r) => r.inFlight.includes(p)));
    assert.deepEqual(missed, [], `no kill landed while these requests were in flight: ${missed.join(', ')}\n${summary(records, outcomes, env)}`);
    await live.server.stop();
    live.server = undefined;
  });
});
