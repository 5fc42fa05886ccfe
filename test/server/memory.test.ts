// Memory: the registry must stream blobs, never buffer them. Push a 1 GiB blob monolithic and another
// chunked, pull both back, and sample the server's RSS every 100 ms: its growth over the warmed-up RSS
// must stay far below the blob size. No timing assertion.
//
// WHARF_TEST_TARGET=reference runs it against Distribution 2.8 instead of Wharf.
// WHARF_MEMORY_BLOB_MIB shrinks the blob for a quick run of the harness itself (default 1024).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDir, tempDir, type SpawnedRegistry } from '../helpers/processes.js';
import { describeBlob, pullAndCheck, pushChunked, pushMonolithic, type BigBlob } from './blob-stream.js';
import { PushClient } from './push-client.js';
import { RssSampler, mib, procStatusBytes, resetPeakRss } from './rss-sampler.js';
import { registryTarget } from './registry-target.js';

const MiB = 1024 * 1024;
const blobBytes = Number(process.env.WHARF_MEMORY_BLOB_MIB ?? 1024) * MiB;
const patchBytes = 32 * MiB;
const allowedGrowth = 150 * MiB;
/** Idle time on a socket before a request fails (not a deadline for the transfer). */
const idleTimeoutMs = 60_000;
const repo = 'memory/big';
const target = registryTarget();

/** Exercises every code path once with a small blob, so that lazy initialisation does not count as growth. */
async function warmUp(client: PushClient): Promise<void> {
  const small = [describeBlob(repo, 'memory/warm-up/1', 16 * MiB), describeBlob(repo, 'memory/warm-up/2', 16 * MiB)] as const;
  await pushMonolithic(client, target, small[0]);
  await pushChunked(client, small[1], 8 * MiB);
  for (const blob of small) await pullAndCheck(client, blob, idleTimeoutMs);
}

/** RSS once the server has settled after the warm-up. */
async function settledRss(pid: number): Promise<number> {
  await sleep(500);
  return procStatusBytes(pid, 'VmRSS');
}

async function timed(log: string[], what: string, run: () => Promise<unknown>): Promise<void> {
  const started = Date.now();
  await run();
  log.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

describe(`memory use against ${target.name}`, () => {
  const dataDir = tempDir('wharf-memory-');
  const live: { server?: SpawnedRegistry } = {};

  after(async () => {
    await live.server?.kill();
    removeDir(dataDir);
  });

  it(`streams ${mib(blobBytes)} blobs in and out with bounded RSS`, { timeout: 180_000 }, async (t) => {
    const monolithic: BigBlob = describeBlob(repo, 'memory/monolithic', blobBytes);
    const chunked: BigBlob = describeBlob(repo, 'memory/chunked', blobBytes);
    live.server = await target.spawn(dataDir);
    const { pid } = live.server;
    const client = new PushClient(live.server.url, idleTimeoutMs);
    await warmUp(client);
    const baseline = await settledRss(pid);
    const peakResettable = resetPeakRss(pid);

    const sampler = new RssSampler(pid, 100);
    const log: string[] = [];
    sampler.start();
    try {
      sampler.enter('monolithic push');
      await timed(log, 'monolithic push', () => pushMonolithic(client, target, monolithic));
      sampler.enter('chunked push');
      await timed(log, `chunked push (${mib(patchBytes)} PATCHes)`, () => pushChunked(client, chunked, patchBytes));
      sampler.enter('pull');
      await timed(log, 'pull of both blobs', async () => {
        await pullAndCheck(client, monolithic, idleTimeoutMs);
        await pullAndCheck(client, chunked, idleTimeoutMs);
      });
      sampler.enter('idle');
    } finally {
      sampler.stop();
    }
    const sampledPeak = sampler.peak();
    const kernelPeak = peakResettable ? procStatusBytes(pid, 'VmHWM') : 0;

    t.diagnostic(`RSS after warm-up: ${mib(baseline)}; ${sampler.samples} samples`);
    for (const line of [...sampler.report(), ...log]) t.diagnostic(line);
    if (peakResettable) t.diagnostic(`kernel high-water mark since warm-up (VmHWM): ${mib(kernelPeak)}`);

    const growth = Math.max(sampledPeak, kernelPeak) - baseline;
    assert.ok(
      growth < allowedGrowth,
      `${target.name} RSS grew by ${mib(growth)} while moving ${mib(blobBytes)} blobs (allowed: ${mib(allowedGrowth)}); baseline ${mib(baseline)}, ` +
        `sampled peak ${mib(sampledPeak)}${peakResettable ? `, VmHWM ${mib(kernelPeak)}` : ''}\n${sampler.report().join('\n')}`,
    );
    await live.server.stop();
    live.server = undefined;
  });
});
