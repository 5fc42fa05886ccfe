// `wharf migrate` as a real process, on PostgreSQL and SQLite, and what `wharf serve` says when it cannot reach
// its PostgreSQL database.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { postgresMigrations } from '../../src/metadata/postgres-schema.js';
import { migrations as sqliteMigrations } from '../../src/metadata/sqlite-schema.js';
import { createPostgresDatabase, sharedPostgres, type PostgresDatabase } from '../helpers/services.js';
import { freePort, tempDir, removeDir } from '../helpers/processes.js';
import { runCli } from '../cli/helpers.js';

const latest = postgresMigrations.length;

describe('wharf migrate', () => {
  let db: PostgresDatabase;
  let dir: string;
  before(async () => {
    db = await createPostgresDatabase(await sharedPostgres(), 'wharf_cli');
    dir = tempDir('wharf-migrate-');
  });
  after(async () => {
    await db?.drop();
    if (dir) removeDir(dir);
  });

  test('applies the PostgreSQL migrations once, reports the version, hides the password', async () => {
    const password = new URL(db.url).password;
    assert.ok(password.length > 0, 'the test server uses a password');
    // Two at once on the empty database: both succeed, the versions are applied once between them.
    const [first, second] = await Promise.all([runCli(['migrate', '--metadata', db.url, '--json'], process.env), runCli(['migrate', '--metadata', db.url, '--json'], process.env)]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const reports = [first, second].map((r) => JSON.parse(r.stdout) as { metadata: string; before: number; after: number; applied: number[] });
    assert.deepEqual(reports.flatMap((r) => r.applied).sort(), postgresMigrations.map((_, i) => i + 1));
    for (const r of reports) {
      assert.equal(r.after, latest);
      assert.ok(!r.metadata.includes(password), `the password is hidden: ${r.metadata}`);
      assert.match(r.metadata, /^postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:\d+\//);
    }
    const again = await runCli(['migrate', '--metadata', db.url], process.env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`: schema version ${latest}, up to date\\n$`));
    assert.ok(!again.stdout.includes(password), 'the password is hidden');
  });

  test('takes the metadata URL from WHARF_METADATA too', async () => {
    const r = await runCli(['migrate'], { ...process.env, WHARF_METADATA: db.url.replace(/^postgres:/, 'postgresql:') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^postgresql:\/\/wharf:\*\*\*@/);
  });

  test('SQLite: creates and migrates the embedded database under --data', async () => {
    const data = join(dir, 'data');
    const r = await runCli(['migrate', '--data', data], process.env);
    assert.equal(r.code, 0, r.stderr);
    const all = sqliteMigrations.map((_, i) => i + 1).join(', ');
    assert.equal(r.stdout, `sqlite:${join(data, 'wharf.db')}: schema version 0 -> ${sqliteMigrations.length} (applied ${all})\n`);
    const again = await runCli(['migrate', '--data', data, '--json'], process.env);
    assert.deepEqual(JSON.parse(again.stdout), { metadata: `sqlite:${join(data, 'wharf.db')}`, before: sqliteMigrations.length, after: sqliteMigrations.length, applied: [] });
  });

  test('an unreachable or refusing database: exit 1 with the URL, password hidden', async () => {
    const closed = `postgres://wharf:hunter2-s3cret@127.0.0.1:${await freePort()}/wharf`;
    const r = await runCli(['migrate', '--metadata', closed], process.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^wharf migrate: cannot connect to PostgreSQL at postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:\d+\/wharf: .*ECONNREFUSED/);
    assert.ok(!r.stderr.includes('s3cret'), r.stderr);

    const wrong = new URL(db.url);
    wrong.password = 'wrong-s3cret';
    const refused = await runCli(['migrate', '--metadata', wrong.href], process.env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /password authentication failed for user "wharf"/);
    assert.ok(!refused.stderr.includes('s3cret'), refused.stderr);

    const unknown = await runCli(['migrate', '--metadata', 'mysql://root:s3cret@db/wharf'], process.env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown metadata store .*supported are sqlite:PATH and postgres:/);
    assert.ok(!unknown.stderr.includes('s3cret'), unknown.stderr);
  });

  test('wharf serve without its database exits at once with a clear message', async () => {
    const closed = `postgres://wharf:hunter2-s3cret@127.0.0.1:${await freePort()}/wharf`;
    const r = await runCli(['serve', '--listen', `127.0.0.1:${await freePort()}`, '--data', join(dir, 'serve'), '--metadata', closed], process.env);
    assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
    assert.match(r.stderr, /cannot connect to PostgreSQL at postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:\d+\/wharf/);
    assert.ok(!r.stderr.includes('s3cret'), r.stderr);
  });
});
