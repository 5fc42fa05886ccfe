// One crash cycle: leave an upload session open on purpose, let the workers run, SIGKILL the server at a
// random point — aimed at a kind of request that is on the wire — and wait for the workers to notice.
import { setTimeout as sleep } from 'node:timers/promises';
import { Ledger, blobKey, type BlobInfo, type OpenSession } from './crash-ledger.js';
import { Worker, patchSession, pieces, type CycleContext, type OpKind } from './crash-workload.js';
import { InFlight, type Phase } from './in-flight.js';
import { CheckFailure, PushClient, expectStatus, requireLocation } from './push-client.js';
import { Prng, pseudoRandomBytes, sha256Digest } from './random-data.js';
import type { RegistryTarget } from './registry-target.js';
import type { SpawnedRegistry } from '../helpers/processes.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** What a cycle's kill is aimed at: a kind of request in flight, or just a random moment. */
export type Aim = Phase | 'anytime';

/** The order in which cycles aim their kills; every kind gets hit several times over 20+ cycles. */
const aims: readonly Aim[] = ['monolithic', 'patch', 'complete', 'manifest-push', 'tag-move', 'delete-digest', 'delete-tag', 'upload-start', 'anytime'];

const biasFor: Record<Phase, OpKind> = {
  monolithic: 'monolithic',
  'upload-start': 'chunked',
  patch: 'chunked',
  complete: 'chunked',
  'manifest-push': 'manifest-push',
  'tag-move': 'tag-move',
  'delete-digest': 'delete-digest',
  'delete-tag': 'delete-tag',
};

/** Upper bound of the random delay between a request's start and the kill, per kind (a fast request needs a short one). */
const maxDelayMs: Record<Phase, number> = {
  monolithic: 25,
  'upload-start': 3,
  patch: 15,
  complete: 8,
  'manifest-push': 4,
  'tag-move': 4,
  'delete-digest': 3,
  'delete-tag': 3,
};

/** If the aimed-at kind never shows up, kill anyway after this long. */
const aimDeadlineMs = 3000;

export interface KillPlan {
  aim: Aim;
  bias: OpKind | undefined;
  /** Let the workload run this long before aiming. */
  preDelayMs: number;
  /** For 'anytime': when to kill. */
  delayMs: number;
}

export interface KillRecord {
  cycle: number;
  aim: Aim;
  /** The aimed-at kind was on the wire at the kill. */
  hit: boolean;
  /** Time from the start of the workload to the kill. */
  afterMs: number;
  inFlight: Phase[];
}

export interface CrashEnv {
  target: RegistryTarget;
  runSeed: number;
  prng: Prng;
  ledger: Ledger;
  sessions: OpenSession[];
  workers: Worker[];
  controller: PushClient;
  /** Repository for the planted open uploads. */
  plantRepo: string;
  server(): SpawnedRegistry;
}

export function planKill(prng: Prng, cycle: number): KillPlan {
  const aim = aims[(cycle - 1) % aims.length]!;
  return {
    aim,
    bias: aim === 'anytime' ? undefined : biasFor[aim],
    preDelayMs: prng.int(0, 150),
    delayMs: prng.int(30, 700),
  };
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

/** Waits for a request of the aimed-at kind, lets it run a random while, and kills if it is still in flight. */
async function waitForAim(plan: KillPlan, flight: InFlight, prng: Prng, abort: AbortSignal): Promise<boolean> {
  if (plan.aim === 'anytime') {
    await pause(plan.delayMs, abort);
    return true;
  }
  const deadline = Date.now() + aimDeadlineMs;
  let maxDelay = maxDelayMs[plan.aim];
  while (!abort.aborted && Date.now() < deadline) {
    if (!(await flight.nextStart(plan.aim, deadline - Date.now(), abort))) return false;
    await pause(prng.int(0, maxDelay), abort);
    if (flight.has(plan.aim)) return true;
    maxDelay = Math.floor(maxDelay / 2);
  }
  return false;
}

/** Runs the plan and SIGKILLs; `kill` must send the signal synchronously when called. */
async function killAtPlannedPoint(plan: KillPlan, flight: InFlight, prng: Prng, abort: AbortSignal, kill: () => Promise<void>): Promise<Omit<KillRecord, 'cycle'>> {
  const started = Date.now();
  await pause(plan.preDelayMs, abort);
  const hit = await waitForAim(plan, flight, prng, abort);
  const inFlight = flight.snapshot();
  const killed = kill();
  const afterMs = Date.now() - started;
  await killed;
  return { aim: plan.aim, hit: hit && (plan.aim === 'anytime' || inFlight.includes(plan.aim)), afterMs, inFlight };
}

/** Starts a chunked upload, PATCHes part of it (all acknowledged) and leaves it open across the kill. */
async function plantOpenUpload(env: CrashEnv, cycle: number): Promise<void> {
  const seed = `crash/${env.runSeed}/planted/c${cycle}`;
  const size = env.prng.int(32 * KiB, MiB);
  const bytes = pseudoRandomBytes(seed, size);
  const blob: BlobInfo = { repo: env.plantRepo, digest: sha256Digest(bytes), size, seed, owner: -1 };
  env.ledger.addBlob(blob);
  const started = expectStatus(await env.controller.startUpload(blob.repo), 202, 'start planted upload');
  const session: OpenSession = { origin: `planted upload, cycle ${cycle}`, location: requireLocation(started, 'start planted upload'), blob, ackedBytes: 0, sentBytes: 0 };
  const parts = pieces(env.prng, size);
  for (const part of parts.slice(0, parts.length - 1)) await patchSession(env.controller, session, bytes, part);
  env.sessions.push(session);
}

function workerFailure(env: CrashEnv, index: number, error: unknown): Error {
  const worker = env.workers[index]!;
  const kind = error instanceof CheckFailure ? 'check failed' : 'failed';
  return new Error(`worker ${worker.id} ${kind}: ${(error as Error).message}\nits last requests:\n${worker.client.formatTrace(15)}`, { cause: error });
}

/** One cycle: plant an open upload, run the workers, kill the server at the planned point. */
export async function runCycle(env: CrashEnv, cycle: number, plan: KillPlan): Promise<KillRecord> {
  await plantOpenUpload(env, cycle);
  let stopping = false;
  const ctx: CycleContext = { cycle, ledger: env.ledger, sessions: env.sessions, flight: new InFlight(), target: env.target, stopping: () => stopping };
  const failed = new AbortController();
  const runs = env.workers.map((w) =>
    w.run(ctx, plan.bias).catch((e: unknown) => {
      failed.abort();
      throw e;
    }),
  );
  const record = await killAtPlannedPoint(plan, ctx.flight, env.prng, failed.signal, () => {
    stopping = true;
    return env.server().kill();
  });
  const results = await Promise.allSettled(runs);
  const failure = results.findIndex((r) => r.status === 'rejected');
  if (failure >= 0) throw workerFailure(env, failure, (results[failure] as PromiseRejectedResult).reason);
  return { cycle, ...record };
}

/** Pushes the image config every manifest of `repo` refers to, before any kill. */
export async function pushConfig(client: PushClient, ledger: Ledger, target: RegistryTarget, repo: string): Promise<BlobInfo> {
  const bytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
  const blob: BlobInfo = { repo, digest: sha256Digest(bytes), size: bytes.length, seed: '', owner: -1 };
  ledger.addBlob(blob);
  const pending = ledger.begin(`config of ${repo}`, [{ kind: 'blob', key: blobKey(repo, blob.digest), to: 'present' }]);
  let res = await client.monolithicUpload(repo, blob.digest, bytes);
  if (res.status === 202 && !target.singlePostUpload) res = await client.completeUpload(requireLocation(res, 'config upload'), blob.digest, bytes);
  expectStatus(res, 201, `config upload to ${repo}`);
  pending.ack();
  return blob;
}

/** Workers, each with its own tags; two share the first repository, the last has its own. */
export function createWorkers(count: number, repos: readonly string[], configs: ReadonlyMap<string, BlobInfo>, prng: Prng, runSeed: number, baseUrl: string, ledger: Ledger): Worker[] {
  return Array.from({ length: count }, (_, id) => {
    const repo = repos[Math.min(Math.floor(id / 2), repos.length - 1)]!;
    const tags = [0, 1, 2].map((i) => `w${id}-t${i}`);
    for (const tag of tags) ledger.addTag({ repo, tag, owner: id });
    return new Worker(id, repo, tags, prng.fork(`worker ${id}`), runSeed, baseUrl, configs.get(repo)!);
  });
}
