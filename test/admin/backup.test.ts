// `wharf backup --to FILE`: taken while clients push, the copy opens, passes integrity_check and holds every
// manifest acknowledged before the backup started; restored (database, then the blobs copied after it) under
// a new data directory, Wharf serves those images byte-identically. A database of thousands of pages is copied
// while another connection commits continuously (one snapshot, no endless restarts). PostgreSQL is refused with a pointer to
// pg_dump; an existing file is replaced only with --force.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite.js';
import { removeDir, spawnWharf, tempDir, type SpawnedRegistry } from '../helpers/processes.js';
import { buildImage, sha256 } from '../client/helpers.js';
import { assertServes, pushRecorded, runWharf, type Fixture } from './helpers.js';
import { backupSqlite, type BackupReport } from '../../src/admin/backup.js';
import type { ManifestWrite } from '../../src/metadata/store.js';
import { MediaType } from '../../src/oci/index.js';

describe('wharf backup', () => {
  const work = tempDir('wharf-backup-');
  const data = join(work, 'data');
  let wharf: SpawnedRegistry;
  let client: RegistryClient;

  before(async () => {
    wharf = await spawnWharf({ data });
    client = new RegistryClient(wharf.host);
  });

  after(async () => {
    await client.close();
    await wharf.stop();
    removeDir(work);
  });

  test('a backup taken during pushes holds every acknowledged manifest, and a restore serves them', async () => {
    const acknowledged: Fixture = new Map();
    for (let i = 0; i < 3; i += 1) await pushRecorded(client, acknowledged, 'base/app', buildImage(), [`v${i}`]);

    // Clients keep pushing (bounded in count and time) while the backup runs.
    let stop = false;
    let pushedDuring = 0;
    const during: Fixture = new Map();
    const pushing = (async () => {
      const deadline = Date.now() + 60_000;
      for (let i = 0; i < 1000 && !stop && Date.now() < deadline; i += 1) {
        await pushRecorded(client, during, 'busy/app', buildImage(), [`t${i}`]);
        pushedDuring += 1;
      }
    })();
    while (pushedDuring < 3) await new Promise((r) => setTimeout(r, 20));
    // Everything acknowledged up to now must be in the backup.
    const before = new Map([...during.get('busy/app')!.tags]);
    const file = join(work, 'wharf-backup.db');
    const r = await runWharf(['backup', '--data', data, '--to', file, '--json']);
    stop = true;
    await pushing;
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as BackupReport;
    assert.equal(report.to, file, 'the file written');
    assert.ok(report.rows.manifests >= 3 + before.size, `rows counted: ${JSON.stringify(report.rows)}`);
    assert.ok(pushedDuring > before.size, `pushes went on during the backup (${pushedDuring} in all, ${before.size} before it)`);
    assert.deepEqual(
      readdirSync(work).filter((n) => n.includes('.partial-')),
      [],
      'no temporary file left',
    );

    const copy = new SqliteMetadataStore(file);
    try {
      for (const [tag, digest] of before) {
        assert.equal((await copy.getManifestByTag('busy/app', tag))?.digest, digest, `busy/app:${tag}, acknowledged before the backup, is in it`);
      }
      for (const [tag, digest] of acknowledged.get('base/app')!.tags) {
        assert.equal((await copy.getManifestByTag('base/app', tag))?.digest, digest, `base/app:${tag} is in the backup`);
      }
    } finally {
      await copy.close();
    }

    // Restore: the database from the backup, then the blobs (copied after it, so they cover every row).
    const restored = join(work, 'restored');
    mkdirSync(restored);
    cpSync(file, join(restored, 'wharf.db'));
    cpSync(join(data, 'blobs'), join(restored, 'blobs'), { recursive: true });
    const second = await spawnWharf({ data: restored });
    const restoredClient = new RegistryClient(second.host);
    try {
      const busy = during.get('busy/app')!;
      const ackedDigests = new Set(before.values());
      const served = new Set(await restoredClient.listTags('busy/app').collect());
      for (const t of before.keys()) assert.ok(served.has(t), `restored registry lists busy/app:${t}`);
      await assertServes(restoredClient, new Map([['base/app', acknowledged.get('base/app')!]]));
      for (const [digest, body] of [...busy.manifests].filter(([d]) => ackedDigests.has(d))) {
        const m = await restoredClient.getManifest('busy/app', digest);
        assert.ok(m.bytes.equals(body), `restored busy/app@${digest} is byte-identical`);
      }
    } finally {
      await restoredClient.close();
      await second.stop();
    }
  });

  test('a database of many pages is copied while another connection commits between every step', async () => {
    const file = join(work, 'big.db');
    const store = new SqliteMetadataStore(file);
    const manifestOf = (i: number): ManifestWrite => {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, n: i, pad: 'x'.repeat(2000) }));
      return { digest: sha256(body), mediaType: MediaType.ociManifest, size: body.length, body, createdAt: Date.now(), blobs: [], manifests: [] };
    };
    try {
      // About 3,000 pages: a step-wise copy (100 pages a step) would restart at every commit below.
      await Promise.all(Array.from({ length: 4000 }, (_, i) => store.putManifest('big/app', manifestOf(i), [])));
      let written = 0;
      let done = false;
      const writing = (async () => {
        const deadline = Date.now() + 60_000;
        while (!done && Date.now() < deadline) {
          await store.putManifest('big/app', manifestOf(100_000 + written), [`t${written}`]);
          written += 1;
        }
      })();
      const target = join(work, 'big-backup.db');
      const report = await backupSqlite(`sqlite:${file}`, target).finally(() => (done = true));
      await writing;
      assert.ok(report.rows.manifests >= 4000, `every manifest committed before the backup is in it (${report.rows.manifests})`);
      assert.ok(written > 0, 'commits went on during the backup');
    } finally {
      await store.close();
    }
  });

  test('PostgreSQL is refused with a pointer to pg_dump; an existing file needs --force', async () => {
    const pg = await runWharf(['backup', '--metadata', 'postgres://wharf@127.0.0.1:1/wharf', '--to', join(work, 'pg.db')]);
    assert.equal(pg.code, 2, pg.stderr);
    assert.match(pg.stderr, /pg_dump/, pg.stderr);
    assert.equal(existsSync(join(work, 'pg.db')), false, 'nothing written');

    const existing = join(work, 'existing.db');
    writeFileSync(existing, 'not a database');
    const refused = await runWharf(['backup', '--data', data, '--to', existing]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /exists: .*--force/, refused.stderr);
    const forced = await runWharf(['backup', '--data', data, '--to', existing, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^backed up .* to .*existing\.db \(.*\): \d+ repositories, \d+ manifests, \d+ tags, \d+ blobs$/m, forced.stdout);

    const missing = await runWharf(['backup', '--data', join(work, 'nothing-here'), '--to', join(work, 'x.db')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /no database at/, missing.stderr);
  });
});
