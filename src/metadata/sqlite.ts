// The embedded default MetadataStore: one SQLite file (better-sqlite3 v12) in WAL mode. Every acknowledged change
// is on disk before the answer: commits write the WAL (synchronous=NORMAL) and the -wal file is fdatasynced off
// the event loop before the callers are answered (wal-sync.ts), which is what synchronous=FULL would do inline.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BlobBusyError, MissingBlobsError, TagImmutableError } from './store.js';
import { toApiKey, toManifest, type ApiKeyRow, type ManifestRow } from './rows.js';
import type { RepositoryUsage, TagChange, TagRecord, TagWriteOptions } from './store.js';
import type { ApiKeyRecord, BlobLink, BlobRecord, CollectableBlob, ManifestRecord, ManifestWrite, MetadataStore, Page, Referrer, UploadRecord } from './store.js';
import { migrations } from './sqlite-schema.js';
import { WalSync } from './wal-sync.js';
import type { ChangeDraft, StoredChange } from '../events/model.js';
import { currentActor } from '../events/actor.js';
import { blobChange, fromOutboxRow, manifestDeleteChanges, outboxRow, pushChanges, tagDeleteChange, type OutboxRow } from '../events/outbox.js';


const maxCachedTagNames = 1_000_000;

/** Index of the first name greater than `last` in a sorted list (tags are ASCII: code-unit order is byte order). */
function firstAfter(sorted: string[], last: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= last) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface PendingWrite {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Writes are group-committed: every write asked for in the same turn of the event loop runs in one transaction
 * (each inside its own savepoint, so one failing write does not undo the others) with one fsync, and each
 * caller is answered only after that commit. Reads run at once on the same connection.
 */
export class SqliteMetadataStore implements MetadataStore {
  private readonly db: Database.Database;
  private readonly repoIds = new Map<string, number>();
  private readonly q;
  /** Statements of garbage collection (docs/gc.md). */
  private readonly gc;
  /** Statements of the content lifecycle: tag history, usage (docs/lifecycle.md). */
  private readonly life;
  /** Statements of the event outbox and the delivery cursors (docs/events.md). */
  private readonly ev;
  private pending: PendingWrite[] = [];
  /** Sorted tag names per repository id, dropped whenever a write touches that repository's tags. */
  private readonly tagLists = new Map<number, string[]>();
  private tagListNames = 0;
  private flushScheduled = false;
  private readonly wal: WalSync;
  /** A committed batch waits for its fdatasync; writes asked for meanwhile gather for the next transaction. */
  private syncing = false;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 10000');
    this.migrate(); // under synchronous=FULL: the schema is on disk before anything uses it
    this.db.pragma('synchronous = NORMAL');
    this.wal = new WalSync(file === ':memory:' ? undefined : `${file}-wal`);
    const db = this.db;
    this.q = {
      repoId: db.prepare<[string], { id: number }>('SELECT id FROM repositories WHERE name = ?'),
      insertRepo: db.prepare<[string, number]>('INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
      repoBlob: db.prepare<[number, string], BlobRecord>(
        'SELECT b.digest, b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE rb.repository_id = ? AND rb.digest = ?',
      ),
      blob: db.prepare<[string], BlobRecord>('SELECT digest, size FROM blobs WHERE digest = ?'),
      insertBlob: db.prepare<[string, number, number]>('INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING'),
      link: db.prepare<[number, string, number]>(
        // A link made again (upload, mount) starts its grace period again.
        'INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET created_at = excluded.created_at',
      ),
      unlink: db.prepare<[number, string]>('DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?'),
      manifest: db.prepare<[number, string], ManifestRow>('SELECT * FROM manifests WHERE repository_id = ? AND digest = ?'),
      manifestByTag: db.prepare<[number, string], ManifestRow>(
        'SELECT m.* FROM tags t JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest WHERE t.repository_id = ? AND t.name = ?',
      ),
      hasManifest: db.prepare<[number, string], { one: number }>('SELECT 1 AS one FROM manifests WHERE repository_id = ? AND digest = ?'),
      insertManifest: db.prepare(
        `INSERT INTO manifests (repository_id, digest, media_type, size, body, artifact_type, subject, annotations, created_at)
         VALUES (@repo, @digest, @mediaType, @size, @body, @artifactType, @subject, @annotations, @createdAt)
         ON CONFLICT (repository_id, digest) DO NOTHING`,
      ),
      insertReference: db.prepare<[number, string, string, string]>(
        'INSERT INTO manifest_references (repository_id, manifest_digest, target_digest, kind) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      upsertTag: db.prepare<[number, string, string, number]>(
        `INSERT INTO tags (repository_id, name, digest, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (repository_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
      ),
      deleteManifest: db.prepare<[number, string]>('DELETE FROM manifests WHERE repository_id = ? AND digest = ?'),
      deleteReferences: db.prepare<[number, string]>('DELETE FROM manifest_references WHERE repository_id = ? AND manifest_digest = ?'),
      deleteTagsOf: db.prepare<[number, string]>('DELETE FROM tags WHERE repository_id = ? AND digest = ?'),
      deleteTag: db.prepare<[number, string]>('DELETE FROM tags WHERE repository_id = ? AND name = ?'),
      allTags: db.prepare<[number], string>('SELECT name FROM tags WHERE repository_id = ? ORDER BY name').pluck(),
      repositories: db.prepare<[string, number], { name: string }>(
        `SELECT name FROM repositories r WHERE name > ? AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
         ORDER BY name LIMIT ?`,
      ),
      referrers: db.prepare<[number, string], ManifestRow>(
        'SELECT digest, media_type, size, artifact_type, annotations FROM manifests WHERE repository_id = ? AND subject = ? ORDER BY digest',
      ),
      insertUpload: db.prepare<[string, string, number]>('INSERT INTO uploads (id, repository, created_at) VALUES (?, ?, ?)'),
      upload: db.prepare<[string], { id: string; repository: string; created_at: number }>('SELECT * FROM uploads WHERE id = ?'),
      deleteUpload: db.prepare<[string]>('DELETE FROM uploads WHERE id = ?'),
      insertApiKey: db.prepare<[string, string, string, number, number]>(
        'INSERT INTO api_keys (name, subject, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
      ),
      apiKeys: db.prepare<[], ApiKeyRow>('SELECT * FROM api_keys ORDER BY name'),
      apiKey: db.prepare<[string], ApiKeyRow>('SELECT * FROM api_keys WHERE name = ?'),
      deleteApiKey: db.prepare<[string]>('DELETE FROM api_keys WHERE name = ?'),
      blobsAfter: db.prepare<[string, number], BlobRecord>('SELECT digest, size FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?'),
      manifestsAfter: db.prepare<[number, string, number], ManifestRow>(
        'SELECT * FROM manifests WHERE repository_id = ? AND digest > ? ORDER BY digest LIMIT ?',
      ),
    };
    this.gc = this.prepareCollection();
    this.life = this.prepareLifecycle();
    this.ev = this.prepareEvents();
  }

  private prepareEvents() {
    const db = this.db;
    return {
      insert: db.prepare<[string, string, string, number, string]>('INSERT INTO events (id, kind, repository, at, data) VALUES (?, ?, ?, ?, ?)'),
      after: db.prepare<[number, number], OutboxRow & { seq: number }>('SELECT seq, id, kind, repository, at AS time, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      tagDigest: db.prepare<[number, string], string>('SELECT digest FROM tags WHERE repository_id = ? AND name = ?').pluck(),
      tagsOf: db.prepare<[number, string], string>('SELECT name FROM tags WHERE repository_id = ? AND digest = ?').pluck(),
      manifestFacts: db.prepare<[number, string], { mediaType: string; size: number }>(
        'SELECT media_type AS mediaType, size FROM manifests WHERE repository_id = ? AND digest = ?',
      ),
      createCursor: db.prepare<[string]>(
        'INSERT INTO event_cursors (endpoint, position) VALUES (?, (SELECT coalesce(max(seq), 0) FROM events)) ON CONFLICT (endpoint) DO NOTHING',
      ),
      lease: db.prepare<[string, number, string, string, number], number>(
        `UPDATE event_cursors SET holder = ?, lease_until = ? WHERE endpoint = ? AND (holder IS NULL OR holder = ? OR lease_until < ?)
         RETURNING position`,
      ).pluck(),
      advance: db.prepare<[number, string, string]>('UPDATE event_cursors SET position = max(position, ?) WHERE endpoint = ? AND holder = ?'),
      release: db.prepare<[string, string]>('UPDATE event_cursors SET holder = NULL, lease_until = 0 WHERE endpoint = ? AND holder = ?'),
      prune: db.prepare<[number, number]>('DELETE FROM events WHERE at < ? AND seq <= ?'),
      cursorPosition: db.prepare<[string], number>('SELECT position FROM event_cursors WHERE endpoint = ?').pluck(),
    };
  }

  /** Writes changes to the outbox; only inside a write (the transaction of the change they describe). */
  private recordChanges(changes: ChangeDraft[]): void {
    const now = Date.now();
    for (const c of changes) {
      const row = outboxRow(c, now);
      this.ev.insert.run(row.id, row.kind, row.repository, row.time, row.data);
    }
  }

  private prepareLifecycle() {
    const db = this.db;
    return {
      tagDigest: db.prepare<[number, string], string>('SELECT digest FROM tags WHERE repository_id = ? AND name = ?').pluck(),
      tagsOf: db.prepare<[number, string], string>('SELECT name FROM tags WHERE repository_id = ? AND digest = ? ORDER BY name').pluck(),
      record: db.prepare<[number, string, string | null, string | null, number, string | null]>(
        'INSERT INTO tag_history (repository_id, tag, old_digest, new_digest, at, actor) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      history: db.prepare<[number, string, number, number], { id: number; tag: string; old_digest: string | null; new_digest: string | null; at: number; actor: string | null }>(
        'SELECT * FROM tag_history WHERE repository_id = ? AND tag = ? AND id < ? ORDER BY id DESC LIMIT ?',
      ),
      tagRecords: db.prepare<[number, string, number], TagRecord>(
        'SELECT name, digest, updated_at AS updatedAt FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?',
      ),
      manifestUsage: db.prepare<[number], { count: number; bytes: number | null }>('SELECT count(*) AS count, sum(size) AS bytes FROM manifests WHERE repository_id = ?'),
      tagCount: db.prepare<[number], number>('SELECT count(*) FROM tags WHERE repository_id = ?').pluck(),
      logicalBlobBytes: db.prepare<[number], number | null>(
        `SELECT sum(b.size) FROM manifest_references mr JOIN blobs b ON b.digest = mr.target_digest
         WHERE mr.repository_id = ? AND mr.kind = 'blob'`,
      ).pluck(),
      uniqueBlobBytes: db.prepare<[number], number | null>(
        `SELECT sum(b.size) FROM blobs b WHERE b.digest IN
           (SELECT mr.target_digest FROM manifest_references mr WHERE mr.repository_id = ? AND mr.kind = 'blob')`,
      ).pluck(),
      linkedBlobBytes: db.prepare<[number], number | null>(
        'SELECT sum(b.size) FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE rb.repository_id = ?',
      ).pluck(),
      totalBlobs: db.prepare<[], { count: number; bytes: number | null }>(
        `SELECT count(*) AS count, sum(b.size) AS bytes FROM blobs b
         WHERE b.digest IN (SELECT mr.target_digest FROM manifest_references mr WHERE mr.kind = 'blob')`,
      ),
      totalManifests: db.prepare<[], { count: number; bytes: number | null }>('SELECT count(*) AS count, sum(size) AS bytes FROM manifests'),
    };
  }

  /** Points a tag at a digest and records the change (none when it already points there). */
  private moveTag(id: number, tag: string, digest: string, now: number, by: string | undefined): void {
    const old = this.life.tagDigest.get(id, tag);
    this.q.upsertTag.run(id, tag, digest, now);
    if (old !== digest) this.life.record.run(id, tag, old ?? null, digest, now, by ?? null);
  }

  private prepareCollection() {
    const db = this.db;
    const unreferenced = 'NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.target_digest = b.digest)';
    const unclaimed = 'NOT EXISTS (SELECT 1 FROM uploads u WHERE u.digest = b.digest)';
    return {
      blobState: db.prepare<[string], { deleting_by: string | null }>('SELECT deleting_by FROM blobs WHERE digest = ?'),
      claim: db.prepare<[string, string, number, string]>(
        'INSERT INTO uploads (id, repository, created_at, digest) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET digest = excluded.digest',
      ),
      mountable: db.prepare<[number, number, string], BlobRecord>(
        `SELECT b.digest, b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
         WHERE rb.repository_id IN (?, ?) AND rb.digest = ? AND b.deleting_by IS NULL LIMIT 1`,
      ),
      unreferencedLinks: db.prepare<[number, string, string, number], { repository: string; digest: string; size: number; createdAt: number }>(
        `SELECT r.name AS repository, rb.digest, b.size, rb.created_at AS createdAt
         FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id JOIN blobs b ON b.digest = rb.digest
         WHERE rb.created_at <= ? AND (r.name, rb.digest) > (?, ?)
           AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.repository_id = rb.repository_id AND mr.target_digest = rb.digest)
         ORDER BY r.name, rb.digest LIMIT ?`,
      ),
      sweepLink: db.prepare<[number, string, number]>(
        `DELETE FROM repository_blobs AS rb WHERE rb.repository_id = ? AND rb.digest = ? AND rb.created_at <= ?
           AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.repository_id = rb.repository_id AND mr.target_digest = rb.digest)`,
      ),
      collectable: db.prepare<[string, number, number, number], { digest: string; size: number; createdAt: number }>(
        `SELECT b.digest, b.size, b.created_at AS createdAt FROM blobs b
         WHERE b.digest > ? AND b.created_at <= ? AND ${unreferenced} AND ${unclaimed}
           AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest AND rb.created_at > ?)
         ORDER BY b.digest LIMIT ?`,
      ),
      mark: db.prepare<[string, number, string, number, string, number]>(
        `UPDATE blobs AS b SET deleting_by = ?, deleting_since = ?
         WHERE b.digest = ? AND b.created_at <= ? AND (b.deleting_by IS NULL OR b.deleting_by = ? OR b.deleting_since <= ?)
           AND ${unreferenced} AND ${unclaimed} AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)`,
      ),
      deleteMarked: db.prepare<[string, string]>('DELETE FROM blobs WHERE digest = ? AND deleting_by = ?'),
      uploadsBefore: db.prepare<[number, string, number], { id: string; repository: string; created_at: number }>(
        'SELECT id, repository, created_at FROM uploads WHERE created_at <= ? AND id > ? ORDER BY id LIMIT ?',
      ),
    };
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set(this.db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all().map((r) => r.version));
    for (const [i, sql] of migrations.entries()) {
      const version = i + 1;
      if (applied.has(version)) continue;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
      })();
    }
  }

  private write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (v: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.syncing || this.pending.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    if (!this.db.open) {
      for (const w of batch) w.reject(new Error('the metadata store is closed'));
      return;
    }
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      // IMMEDIATE: take the write lock first, so that another process's commit (a `wharf gc` beside the server)
      // makes this wait (busy_timeout) instead of failing a read-then-write transaction with SQLITE_BUSY.
      this.db.transaction(() => {
        for (const w of batch) {
          try {
            outcomes.push({ ok: true, value: this.db.transaction(w.run)() });
          } catch (e) {
            outcomes.push({ ok: false, value: e });
          }
        }
      }).immediate();
    } catch (e) {
      this.repoIds.clear(); // ids cached during a rolled-back transaction may not exist
      for (const w of batch) w.reject(e);
      return;
    }
    if (outcomes.some((o) => !o.ok)) this.repoIds.clear();
    // Answered only once the commit is on disk; a failed fdatasync fails every write of the batch. Writes that
    // arrive during the fdatasync would wait for the next one anyway: they commit together once it is done
    // (fewer, larger transactions than committing each turn of the event loop).
    this.syncing = true;
    this.wal
      .sync()
      .then(
        () => batch.forEach((w, i) => (outcomes[i]!.ok ? w.resolve(outcomes[i]!.value) : w.reject(outcomes[i]!.value))),
        (e: unknown) => batch.forEach((w) => w.reject(e)),
      )
      .finally(() => {
        this.syncing = false;
        this.scheduleFlush();
      });
  }

  /** The id of an existing repository, or undefined. */
  private findRepo(name: string): number | undefined {
    const cached = this.repoIds.get(name);
    if (cached !== undefined) return cached;
    const row = this.q.repoId.get(name);
    if (row) this.repoIds.set(name, row.id);
    return row?.id;
  }

  private ensureRepo(name: string): number {
    const found = this.findRepo(name);
    if (found !== undefined) return found;
    this.q.insertRepo.run(name, Date.now());
    return this.findRepo(name)!;
  }

  async getRepositoryBlob(repo: string, digest: string): Promise<BlobRecord | undefined> {
    const id = this.findRepo(repo);
    return id === undefined ? undefined : this.q.repoBlob.get(id, digest);
  }

  async getBlob(digest: string): Promise<BlobRecord | undefined> {
    return this.q.blob.get(digest);
  }

  async linkBlob(repo: string, blob: BlobRecord, finishedUpload?: string): Promise<void> {
    const actor = currentActor();
    await this.write(() => {
      const id = this.ensureRepo(repo);
      const now = Date.now();
      this.q.insertBlob.run(blob.digest, blob.size, now);
      if (this.gc.blobState.get(blob.digest)?.deleting_by != null) throw new BlobBusyError(blob.digest);
      this.q.link.run(id, blob.digest, now);
      this.recordChanges([blobChange('blob.uploaded', repo, blob, actor)]);
      if (finishedUpload !== undefined) this.q.deleteUpload.run(finishedUpload);
    });
  }

  // Upload-session bookkeeping (claims, sessions) does not wait for an fdatasync: losing it in a power cut only
  // makes the client start the upload again (BLOB_UPLOAD_UNKNOWN). The next durable commit makes it durable too.

  async claimBlob(upload: UploadRecord, digest: string): Promise<void> {
    this.db
      .transaction(() => {
        if (this.gc.blobState.get(digest)?.deleting_by != null) throw new BlobBusyError(digest);
        this.gc.claim.run(upload.id, upload.repository, upload.createdAt, digest);
      })
      .immediate();
  }

  async mountBlob(repo: string, from: string, digest: string): Promise<BlobRecord | undefined> {
    const actor = currentActor();
    return this.write(() => {
      const fromId = this.findRepo(from) ?? -1;
      const ownId = this.findRepo(repo) ?? -1;
      const blob = this.gc.mountable.get(fromId, ownId, digest);
      if (!blob) return undefined;
      this.q.link.run(this.ensureRepo(repo), digest, Date.now());
      this.recordChanges([blobChange('blob.mounted', repo, blob, actor, from)]);
      return { digest: blob.digest, size: blob.size };
    });
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    const id = this.findRepo(repo);
    const actor = currentActor();
    return (
      id !== undefined &&
      this.write(() => {
        if (this.q.unlink.run(id, digest).changes === 0) return false;
        this.recordChanges([blobChange('blob.deleted', repo, { digest }, actor)]);
        return true;
      })
    );
  }

  async missingBlobs(repo: string, digests: string[]): Promise<string[]> {
    const id = this.findRepo(repo);
    if (id === undefined) return [...new Set(digests)];
    return [...new Set(digests)].filter((d) => !this.q.repoBlob.get(id, d));
  }

  async missingManifests(repo: string, digests: string[]): Promise<string[]> {
    const id = this.findRepo(repo);
    if (id === undefined) return [...new Set(digests)];
    return [...new Set(digests)].filter((d) => !this.q.hasManifest.get(id, d));
  }

  async getManifest(repo: string, digest: string): Promise<ManifestRecord | undefined> {
    const id = this.findRepo(repo);
    return id === undefined ? undefined : toManifest(this.q.manifest.get(id, digest));
  }

  async getManifestByTag(repo: string, tag: string): Promise<ManifestRecord | undefined> {
    const id = this.findRepo(repo);
    return id === undefined ? undefined : toManifest(this.q.manifestByTag.get(id, tag));
  }

  async putManifest(repo: string, m: ManifestWrite, tags: string[], options: TagWriteOptions = {}): Promise<void> {
    const actor = options.by ?? currentActor();
    await this.write(() => {
      const id = this.ensureRepo(repo);
      for (const t of options.immutable ?? []) {
        const current = this.life.tagDigest.get(id, t);
        if (current !== undefined && current !== m.digest) throw new TagImmutableError(t, current);
      }
      const missing = [...new Set(m.blobs)].filter((d) => !this.q.repoBlob.get(id, d));
      if (missing.length > 0) throw new MissingBlobsError(missing);
      const inserted = this.q.insertManifest.run({
        repo: id,
        digest: m.digest,
        mediaType: m.mediaType,
        size: m.size,
        body: m.body,
        artifactType: m.artifactType ?? null,
        subject: m.subject ?? null,
        annotations: m.annotations ? JSON.stringify(m.annotations) : null,
        createdAt: m.createdAt,
      });
      if (inserted.changes > 0) {
        for (const b of new Set(m.blobs)) this.q.insertReference.run(id, m.digest, b, 'blob');
        for (const c of new Set(m.manifests)) this.q.insertReference.run(id, m.digest, c, 'manifest');
      }
      const now = Date.now();
      const previous = new Map([...new Set(tags)].map((t) => [t, this.ev.tagDigest.get(id, t)] as const));
      for (const t of new Set(tags)) this.moveTag(id, t, m.digest, now, options.by);
      this.recordChanges(pushChanges(repo, m, tags, previous, actor));
      if (tags.length > 0) this.forgetTags(id);
    });
  }

  async deleteManifest(repo: string, digest: string, options: { by?: string } = {}): Promise<boolean> {
    const id = this.findRepo(repo);
    if (id === undefined) return false;
    const actor = options.by ?? currentActor();
    return this.write(() => {
      const facts = this.ev.manifestFacts.get(id, digest);
      const doomedTags = facts ? this.ev.tagsOf.all(id, digest) : [];
      const now = Date.now();
      for (const t of this.life.tagsOf.all(id, digest)) this.life.record.run(id, t, digest, null, now, options.by ?? null);
      const gone = this.q.deleteManifest.run(id, digest).changes > 0;
      if (gone) {
        this.q.deleteReferences.run(id, digest);
        this.q.deleteTagsOf.run(id, digest);
        this.forgetTags(id);
        this.recordChanges(manifestDeleteChanges(repo, { digest, ...facts }, doomedTags, actor));
      }
      return gone;
    });
  }

  async deleteTag(repo: string, tag: string, options: { by?: string } = {}): Promise<boolean> {
    const id = this.findRepo(repo);
    const actor = options.by ?? currentActor();
    return (
      id !== undefined &&
      this.write(() => {
        this.forgetTags(id);
        const old = this.life.tagDigest.get(id, tag);
        if (old === undefined) return false;
        this.q.deleteTag.run(id, tag);
        this.life.record.run(id, tag, old, null, Date.now(), options.by ?? null);
        this.recordChanges([tagDeleteChange(repo, tag, old, actor)]);
        return true;
      })
    );
  }

  async tagHistory(repo: string, tag: string, page: { before?: number; limit: number }): Promise<TagChange[]> {
    const id = this.findRepo(repo);
    if (id === undefined) return [];
    return this.life.history.all(id, tag, page.before ?? Number.MAX_SAFE_INTEGER, page.limit).map((r) => {
      const c: TagChange = { id: r.id, tag: r.tag, at: r.at };
      if (r.old_digest !== null) c.oldDigest = r.old_digest;
      if (r.new_digest !== null) c.newDigest = r.new_digest;
      if (r.actor !== null) c.by = r.actor;
      return c;
    });
  }

  async listTagRecords(repo: string, page: Page): Promise<TagRecord[]> {
    const id = this.findRepo(repo);
    return id === undefined ? [] : this.life.tagRecords.all(id, page.last ?? '', page.limit);
  }

  async repositoryUsage(repo: string): Promise<RepositoryUsage | undefined> {
    const id = this.findRepo(repo);
    if (id === undefined) return undefined;
    // One read transaction, so that the numbers describe one moment.
    return this.db.transaction(() => {
      const m = this.life.manifestUsage.get(id)!;
      const manifestBytes = m.bytes ?? 0;
      return {
        repository: repo,
        manifests: m.count,
        tags: this.life.tagCount.get(id)!,
        manifestBytes,
        logicalBytes: manifestBytes + (this.life.logicalBlobBytes.get(id) ?? 0),
        uniqueBytes: manifestBytes + (this.life.uniqueBlobBytes.get(id) ?? 0),
        storedBytes: manifestBytes + (this.life.linkedBlobBytes.get(id) ?? 0),
      };
    })();
  }

  async totalUsage(): Promise<{ blobs: number; blobBytes: number; manifests: number; manifestBytes: number }> {
    return this.db.transaction(() => {
      const b = this.life.totalBlobs.get()!;
      const m = this.life.totalManifests.get()!;
      return { blobs: b.count, blobBytes: b.bytes ?? 0, manifests: m.count, manifestBytes: m.bytes ?? 0 };
    })();
  }

  async repositoryExists(repo: string): Promise<boolean> {
    return this.findRepo(repo) !== undefined;
  }

  async listTags(repo: string, page: Page): Promise<string[]> {
    const id = this.findRepo(repo);
    if (id === undefined) return [];
    const all = this.tagList(id);
    const start = page.last === undefined ? 0 : firstAfter(all, page.last);
    return all.slice(start, start + page.limit);
  }

  private tagList(id: number): string[] {
    let list = this.tagLists.get(id);
    if (list) return list;
    list = this.q.allTags.all(id);
    this.tagLists.set(id, list);
    this.tagListNames += list.length;
    // Bound the cache: forget the oldest repositories first.
    for (const [oldest] of this.tagLists) {
      if (this.tagListNames <= maxCachedTagNames || oldest === id) break;
      this.forgetTags(oldest);
    }
    return list;
  }

  private forgetTags(id: number): void {
    const list = this.tagLists.get(id);
    if (!list) return;
    this.tagListNames -= list.length;
    this.tagLists.delete(id);
  }

  async listRepositories(page: Page): Promise<string[]> {
    return this.q.repositories.all(page.last ?? '', page.limit).map((r) => r.name);
  }

  async listReferrers(repo: string, subject: string): Promise<Referrer[]> {
    const id = this.findRepo(repo);
    if (id === undefined) return [];
    return this.q.referrers.all(id, subject).map((row) => {
      const r: Referrer = { digest: row.digest, mediaType: row.media_type, size: row.size };
      if (row.artifact_type !== null) r.artifactType = row.artifact_type;
      if (row.annotations !== null) r.annotations = JSON.parse(row.annotations) as Record<string, string>;
      return r;
    });
  }

  async createUpload(u: UploadRecord): Promise<void> {
    this.q.insertUpload.run(u.id, u.repository, u.createdAt);
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const row = this.q.upload.get(id);
    return row && { id: row.id, repository: row.repository, createdAt: row.created_at };
  }

  async deleteUpload(id: string): Promise<boolean> {
    return this.q.deleteUpload.run(id).changes > 0;
  }

  async createApiKey(k: ApiKeyRecord): Promise<boolean> {
    return this.write(() => this.q.insertApiKey.run(k.name, k.subject, k.secretHash, k.createdAt, k.expiresAt).changes > 0);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.q.apiKeys.all().map(toApiKey);
  }

  async findApiKey(name: string): Promise<ApiKeyRecord | undefined> {
    const row = this.q.apiKey.get(name);
    return row && toApiKey(row);
  }

  async revokeApiKey(name: string): Promise<boolean> {
    return this.write(() => this.q.deleteApiKey.run(name).changes > 0);
  }

  async listBlobs(page: Page): Promise<BlobRecord[]> {
    return this.q.blobsAfter.all(page.last ?? '', page.limit);
  }

  async listManifests(repo: string, page: Page): Promise<ManifestRecord[]> {
    const id = this.findRepo(repo);
    if (id === undefined) return [];
    return this.q.manifestsAfter.all(id, page.last ?? '', page.limit).map((row) => toManifest(row)!);
  }

  async listUnreferencedLinks(before: number, limit: number, after?: { repository: string; digest: string }): Promise<BlobLink[]> {
    return this.gc.unreferencedLinks.all(before, after?.repository ?? '', after?.digest ?? '', limit);
  }

  async sweepLink(repo: string, digest: string, before: number): Promise<boolean> {
    const id = this.findRepo(repo);
    return id !== undefined && this.write(() => this.gc.sweepLink.run(id, digest, before).changes > 0);
  }

  async listCollectableBlobs(before: number, limit: number, options: { after?: string; withoutLinks: boolean }): Promise<CollectableBlob[]> {
    return this.gc.collectable.all(options.after ?? '', before, options.withoutLinks ? -1 : before, limit);
  }

  async markBlobDeleting(digest: string, before: number, collector: string, staleBefore: number): Promise<BlobRecord | undefined> {
    return this.write(() => {
      if (this.gc.mark.run(collector, Date.now(), digest, before, collector, staleBefore).changes === 0) return undefined;
      return this.q.blob.get(digest);
    });
  }

  async deleteMarkedBlob(digest: string, collector: string): Promise<boolean> {
    return this.write(() => this.gc.deleteMarked.run(digest, collector).changes > 0);
  }

  async listUploadsBefore(before: number, limit: number, afterId?: string): Promise<UploadRecord[]> {
    return this.gc.uploadsBefore.all(before, afterId ?? '', limit).map((r) => ({ id: r.id, repository: r.repository, createdAt: r.created_at }));
  }

  async appendEvents(changes: ChangeDraft[]): Promise<void> {
    if (changes.length > 0) await this.write(() => this.recordChanges(changes));
  }

  async listEvents(after: number, limit: number): Promise<StoredChange[]> {
    return this.ev.after.all(after, limit).map((row) => fromOutboxRow(row.seq, row));
  }

  async leaseEventCursor(endpoint: string, holder: string, leaseMs: number): Promise<number | undefined> {
    return this.write(() => {
      const now = Date.now();
      this.ev.createCursor.run(endpoint);
      return this.ev.lease.get(holder, now + leaseMs, endpoint, holder, now);
    });
  }

  async advanceEventCursor(endpoint: string, holder: string, position: number): Promise<boolean> {
    return this.write(() => this.ev.advance.run(position, endpoint, holder).changes > 0);
  }

  async releaseEventCursor(endpoint: string, holder: string): Promise<void> {
    await this.write(() => this.ev.release.run(endpoint, holder));
  }

  async pruneEvents(before: number, endpoints: readonly string[]): Promise<number> {
    return this.write(() => {
      // Up to the slowest cursor; an endpoint without a cursor yet starts at the end, so it holds nothing back.
      let upTo = Number.MAX_SAFE_INTEGER;
      for (const e of endpoints) upTo = Math.min(upTo, this.ev.cursorPosition.get(e) ?? upTo);
      return this.ev.prune.run(before, upTo).changes;
    });
  }

  async close(): Promise<void> {
    this.flush();
    await this.wal.end();
    if (this.db.open) this.db.close();
  }
}
