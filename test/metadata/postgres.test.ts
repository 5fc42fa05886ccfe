// The PostgreSQL MetadataStore against a real server: the shared metadata suite (in a database whose default
// collation is not byte order, so pagination only passes through the COLLATE "C" columns), schema migrations
// (concurrent opens, a newer schema), connection errors, and two stores writing the same tags at once.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { runMetadataSuite } from '../suites/metadata.suite.js';
import { PostgresMetadataStore, MetadataConnectionError, SchemaVersionError, redactUrl, splitPoolMax } from '../../src/metadata/postgres.js';
import { postgresMigrations } from '../../src/metadata/postgres-schema.js';
import { openMetadata } from '../../src/metadata/index.js';
import type { ManifestWrite } from '../../src/metadata/store.js';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createPostgresDatabase, sharedPostgres, startPostgres, type PostgresDatabase } from '../helpers/services.js';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { freePort, projectRoot, tempDir, removeDir } from '../helpers/processes.js';
import { postgresStoreFactory } from '../helpers/postgres-store.js';

const dg = (c: string | number) => 'sha256:' + String(c).repeat(64).slice(0, 64);

function manifest(digest: string): ManifestWrite {
  const body = Buffer.from(`{"m":"${digest}"}`);
  return { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: body.length, body, createdAt: 1, blobs: [], manifests: [] };
}

runMetadataSuite(
  postgresStoreFactory('postgres (ICU en-US database: byte order only through COLLATE "C")', 'wharf_suite', `TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`),
);

describe('postgres metadata store: migrations, errors, concurrency', () => {
  let db: PostgresDatabase;
  before(async () => {
    db = await createPostgresDatabase(await sharedPostgres(), 'wharf_pg');
  });
  after(async () => {
    await db?.drop();
  });

  test('the ICU database really sorts differently from byte order (so the suite above proves COLLATE "C")', async () => {
    const icu = await createPostgresDatabase(await sharedPostgres(), 'wharf_icu', `TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`);
    const client = new pg.Client({ connectionString: icu.url });
    await client.connect();
    try {
      const r = await client.query<{ v: string }>(`SELECT v FROM unnest(ARRAY['b', 'a', 'Z', '_x']) AS t (v) ORDER BY v`);
      assert.notDeepEqual(r.rows.map((row) => row.v), ['Z', '_x', 'a', 'b'], 'the default collation is not byte order');
    } finally {
      await client.end();
      await icu.drop();
    }
  });

  test('stores opened at the same moment on an empty database apply each migration exactly once', async () => {
    const fresh = await createPostgresDatabase(await sharedPostgres(), 'wharf_mig');
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresMetadataStore.open(fresh.url)));
      const applied = stores.flatMap((s) => s.schema.applied).sort();
      assert.deepEqual(applied, postgresMigrations.map((_, i) => i + 1), 'every version applied once in total');
      for (const s of stores) assert.equal(s.schema.after, postgresMigrations.length);
      await Promise.all(stores.map((s) => s.close()));
      const again = await PostgresMetadataStore.open(fresh.url);
      assert.deepEqual(again.schema, { before: postgresMigrations.length, after: postgresMigrations.length, applied: [] });
      await again.close();
    } finally {
      await fresh.drop();
    }
  });

  test('a database with a newer schema is refused with a clear message', async () => {
    const fresh = await createPostgresDatabase(await sharedPostgres(), 'wharf_newer');
    try {
      const s = await PostgresMetadataStore.open(fresh.url);
      await s.close();
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [postgresMigrations.length + 1]);
      await client.end();
      await assert.rejects(PostgresMetadataStore.open(fresh.url), (e: unknown) => {
        assert.ok(e instanceof SchemaVersionError, `a SchemaVersionError, got ${String(e)}`);
        assert.match(e.message, /version \d+ but this Wharf knows versions up to \d+: upgrade Wharf/);
        return true;
      });
    } finally {
      await fresh.drop();
    }
  });

  test('connection errors name the URL with its password hidden', async () => {
    const wrong = new URL(db.url);
    wrong.password = 'not-the-password-s3cret';
    await assert.rejects(PostgresMetadataStore.open(wrong.href), (e: unknown) => {
      assert.ok(e instanceof MetadataConnectionError, `a MetadataConnectionError, got ${String(e)}`);
      assert.ok(!e.message.includes('s3cret'), `the password is not in the message: ${e.message}`);
      assert.ok(e.message.includes(`${wrong.host}${wrong.pathname}`), `the host and database are: ${e.message}`);
      assert.match(e.message, /password authentication failed/);
      return true;
    });
    const closed = `postgres://wharf:hunter2-s3cret@127.0.0.1:${await freePort()}/nowhere`;
    await assert.rejects(openMetadata(closed), (e: unknown) => {
      assert.ok(e instanceof MetadataConnectionError, `a MetadataConnectionError, got ${String(e)}`);
      assert.ok(!e.message.includes('s3cret'), `the password is not in the message: ${e.message}`);
      assert.match(e.message, /cannot connect to PostgreSQL at postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:\d+\/nowhere: .*ECONNREFUSED/);
      return true;
    });
    assert.equal(redactUrl('postgresql://u:p@h/d'), 'postgresql://u:***@h/d');
    assert.equal(redactUrl('postgres://u@h/d'), 'postgres://u@h/d');
  });

  test('while the server is down requests fail naming the database; after it is back the store reconnects', async () => {
    const own = await startPostgres(); // a private server: this test stops it
    const script = join(projectRoot, 'scripts', 'services', 'postgres.sh');
    const store = await PostgresMetadataStore.open(own.url);
    try {
      await store.putManifest('outage', manifest(dg('d')), ['before']);
      const stopped = spawnSync('bash', [script, 'stop', own.dir!], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(stopped.status, 0, stopped.stderr);
      await assert.rejects(store.getManifestByTag('outage', 'before'), (e: unknown) => {
        assert.ok(e instanceof MetadataConnectionError, `a MetadataConnectionError, got ${String(e)}`);
        assert.match(e.message, /^PostgreSQL at postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:\d+\/postgres: /);
        return true;
      });
      const restarted = spawnSync('bash', [script, 'restart', own.dir!], { encoding: 'utf8', timeout: 90_000 });
      assert.equal(restarted.status, 0, restarted.stderr);
      assert.equal((await store.getManifestByTag('outage', 'before'))?.digest, dg('d'), 'the committed write survived and is read again');
      await store.putManifest('outage', manifest(dg('e')), ['after']);
      assert.deepEqual(await store.listTags('outage', { limit: 10 }), ['after', 'before']);
    } finally {
      await store.close();
      await own.stop();
    }
  });

  test('pg is loaded only when a postgres URL is opened, never on the default (SQLite) path', () => {
    const dir = tempDir('wharf-pg-lazy-');
    try {
      const script = join(dir, 'check.mts');
      const index = pathToFileURL(join(projectRoot, 'src', 'metadata', 'index.ts')).href;
      writeFileSync(
        script,
        `import { createRequire } from 'node:module';
const { openMetadata } = await import(${JSON.stringify(index)});
const pgLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('/node_modules/pg/'));
const s = await openMetadata('sqlite::memory:');
await s.close();
const afterSqlite = pgLoaded();
await openMetadata('postgres://nobody@127.0.0.1:1/none').catch(() => undefined);
console.log(JSON.stringify({ afterSqlite, afterPostgres: pgLoaded() }));
`,
      );
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { afterSqlite: false, afterPostgres: true });
    } finally {
      removeDir(dir);
    }
  });

  test('pool_max sets the connections per process and is not passed on to the server', async () => {
    assert.deepEqual(splitPoolMax('postgres://u@h/d'), { connectionString: 'postgres://u@h/d', poolMax: 10 });
    assert.deepEqual(splitPoolMax('postgres://u@h/d?pool_max=3'), { connectionString: 'postgres://u@h/d', poolMax: 3 });
    assert.deepEqual(splitPoolMax('postgres://u@h/d?sslmode=disable&pool_max=3&x=1'), { connectionString: 'postgres://u@h/d?sslmode=disable&x=1', poolMax: 3 });
    assert.throws(() => splitPoolMax('postgres://u:s3cret@h/d?pool_max=0'), (e: Error) => {
      assert.match(e.message, /pool_max must be a whole number from 1 to 1000, not "0"/);
      assert.ok(!e.message.includes('s3cret'), e.message);
      return true;
    });
    const store = await PostgresMetadataStore.open(`${db.url}?pool_max=1`);
    try {
      assert.equal(store.poolMax, 1);
      // One connection still serves many concurrent calls, each in turn.
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.putManifest('pool/one', manifest(dg(`p${i % 10}`)), [`t${i}`])));
      assert.equal((await store.listTags('pool/one', { limit: 100 })).length, 20);
    } finally {
      await store.close();
    }
  });

  test('tag history from two stores racing pushes and deletes: each tag\'s history chains to its current digest', async () => {
    const a = await PostgresMetadataStore.open(db.url);
    const b = await PostgresMetadataStore.open(db.url);
    try {
      const repo = 'history/race';
      const tags = ['t1', 't2'];
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 48; i++) {
        const store = i % 2 === 0 ? a : b;
        work.push(store.putManifest(repo, manifest(dg(`h${i % 4}`)), i % 3 === 0 ? [...tags].reverse() : tags));
        if (i % 5 === 2) work.push((i % 2 === 0 ? b : a).deleteManifest(repo, dg(`h${(i + 1) % 4}`)));
      }
      await Promise.all(work);
      for (const tag of tags) {
        const history = await a.tagHistory(repo, tag, { limit: 1000 }); // newest first
        assert.ok(history.length > 0, `${tag} has a history`);
        const current = await a.getManifestByTag(repo, tag);
        assert.equal(history[0]!.newDigest, current?.digest, `${tag}: the newest entry is where the tag is now`);
        for (let i = 0; i + 1 < history.length; i++) {
          assert.equal(history[i]!.oldDigest, history[i + 1]!.newDigest, `${tag}: entry ${history[i]!.id} starts where entry ${history[i + 1]!.id} ended`);
        }
        assert.equal(history[history.length - 1]!.oldDigest, undefined, `${tag}: the oldest entry creates the tag`);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('commits are durable even where the database defaults to synchronous_commit=off', async () => {
    const fresh = await createPostgresDatabase(await sharedPostgres(), 'wharf_sync');
    try {
      const admin = new pg.Client({ connectionString: fresh.url });
      await admin.connect();
      await admin.query(`ALTER DATABASE "${fresh.name}" SET synchronous_commit = off`);
      await admin.end();
      const store = await PostgresMetadataStore.open(fresh.url);
      try {
        const pool = (store as unknown as { pool: pg.Pool }).pool;
        const settings = await Promise.all(Array.from({ length: 3 }, () => pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')));
        assert.deepEqual(settings.map((r) => r.rows[0]?.synchronous_commit), ['on', 'on', 'on']);
      } finally {
        await store.close();
      }
    } finally {
      await fresh.drop();
    }
  });

  test('maintenance reads: blobs and one repository\'s manifests by digest, paginated', async () => {
    const store = await PostgresMetadataStore.open(db.url);
    try {
      for (const c of ['3', '1', '2']) await store.linkBlob('maint/a', { digest: dg(`b${c}`), size: Number(c) });
      for (const c of ['6', '4', '5']) await store.putManifest('maint/a', manifest(dg(`m${c}`)), []);
      const blobs = (await store.listBlobs({ limit: 1000 })).filter((b) => b.digest.startsWith('sha256:b'));
      assert.deepEqual(blobs.map((b) => b.digest), [dg('b1'), dg('b2'), dg('b3')]);
      assert.deepEqual(await store.listBlobs({ last: dg('b1'), limit: 1 }), [{ digest: dg('b2'), size: 2 }]);
      const ms = await store.listManifests('maint/a', { limit: 2 });
      assert.deepEqual(ms.map((m) => m.digest), [dg('m4'), dg('m5')]);
      assert.deepEqual(ms[0]?.body, manifest(dg('m4')).body);
      assert.deepEqual((await store.listManifests('maint/a', { last: dg('m5'), limit: 2 })).map((m) => m.digest), [dg('m6')]);
      assert.deepEqual(await store.listManifests('maint/none', { limit: 2 }), []);
    } finally {
      await store.close();
    }
  });

  test('openMetadata takes postgres:// and postgresql:// URLs', async () => {
    for (const scheme of ['postgres:', 'postgresql:']) {
      const u = new URL(db.url);
      const store = await openMetadata(`${scheme}${u.href.slice(u.protocol.length)}`);
      assert.ok(store instanceof PostgresMetadataStore, `${scheme} opens the postgres store`);
      await store.close();
    }
  });

  test('two stores (two processes\' pools) moving the same tags at once: no error, no deadlock, every tag on a live manifest', async () => {
    const a = await PostgresMetadataStore.open(db.url);
    const b = await PostgresMetadataStore.open(db.url);
    try {
      const tags = ['t1', 't2', 't3', 't4'];
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        const store = i % 2 === 0 ? a : b;
        const order = i % 2 === 0 ? tags : [...tags].reverse();
        work.push(store.putManifest('race', manifest(dg(i % 5)), order));
        if (i % 7 === 3) work.push(b.deleteManifest('race', dg((i + 1) % 5)));
      }
      await Promise.all(work);
      for (const t of tags) {
        const m = await a.getManifestByTag('race', t);
        if (m) assert.ok(await b.getManifest('race', m.digest), `tag ${t} points at a manifest that exists`);
      }
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const dangling = await client.query(
        'SELECT count(*)::int AS n FROM tags t WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = t.repository_id AND m.digest = t.digest)',
      );
      await client.end();
      assert.equal(dangling.rows[0].n, 0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
