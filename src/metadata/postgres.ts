// The PostgreSQL MetadataStore (`pg` Pool): what lets several Wharf processes share one set of names.
// Same semantics as the SQLite store: every method is one atomic step (a transaction where it takes several
// statements), answered only after the commit is durable (synchronous_commit=on on every connection), tags and
// the catalog in byte order (COLLATE "C" columns). Schema migrations run when the store opens, inside a
// transaction holding an advisory lock, so processes starting at the same moment apply each migration once.
import pg from 'pg';
import { BlobBusyError, MissingBlobsError, TagImmutableError } from './store.js';
import { toApiKey, toManifest, type ApiKeyRow, type ManifestRow } from './rows.js';
import type { RepositoryUsage, TagChange, TagRecord, TagWriteOptions } from './store.js';
import type { ApiKeyRecord, BlobLink, BlobRecord, CollectableBlob, ManifestRecord, ManifestWrite, MetadataStore, Page, Referrer, UploadRecord } from './store.js';
import { postgresMigrations } from './postgres-schema.js';
import type { ChangeDraft, StoredChange } from '../events/model.js';
import { currentActor } from '../events/actor.js';
import { blobChange, fromOutboxRow, manifestDeleteChanges, outboxRow, pushChanges, tagDeleteChange } from '../events/outbox.js';

/** The store could not reach or log in to the database; the message names the URL with its password hidden. */
export class MetadataConnectionError extends Error {
  override name = 'MetadataConnectionError';
}

/** The database holds a newer schema than this Wharf knows. */
export class SchemaVersionError extends Error {
  override name = 'SchemaVersionError';
}

export interface SchemaStatus {
  /** Schema version before this open (0: an empty database). */
  before: number;
  /** Schema version now. */
  after: number;
  /** Versions this open applied (empty when another process had already applied them). */
  applied: number[];
}

/** Advisory lock key for schema migrations ("wharfmig" as 8 bytes, read as a signed 64-bit integer). */
const migrationLock = '8604234232063945063';
/**
 * Held (transaction-level) by every transaction that writes events, from its first event row to its commit: a
 * position is taken only after every earlier event-writing transaction has committed or rolled back, so
 * positions follow commit order and a feed reader at position N never misses a change committed later below N.
 */
const eventsLock = '8604234232063945064';
/** Postgres error codes after which a whole transaction is safe to run again. */
const retryable = new Set(['40001', '40P01', '23503', '23505']);
const maxAttempts = 5;

/** The URL with its password replaced by ***, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

const defaultPoolMax = 10;

/**
 * Takes Wharf's own URL parameter `pool_max` (connections per process, default 10) out of the URL; the rest is
 * node-postgres' connection string. Throws on a value that is not a whole number from 1 to 1000.
 */
export function splitPoolMax(url: string): { connectionString: string; poolMax: number } {
  const m = /([?&])pool_max=([^&#]*)(&?)/.exec(url);
  if (!m) return { connectionString: url, poolMax: defaultPoolMax };
  const value = decodeURIComponent(m[2]!);
  const poolMax = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(poolMax >= 1 && poolMax <= 1000)) {
    throw new Error(`metadata URL ${redactUrl(url)}: pool_max must be a whole number from 1 to 1000, not ${JSON.stringify(value)}`);
  }
  // Drop "pool_max=…" with one of the separators around it.
  const rest = m[3] ? url.slice(0, m.index + 1) + url.slice(m.index + m[0].length) : url.slice(0, m.index) + url.slice(m.index + m[0].length);
  return { connectionString: rest, poolMax };
}

/** BIGINT (oid 20) as a number: sizes and millisecond times are far below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 && format !== 'binary') return (value: string) => Number(value);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};


type Queryable = Pick<pg.PoolClient, 'query'>;

const repoIdOf = '(SELECT id FROM repositories WHERE name = $1)';

export class PostgresMetadataStore implements MetadataStore {
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    /** The URL with the password hidden. */
    readonly location: string,
    readonly schema: SchemaStatus,
    /** Connections this store may hold at once. */
    readonly poolMax: number,
  ) {}

  /** Connects, applies pending migrations and returns the store. Throws MetadataConnectionError if it cannot connect. */
  static async open(url: string): Promise<PostgresMetadataStore> {
    const { connectionString, poolMax } = splitPoolMax(url);
    const location = redactUrl(connectionString);
    const pool = new pg.Pool({
      connectionString,
      types,
      options: '-c synchronous_commit=on',
      application_name: 'wharf',
      connectionTimeoutMillis: 15_000,
      // Notice a server or network that went away without closing the connection.
      keepAlive: true,
      idleTimeoutMillis: 30_000,
      max: poolMax,
    });
    // An idle connection that the server drops must not crash the process: the next query reconnects.
    pool.on('error', () => undefined);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new MetadataConnectionError(`cannot connect to PostgreSQL at ${location}: ${describe(e)}`);
    }
    try {
      const schema = await migrate(client);
      client.release();
      return new PostgresMetadataStore(pool, location, schema, poolMax);
    } catch (e) {
      client.release(true);
      await pool.end().catch(() => undefined);
      if (e instanceof SchemaVersionError) throw e;
      throw new Error(`PostgreSQL at ${location}: schema migration failed: ${describe(e)}`);
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (e) {
      throw this.wrap(e);
    }
  }

  /** A single-statement write, run again (a few times) if the server aborted it to break a deadlock. */
  private async write<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.query<R>(text, values);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (attempt < maxAttempts && (code === '40P01' || code === '40001')) continue;
        throw this.wrap(e);
      }
    }
  }

  /** Runs fn in a transaction; runs it again (a few times) after a deadlock, serialization or key race. */
  private async transaction<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (e) {
        throw this.wrap(e);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        client.release(broken ? true : undefined);
        const code = (e as { code?: unknown }).code;
        if (attempt < maxAttempts && typeof code === 'string' && retryable.has(code)) continue;
        throw this.wrap(e);
      }
    }
  }

  /** Connection-level failures name the database; SQL errors pass through unchanged. */
  private wrap(e: unknown): unknown {
    const code = (e as { code?: unknown }).code;
    const isSql = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !code.startsWith('57P');
    if (isSql || !(e instanceof Error) || e instanceof BlobBusyError || e instanceof MissingBlobsError || e instanceof TagImmutableError) return e;
    return new MetadataConnectionError(`PostgreSQL at ${this.location}: ${describe(e)}`);
  }

  /** The id of the repository, created if missing. */
  private async ensureRepo(c: Queryable, name: string): Promise<number> {
    const found = await c.query<{ id: number }>('SELECT id FROM repositories WHERE name = $1', [name]);
    if (found.rows[0]) return found.rows[0].id;
    const inserted = await c.query<{ id: number }>(
      'INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id',
      [name, Date.now()],
    );
    if (inserted.rows[0]) return inserted.rows[0].id;
    // Another transaction created it after our SELECT; read committed sees it in a new statement.
    const again = await c.query<{ id: number }>('SELECT id FROM repositories WHERE name = $1', [name]);
    if (!again.rows[0]) throw new Error(`repository ${name} vanished while being created`);
    return again.rows[0].id;
  }

  async getRepositoryBlob(repo: string, digest: string): Promise<BlobRecord | undefined> {
    const r = await this.query<BlobRecord>(
      `SELECT b.digest, b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
       WHERE rb.repository_id = ${repoIdOf} AND rb.digest = $2`,
      [repo, digest],
    );
    return r.rows[0];
  }

  async getBlob(digest: string): Promise<BlobRecord | undefined> {
    return (await this.query<BlobRecord>('SELECT digest, size FROM blobs WHERE digest = $1', [digest])).rows[0];
  }

  async linkBlob(repo: string, blob: BlobRecord, finishedUpload?: string): Promise<void> {
    const actor = currentActor();
    await this.transaction(async (c) => {
      const id = await this.ensureRepo(c, repo);
      const now = Date.now();
      await c.query('INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING', [blob.digest, blob.size, now]);
      const state = await c.query<{ deleting_by: string | null }>('SELECT deleting_by FROM blobs WHERE digest = $1 FOR SHARE', [blob.digest]);
      if (state.rows[0]?.deleting_by != null) throw new BlobBusyError(blob.digest);
      // A link made again (upload, mount) starts its grace period again.
      await c.query(
        'INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3) ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = excluded.created_at',
        [id, blob.digest, now],
      );
      if (finishedUpload !== undefined) await c.query('DELETE FROM uploads WHERE id = $1', [finishedUpload]);
      await this.recordChanges(c, [blobChange('blob.uploaded', repo, blob, actor)]);
    });
  }

  async claimBlob(upload: UploadRecord, digest: string): Promise<void> {
    await this.transaction(async (c) => {
      // The share lock makes a collector's mark (FOR UPDATE, then the check for claims) wait for this commit.
      const state = await c.query<{ deleting_by: string | null }>('SELECT deleting_by FROM blobs WHERE digest = $1 FOR SHARE', [digest]);
      if (state.rows[0]?.deleting_by != null) throw new BlobBusyError(digest);
      await c.query(
        'INSERT INTO uploads (id, repository, created_at, digest) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET digest = excluded.digest',
        [upload.id, upload.repository, upload.createdAt, digest],
      );
    });
  }

  async mountBlob(repo: string, from: string, digest: string): Promise<BlobRecord | undefined> {
    const actor = currentActor();
    return this.transaction(async (c) => {
      const r = await c.query<BlobRecord>(
        `SELECT b.digest, b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
         WHERE rb.repository_id IN (SELECT id FROM repositories WHERE name = ANY($1::text[])) AND rb.digest = $2 AND b.deleting_by IS NULL
         LIMIT 1 FOR SHARE OF rb, b`,
        [[from, repo], digest],
      );
      const blob = r.rows[0];
      if (!blob) return undefined;
      const id = await this.ensureRepo(c, repo);
      await c.query(
        'INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3) ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = excluded.created_at',
        [id, digest, Date.now()],
      );
      await this.recordChanges(c, [blobChange('blob.mounted', repo, blob, actor, from)]);
      return { digest: blob.digest, size: blob.size };
    });
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    const actor = currentActor();
    return this.transaction(async (c) => {
      const r = await c.query(`DELETE FROM repository_blobs WHERE repository_id = ${repoIdOf} AND digest = $2`, [repo, digest]);
      if ((r.rowCount ?? 0) === 0) return false;
      await this.recordChanges(c, [blobChange('blob.deleted', repo, { digest }, actor)]);
      return true;
    });
  }

  async missingBlobs(repo: string, digests: string[]): Promise<string[]> {
    const r = await this.query<{ digest: string }>(
      `SELECT d.digest FROM unnest($2::text[]) WITH ORDINALITY AS d (digest, n)
       WHERE NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.repository_id = ${repoIdOf} AND rb.digest = d.digest)
       ORDER BY d.n`,
      [repo, [...new Set(digests)]],
    );
    return r.rows.map((row) => row.digest);
  }

  async missingManifests(repo: string, digests: string[]): Promise<string[]> {
    const r = await this.query<{ digest: string }>(
      `SELECT d.digest FROM unnest($2::text[]) WITH ORDINALITY AS d (digest, n)
       WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = ${repoIdOf} AND m.digest = d.digest)
       ORDER BY d.n`,
      [repo, [...new Set(digests)]],
    );
    return r.rows.map((row) => row.digest);
  }

  async getManifest(repo: string, digest: string): Promise<ManifestRecord | undefined> {
    const r = await this.query<ManifestRow>(`SELECT * FROM manifests WHERE repository_id = ${repoIdOf} AND digest = $2`, [repo, digest]);
    return toManifest(r.rows[0]);
  }

  async getManifestByTag(repo: string, tag: string): Promise<ManifestRecord | undefined> {
    const r = await this.query<ManifestRow>(
      `SELECT m.* FROM tags t JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
       WHERE t.repository_id = ${repoIdOf} AND t.name = $2`,
      [repo, tag],
    );
    return toManifest(r.rows[0]);
  }

  async putManifest(repo: string, m: ManifestWrite, tags: string[], options: TagWriteOptions = {}): Promise<void> {
    // Sorted, so that concurrent writers lock tag rows in the same order and cannot deadlock each other.
    const tagNames = [...new Set(tags)].sort();
    const actor = options.by ?? currentActor();
    await this.transaction(async (c) => {
      const id = await this.ensureRepo(c, repo);
      // Hold the repository's links to the blobs this manifest needs (share locks, in order): a collector
      // removing one of them (FOR UPDATE, then its check for references) waits for this commit and then sees
      // the references; one that removed it first leaves nothing to lock, and the push gets MANIFEST_BLOB_UNKNOWN.
      const needed = [...new Set(m.blobs)].sort();
      if (needed.length > 0) {
        const held = await c.query<{ digest: string }>(
          'SELECT digest FROM repository_blobs WHERE repository_id = $1 AND digest = ANY($2::text[]) ORDER BY digest FOR SHARE',
          [id, needed],
        );
        const present = new Set(held.rows.map((row) => row.digest));
        const missing = needed.filter((d) => !present.has(d));
        if (missing.length > 0) throw new MissingBlobsError(missing);
      }
      // Insert the manifest (or find it there) and hold a key-share lock on its row before touching tags: a
      // concurrent delete of this manifest then either finishes first (and the insert runs again) or waits for
      // this commit. Locking the manifest before the tag rows is the order a delete uses too (manifest row, then
      // the tags its cascade removes), so the two cannot deadlock.
      let inserted = false;
      for (let attempt = 1; ; attempt++) {
        const r = await c.query(
          `INSERT INTO manifests (repository_id, digest, media_type, size, body, artifact_type, subject, annotations, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (repository_id, digest) DO NOTHING`,
          [id, m.digest, m.mediaType, m.size, m.body, m.artifactType ?? null, m.subject ?? null, m.annotations ? JSON.stringify(m.annotations) : null, m.createdAt],
        );
        inserted = (r.rowCount ?? 0) > 0;
        if (inserted) break;
        const held = await c.query('SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2 FOR KEY SHARE', [id, m.digest]);
        if (held.rows.length > 0) break;
        if (attempt >= maxAttempts) throw new Error(`manifest ${m.digest} in ${repo} kept disappearing while being stored`);
      }
      if (inserted) {
        const targets = [...[...new Set(m.blobs)].map((d) => [d, 'blob']), ...[...new Set(m.manifests)].map((d) => [d, 'manifest'])].sort();
        if (targets.length > 0) {
          await c.query(
            `INSERT INTO manifest_references (repository_id, manifest_digest, target_digest, kind)
             SELECT $1, $2, t.digest, t.kind FROM unnest($3::text[], $4::text[]) AS t (digest, kind) ON CONFLICT DO NOTHING`,
            [id, m.digest, targets.map((t) => t[0]), targets.map((t) => t[1])],
          );
        }
      }
      const previousTags = new Map<string, string | undefined>();
      const immutable = [...new Set(options.immutable ?? [])].sort();
      const touched = [...new Set([...tagNames, ...immutable])].sort();
      if (touched.length > 0) {
        // One transaction at a time per tag (in name order), also for a tag that has no row yet: two pushes that
        // both create a tag would otherwise both record "created" in its history. Then lock the existing tag
        // rows and read what they pointed at, in a statement after the wait: the history's old digests.
        for (const t of touched) await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`wharf.tag/${id}/${t}`]);
        const held = await c.query<{ name: string; digest: string }>(
          'SELECT name, digest FROM tags WHERE repository_id = $1 AND name = ANY($2::text[]) ORDER BY name FOR UPDATE',
          [id, touched],
        );
        const before = new Map(held.rows.map((row) => [row.name, row.digest]));
        for (const t of tagNames) previousTags.set(t, before.get(t));
        for (const t of immutable) {
          const current = before.get(t);
          if (current !== undefined && current !== m.digest) throw new TagImmutableError(t, current);
        }
        const now = Date.now();
        await c.query(
          `INSERT INTO tags (repository_id, name, digest, updated_at) SELECT $1, t.name, $2, $3 FROM unnest($4::text[]) AS t (name)
           ON CONFLICT (repository_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
          [id, m.digest, now, tagNames],
        );
        const moved = tagNames.filter((t) => before.get(t) !== m.digest);
        if (moved.length > 0) {
          await c.query(
            `INSERT INTO tag_history (repository_id, tag, old_digest, new_digest, at, actor)
             SELECT $1, t.name, t.old, $2, $3, $4 FROM unnest($5::text[], $6::text[]) AS t (name, old)`,
            [id, m.digest, now, options.by ?? null, moved, moved.map((t) => before.get(t) ?? null)],
          );
        }
      }
      await this.recordChanges(c, pushChanges(repo, m, tags, previousTags, actor));
    });
  }

  async deleteManifest(repo: string, digest: string, options: { by?: string } = {}): Promise<boolean> {
    const actor = options.by ?? currentActor();
    return this.transaction(async (c) => {
      // The manifest row first (the order putManifest locks in), then the tags its cascade removes, recorded.
      const held = await c.query<{ id: number }>(`SELECT repository_id AS id FROM manifests WHERE repository_id = ${repoIdOf} AND digest = $2 FOR UPDATE`, [repo, digest]);
      const id = held.rows[0]?.id;
      if (id === undefined) return false;
      // Lock the tags on it (in name order, as putManifest does): a tag that a concurrent push has just moved
      // elsewhere drops out here, so the history and the event below name exactly the tags the cascade removes.
      await c.query('SELECT name FROM tags WHERE repository_id = $1 AND digest = $2 ORDER BY name FOR UPDATE', [id, digest]);
      const facts = await c.query<{ media_type: string; size: string | number; tags: string[] }>(
        `SELECT media_type, size, coalesce((SELECT array_agg(name) FROM tags WHERE repository_id = $1 AND digest = $2), '{}') AS tags
         FROM manifests WHERE repository_id = $1 AND digest = $2`,
        [id, digest],
      );
      await c.query(
        `INSERT INTO tag_history (repository_id, tag, old_digest, new_digest, at, actor)
         SELECT repository_id, name, digest, NULL, $3, $4 FROM tags WHERE repository_id = $1 AND digest = $2`,
        [id, digest, Date.now(), options.by ?? null],
      );
      // References and tags go with it (ON DELETE CASCADE), in the same statement.
      const r = await c.query('DELETE FROM manifests WHERE repository_id = $1 AND digest = $2', [id, digest]);
      const f = facts.rows[0];
      if ((r.rowCount ?? 0) === 0 || !f) return false;
      await this.recordChanges(c, manifestDeleteChanges(repo, { digest, mediaType: f.media_type, size: Number(f.size) }, f.tags, actor));
      return true;
    });
  }

  async deleteTag(repo: string, tag: string, options: { by?: string } = {}): Promise<boolean> {
    const actor = options.by ?? currentActor();
    return this.transaction(async (c) => {
      const r = await c.query<{ old_digest: string }>(
        `WITH gone AS (DELETE FROM tags WHERE repository_id = ${repoIdOf} AND name = $2 RETURNING repository_id, digest)
         INSERT INTO tag_history (repository_id, tag, old_digest, new_digest, at, actor) SELECT repository_id, $2, digest, NULL, $3, $4 FROM gone
         RETURNING old_digest`,
        [repo, tag, Date.now(), options.by ?? null],
      );
      const old = r.rows[0]?.old_digest;
      if (old === undefined) return false;
      await this.recordChanges(c, [tagDeleteChange(repo, tag, old, actor)]);
      return true;
    });
  }

  async tagHistory(repo: string, tag: string, page: { before?: number; limit: number }): Promise<TagChange[]> {
    const r = await this.query<{ id: string; tag: string; old_digest: string | null; new_digest: string | null; at: string; actor: string | null }>(
      `SELECT id, tag, old_digest, new_digest, at, actor FROM tag_history WHERE repository_id = ${repoIdOf} AND tag = $2 AND id < $3
       ORDER BY id DESC LIMIT $4`,
      [repo, tag, page.before ?? Number.MAX_SAFE_INTEGER, page.limit],
    );
    return r.rows.map((row) => {
      const c: TagChange = { id: Number(row.id), tag: row.tag, at: Number(row.at) };
      if (row.old_digest !== null) c.oldDigest = row.old_digest;
      if (row.new_digest !== null) c.newDigest = row.new_digest;
      if (row.actor !== null) c.by = row.actor;
      return c;
    });
  }

  async listTagRecords(repo: string, page: Page): Promise<TagRecord[]> {
    const r = await this.query<{ name: string; digest: string; updated_at: string }>(
      `SELECT name, digest, updated_at FROM tags WHERE repository_id = ${repoIdOf} AND name > $2 ORDER BY name LIMIT $3`,
      [repo, page.last ?? '', page.limit],
    );
    return r.rows.map((row) => ({ name: row.name, digest: row.digest, updatedAt: Number(row.updated_at) }));
  }

  async repositoryUsage(repo: string): Promise<RepositoryUsage | undefined> {
    // One statement: one snapshot.
    const r = await this.query<Record<string, string | null>>(
      `WITH r AS (SELECT id FROM repositories WHERE name = $1)
       SELECT (SELECT count(*) FROM manifests WHERE repository_id = r.id) AS manifests,
              (SELECT count(*) FROM tags WHERE repository_id = r.id) AS tags,
              (SELECT coalesce(sum(size), 0) FROM manifests WHERE repository_id = r.id) AS manifest_bytes,
              (SELECT coalesce(sum(b.size), 0) FROM manifest_references mr JOIN blobs b ON b.digest = mr.target_digest
                 WHERE mr.repository_id = r.id AND mr.kind = 'blob') AS logical,
              (SELECT coalesce(sum(b.size), 0) FROM blobs b WHERE b.digest IN
                 (SELECT target_digest FROM manifest_references WHERE repository_id = r.id AND kind = 'blob')) AS unique_bytes,
              (SELECT coalesce(sum(b.size), 0) FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
                 WHERE rb.repository_id = r.id) AS linked
       FROM r`,
      [repo],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const manifestBytes = Number(row.manifest_bytes);
    return {
      repository: repo,
      manifests: Number(row.manifests),
      tags: Number(row.tags),
      manifestBytes,
      logicalBytes: manifestBytes + Number(row.logical),
      uniqueBytes: manifestBytes + Number(row.unique_bytes),
      storedBytes: manifestBytes + Number(row.linked),
    };
  }

  async totalUsage(): Promise<{ blobs: number; blobBytes: number; manifests: number; manifestBytes: number }> {
    const r = await this.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM blobs b WHERE b.digest IN (SELECT target_digest FROM manifest_references WHERE kind = 'blob')) AS blobs,
              (SELECT coalesce(sum(size), 0) FROM blobs b WHERE b.digest IN (SELECT target_digest FROM manifest_references WHERE kind = 'blob')) AS blob_bytes,
              (SELECT count(*) FROM manifests) AS manifests,
              (SELECT coalesce(sum(size), 0) FROM manifests) AS manifest_bytes`,
      [],
    );
    const row = r.rows[0]!;
    return { blobs: Number(row.blobs), blobBytes: Number(row.blob_bytes), manifests: Number(row.manifests), manifestBytes: Number(row.manifest_bytes) };
  }

  async repositoryExists(repo: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM repositories WHERE name = $1', [repo])).rows.length > 0;
  }

  async listTags(repo: string, page: Page): Promise<string[]> {
    const r = await this.query<{ name: string }>(
      `SELECT name FROM tags WHERE repository_id = ${repoIdOf} AND name > $2 ORDER BY name LIMIT $3`,
      [repo, page.last ?? '', page.limit],
    );
    return r.rows.map((row) => row.name);
  }

  async listRepositories(page: Page): Promise<string[]> {
    const r = await this.query<{ name: string }>(
      `SELECT name FROM repositories r WHERE name > $1 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
       ORDER BY name LIMIT $2`,
      [page.last ?? '', page.limit],
    );
    return r.rows.map((row) => row.name);
  }

  async listReferrers(repo: string, subject: string): Promise<Referrer[]> {
    const r = await this.query<ManifestRow>(
      `SELECT digest, media_type, size, artifact_type, annotations FROM manifests
       WHERE repository_id = ${repoIdOf} AND subject = $2 ORDER BY digest`,
      [repo, subject],
    );
    return r.rows.map((row) => {
      const ref: Referrer = { digest: row.digest, mediaType: row.media_type, size: row.size };
      if (row.artifact_type !== null) ref.artifactType = row.artifact_type;
      if (row.annotations !== null) ref.annotations = JSON.parse(row.annotations) as Record<string, string>;
      return ref;
    });
  }

  async createUpload(u: UploadRecord): Promise<void> {
    await this.query('INSERT INTO uploads (id, repository, created_at) VALUES ($1, $2, $3)', [u.id, u.repository, u.createdAt]);
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const r = await this.query<{ id: string; repository: string; created_at: number }>('SELECT id, repository, created_at FROM uploads WHERE id = $1', [id]);
    const row = r.rows[0];
    return row && { id: row.id, repository: row.repository, createdAt: row.created_at };
  }

  async deleteUpload(id: string): Promise<boolean> {
    return ((await this.query('DELETE FROM uploads WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  /** Maintenance reads (`wharf fsck`): every blob by digest, one page at a time. */
  async listBlobs(page: Page): Promise<BlobRecord[]> {
    const r = await this.query<BlobRecord>('SELECT digest, size FROM blobs WHERE digest > $1 ORDER BY digest LIMIT $2', [page.last ?? '', page.limit]);
    return r.rows;
  }

  /** Maintenance reads: one repository's manifests with their bytes, by digest, one page at a time. */
  async listManifests(repo: string, page: Page): Promise<ManifestRecord[]> {
    const r = await this.query<ManifestRow>(
      `SELECT * FROM manifests WHERE repository_id = ${repoIdOf} AND digest > $2 ORDER BY digest LIMIT $3`,
      [repo, page.last ?? '', page.limit],
    );
    return r.rows.map((row) => toManifest(row)!);
  }

  async createApiKey(k: ApiKeyRecord): Promise<boolean> {
    const r = await this.query(
      'INSERT INTO api_keys (name, subject, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING',
      [k.name, k.subject, k.secretHash, k.createdAt, k.expiresAt],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.query<ApiKeyRow>('SELECT * FROM api_keys ORDER BY name', [])).rows.map(toApiKey);
  }

  async findApiKey(name: string): Promise<ApiKeyRecord | undefined> {
    const row = (await this.query<ApiKeyRow>('SELECT * FROM api_keys WHERE name = $1', [name])).rows[0];
    return row && toApiKey(row);
  }

  async revokeApiKey(name: string): Promise<boolean> {
    return ((await this.query('DELETE FROM api_keys WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  async listUnreferencedLinks(before: number, limit: number, after?: { repository: string; digest: string }): Promise<BlobLink[]> {
    const r = await this.query<BlobLink>(
      `SELECT r.name AS repository, rb.digest, b.size, rb.created_at AS "createdAt"
       FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id JOIN blobs b ON b.digest = rb.digest
       WHERE rb.created_at <= $1 AND (r.name, rb.digest) > ($2, $3)
         AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.repository_id = rb.repository_id AND mr.target_digest = rb.digest)
       ORDER BY r.name, rb.digest LIMIT $4`,
      [before, after?.repository ?? '', after?.digest ?? '', limit],
    );
    return r.rows;
  }

  async sweepLink(repo: string, digest: string, before: number): Promise<boolean> {
    return this.transaction(async (c) => {
      // Lock first, check in a later statement: a manifest PUT holding this link (FOR SHARE) has committed by
      // then, and the check's fresh snapshot sees its references.
      const held = await c.query(`SELECT 1 FROM repository_blobs WHERE repository_id = ${repoIdOf} AND digest = $2 FOR UPDATE`, [repo, digest]);
      if (held.rows.length === 0) return false;
      const r = await c.query(
        `DELETE FROM repository_blobs rb WHERE rb.repository_id = ${repoIdOf} AND rb.digest = $2 AND rb.created_at <= $3
           AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.repository_id = rb.repository_id AND mr.target_digest = rb.digest)`,
        [repo, digest, before],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  async listCollectableBlobs(before: number, limit: number, options: { after?: string; withoutLinks: boolean }): Promise<CollectableBlob[]> {
    const r = await this.query<CollectableBlob>(
      `SELECT b.digest, b.size, b.created_at AS "createdAt" FROM blobs b
       WHERE b.digest > $1 AND b.created_at <= $2
         AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.target_digest = b.digest)
         AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.digest = b.digest)
         AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest AND rb.created_at > $3)
       ORDER BY b.digest LIMIT $4`,
      [options.after ?? '', before, options.withoutLinks ? -1 : before, limit],
    );
    return r.rows;
  }

  async markBlobDeleting(digest: string, before: number, collector: string, staleBefore: number): Promise<BlobRecord | undefined> {
    return this.transaction(async (c) => {
      // Lock first (claims, mounts and links hold FOR SHARE on this row while they commit), then check.
      const held = await c.query('SELECT 1 FROM blobs WHERE digest = $1 FOR UPDATE', [digest]);
      if (held.rows.length === 0) return undefined;
      const r = await c.query<BlobRecord>(
        `UPDATE blobs b SET deleting_by = $1, deleting_since = $2
         WHERE b.digest = $3 AND b.created_at <= $4 AND (b.deleting_by IS NULL OR b.deleting_by = $1 OR b.deleting_since <= $5)
           AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.target_digest = b.digest)
           AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.digest = b.digest)
           AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)
         RETURNING b.digest, b.size`,
        [collector, Date.now(), digest, before, staleBefore],
      );
      return r.rows[0];
    });
  }

  async deleteMarkedBlob(digest: string, collector: string): Promise<boolean> {
    const r = await this.write('DELETE FROM blobs WHERE digest = $1 AND deleting_by = $2', [digest, collector]);
    return (r.rowCount ?? 0) > 0;
  }

  async listUploadsBefore(before: number, limit: number, afterId?: string): Promise<UploadRecord[]> {
    const r = await this.query<{ id: string; repository: string; created_at: number }>(
      'SELECT id, repository, created_at FROM uploads WHERE created_at <= $1 AND id > $2 ORDER BY id LIMIT $3',
      [before, afterId ?? '', limit],
    );
    return r.rows.map((row) => ({ id: row.id, repository: row.repository, createdAt: row.created_at }));
  }

  /** Writes changes to the outbox inside the transaction of the change; last in it (see eventsLock). */
  private async recordChanges(c: Queryable, changes: ChangeDraft[]): Promise<void> {
    if (changes.length === 0) return;
    await c.query('SELECT pg_advisory_xact_lock($1)', [eventsLock]);
    const rows = changes.map((d) => outboxRow(d, Date.now()));
    await c.query(
      `INSERT INTO events (id, kind, repository, at, data)
       SELECT e.id, e.kind, e.repository, e.at, e.data
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS e (id, kind, repository, at, data, n)
       ORDER BY n`,
      [rows.map((r) => r.id), rows.map((r) => r.kind), rows.map((r) => r.repository), rows.map((r) => r.time), rows.map((r) => r.data)],
    );
  }

  async appendEvents(changes: ChangeDraft[]): Promise<void> {
    if (changes.length > 0) await this.transaction((c) => this.recordChanges(c, changes));
  }

  async listEvents(after: number, limit: number): Promise<StoredChange[]> {
    const r = await this.query<{ seq: string; id: string; kind: string; repository: string; at: string; data: string }>(
      'SELECT seq, id, kind, repository, at, data FROM events WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, limit],
    );
    return r.rows.map((row) => fromOutboxRow(Number(row.seq), { id: row.id, kind: row.kind, repository: row.repository, time: Number(row.at), data: row.data }));
  }

  async leaseEventCursor(endpoint: string, holder: string, leaseMs: number): Promise<number | undefined> {
    return this.transaction(async (c) => {
      const now = Date.now();
      await c.query(
        'INSERT INTO event_cursors (endpoint, position) VALUES ($1, (SELECT coalesce(max(seq), 0) FROM events)) ON CONFLICT (endpoint) DO NOTHING',
        [endpoint],
      );
      const r = await c.query<{ position: string }>(
        `UPDATE event_cursors SET holder = $2, lease_until = $3 WHERE endpoint = $1 AND (holder IS NULL OR holder = $2 OR lease_until < $4)
         RETURNING position`,
        [endpoint, holder, now + leaseMs, now],
      );
      const row = r.rows[0];
      return row === undefined ? undefined : Number(row.position);
    });
  }

  async advanceEventCursor(endpoint: string, holder: string, position: number): Promise<boolean> {
    const r = await this.write('UPDATE event_cursors SET position = greatest(position, $3) WHERE endpoint = $1 AND holder = $2', [endpoint, holder, position]);
    return (r.rowCount ?? 0) > 0;
  }

  async releaseEventCursor(endpoint: string, holder: string): Promise<void> {
    await this.write('UPDATE event_cursors SET holder = NULL, lease_until = 0 WHERE endpoint = $1 AND holder = $2', [endpoint, holder]);
  }

  async pruneEvents(before: number, endpoints: readonly string[]): Promise<number> {
    // Up to the slowest cursor of the endpoints; one without a cursor yet starts at the end and holds nothing back.
    const r = await this.write(
      `DELETE FROM events WHERE at < $1
         AND seq <= coalesce((SELECT min(position) FROM event_cursors WHERE endpoint = ANY($2::text[])), 9223372036854775807)`,
      [before, [...endpoints]],
    );
    return r.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** Applies the pending migrations in one transaction under the migration lock; returns what it found and did. */
async function migrate(c: pg.PoolClient): Promise<SchemaStatus> {
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [migrationLock]);
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const r = await c.query<{ version: number }>('SELECT version FROM schema_migrations');
    const present = new Set(r.rows.map((row) => row.version));
    const before = Math.max(0, ...present);
    if (before > postgresMigrations.length) {
      throw new SchemaVersionError(
        `the database schema is at version ${before} but this Wharf knows versions up to ${postgresMigrations.length}: upgrade Wharf`,
      );
    }
    const applied: number[] = [];
    for (const [i, sql] of postgresMigrations.entries()) {
      const version = i + 1;
      if (present.has(version)) continue;
      await c.query(sql);
      await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()]);
      applied.push(version);
    }
    await c.query('COMMIT');
    return { before, after: postgresMigrations.length, applied };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

function describe(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map((x) => describe(x)).join('; ');
  if (e instanceof Error) return e.message || (e as { code?: string }).code || e.name;
  return String(e);
}
