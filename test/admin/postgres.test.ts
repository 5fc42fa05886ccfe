// The admin commands with PostgreSQL metadata (a real server, test/helpers/services.ts): a Distribution tree
// imported into filesystem storage + PostgreSQL is served byte-identically by Wharf on that database; fsck
// passes on it and reports a deleted blob; backup refuses it and points at pg_dump.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import { removeDir, spawnReference, spawnWharf, tempDir } from '../helpers/processes.js';
import { createPostgresDatabase, sharedPostgres, type PostgresDatabase } from '../helpers/services.js';
import { assertServes, pushFixture, runWharf, type Fixture } from './helpers.js';
import type { ImportSummary } from '../../src/admin/import-distribution.js';
import type { FsckReport } from '../../src/admin/fsck.js';

describe('admin commands with PostgreSQL metadata', () => {
  const work = tempDir('wharf-admin-pg-');
  const root = join(work, 'distribution', 'root');
  const data = join(work, 'wharf');
  let fixture: Fixture;
  let db: PostgresDatabase;

  before(async () => {
    db = await createPostgresDatabase(await sharedPostgres(), 'wharf_admin');
    const reference = await spawnReference({ data: join(work, 'distribution') });
    const client = new RegistryClient(reference.host);
    try {
      ({ fixture } = await pushFixture(client));
    } finally {
      await client.close();
      await reference.stop();
    }
  });

  after(async () => {
    await db?.drop();
    removeDir(work);
  });

  test('import into PostgreSQL, serve, fsck', async () => {
    const r = await runWharf(['import', '--from-distribution', root, '--data', data, '--metadata', db.url, '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const s = JSON.parse(r.stdout) as ImportSummary;
    assert.equal(s.skipped.length, 0, JSON.stringify(s.skipped));
    assert.equal(s.repositories, fixture.size, 'every repository');

    const wharf = await spawnWharf({ data, args: ['--metadata', db.url] });
    const client = new RegistryClient(wharf.host);
    try {
      await assertServes(client, fixture);
    } finally {
      await client.close();
      await wharf.stop();
    }

    const clean = await runWharf(['fsck', '--data', data, '--metadata', db.url, '--json']);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    const report = JSON.parse(clean.stdout) as FsckReport;
    assert.ok(report.blobs.rows > 0 && report.blobs.rehashed === report.blobs.rows, `every blob re-hashed: ${JSON.stringify(report.blobs)}`);

    const [digest] = [...fixture.get('legacy/tool')!.blobs.keys()];
    const hex = digest!.slice(7);
    const file = join(data, 'blobs', 'sha256', hex.slice(0, 2), hex);
    const saved = readFileSync(file);
    rmSync(file);
    try {
      const broken = await runWharf(['fsck', '--data', data, '--metadata', db.url, '--json']);
      assert.equal(broken.code, 1, broken.stderr);
      const found = (JSON.parse(broken.stdout) as FsckReport).findings.filter((f) => f.kind === 'blob-missing').map((f) => f.digest);
      assert.deepEqual(found, [digest], 'the deleted blob is a row without bytes');
    } finally {
      writeFileSync(file, saved);
    }

    const backup = await runWharf(['backup', '--data', data, '--metadata', db.url, '--to', join(work, 'backup.db')]);
    assert.equal(backup.code, 2, backup.stderr);
    assert.match(backup.stderr, /PostgreSQL: back it up with pg_dump/, backup.stderr);
  });
});
