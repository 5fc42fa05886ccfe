// `wharf fsck` beside a live registry: while clients push and delete images and garbage collection (grace 0)
// reclaims blobs in a loop, every fsck run reports no error — what looks missing mid-change is checked again
// before it is reported — and the collector really did delete bytes meanwhile.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RegistryClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/load.js';
import { openAdminStores, type AdminStores } from '../../src/admin/open.js';
import { fsck } from '../../src/admin/fsck.js';
import { GarbageCollector } from '../../src/gc/collector.js';
import { removeDir, spawnWharf, tempDir, type SpawnedRegistry } from '../helpers/processes.js';
import { buildImage, pushImage, type Image } from '../client/helpers.js';

/**
 * With grace 0 the collector may take freshly uploaded blobs before their manifest arrives (that is what the
 * grace period is for): the push then answers MANIFEST_BLOB_UNKNOWN, and is simply made again.
 */
async function pushRetrying(client: RegistryClient, image: Image, tag: string): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await pushImage(client, 'live/app', image, tag);
    } catch (e) {
      if (attempt >= 20 || !String((e as Error).message).includes('MANIFEST_BLOB_UNKNOWN')) throw e;
    }
  }
}

describe('wharf fsck beside pushes, deletes and garbage collection', () => {
  const data = tempDir('wharf-fsck-live-');
  let wharf: SpawnedRegistry;
  let client: RegistryClient;
  let gcStores: AdminStores;
  let fsckStores: AdminStores;

  before(async () => {
    wharf = await spawnWharf({ data });
    client = new RegistryClient(wharf.host);
    // Separate connections, as separate processes would have.
    gcStores = await openAdminStores(loadConfig({ data }, {}));
    fsckStores = await openAdminStores(loadConfig({ data }, {}));
  });

  after(async () => {
    await client.close();
    await gcStores.close();
    await fsckStores.close();
    await wharf.stop();
    removeDir(data);
  });

  test('no errors while content comes and goes', { timeout: 180_000 }, async () => {
    let stop = false;
    let pushed = 0;
    let deleted = 0;
    let reclaimed = 0;
    const deadline = Date.now() + 120_000;
    const workload = (async () => {
      const live: string[] = [];
      for (let i = 0; i < 2000 && !stop && Date.now() < deadline; i += 1) {
        const image = buildImage({ layers: [randomBytes(20_000 + (i % 7) * 1000), randomBytes(3000)] });
        live.push(await pushRetrying(client, image, `t${i}`));
        pushed += 1;
        if (live.length > 3) {
          await client.deleteManifest('live/app', live.shift()!);
          deleted += 1;
        }
      }
    })();
    const collector = new GarbageCollector(gcStores.registry.storage, gcStores.registry.metadata);
    const collecting = (async () => {
      while (!stop && Date.now() < deadline) {
        reclaimed += (await collector.collect({ graceMs: 0 })).blobs.length;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      while (pushed < 5 && Date.now() < deadline) {
        await Promise.race([workload, new Promise((r) => setTimeout(r, 20))]); // a failed push ends the wait
      }
      // Runs until the churn has been real (ten images deleted meanwhile), bounded in count and time.
      for (let run = 0; run < 200 && (run < 4 || deleted < 10) && Date.now() < deadline; run += 1) {
        const report = await fsck({ registry: fsckStores.registry });
        const problems = report.findings.filter((f) => f.severity !== 'info');
        assert.deepEqual(problems, [], `fsck run ${run} while ${pushed} pushed, ${deleted} deleted, ${reclaimed} reclaimed`);
        assert.ok(report.blobs.rehashed > 0, 'blobs were re-hashed');
      }
    } finally {
      stop = true;
      await Promise.all([workload, collecting]);
    }
    assert.ok(deleted >= 10 && reclaimed > 0, `the collector reclaimed blobs meanwhile (${deleted} images deleted, ${reclaimed} blobs reclaimed)`);
    const quiet = await fsck({ registry: fsckStores.registry });
    assert.equal(quiet.ok, true, `clean once quiet: ${JSON.stringify(quiet.findings.filter((f) => f.severity === 'error'))}`);
  });
});
