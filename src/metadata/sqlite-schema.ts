// SQLite schema migrations, applied in order on open; each runs once, inside a transaction.
export const migrations: readonly string[] = [
  `
  CREATE TABLE repositories (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE repository_blobs (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    digest TEXT NOT NULL REFERENCES blobs (digest),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository_id, digest)
  ) WITHOUT ROWID;
  CREATE INDEX repository_blobs_digest ON repository_blobs (digest);
  CREATE TABLE manifests (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL,
    artifact_type TEXT,
    subject TEXT,
    annotations TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository_id, digest)
  );
  CREATE INDEX manifests_subject ON manifests (repository_id, subject) WHERE subject IS NOT NULL;
  CREATE TABLE manifest_references (
    repository_id INTEGER NOT NULL,
    manifest_digest TEXT NOT NULL,
    target_digest TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
    PRIMARY KEY (repository_id, manifest_digest, target_digest, kind)
  ) WITHOUT ROWID;
  CREATE INDEX manifest_references_target ON manifest_references (target_digest);
  CREATE TABLE tags (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (repository_id, name)
  ) WITHOUT ROWID;
  CREATE INDEX tags_digest ON tags (repository_id, digest);
  CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE api_keys (
    name TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Garbage collection: an upload claims the digest it is about to publish; a blob being deleted carries its
  // collector's mark (docs/gc.md).
  `
  ALTER TABLE uploads ADD COLUMN digest TEXT;
  CREATE INDEX uploads_digest ON uploads (digest) WHERE digest IS NOT NULL;
  CREATE INDEX uploads_created_at ON uploads (created_at);
  ALTER TABLE blobs ADD COLUMN deleting_by TEXT;
  ALTER TABLE blobs ADD COLUMN deleting_since INTEGER;
  `,
  // Tag history (docs/lifecycle.md): every create, move and delete of a tag, written in the transaction of the
  // tag change itself; rows outlive the tags and manifests they name.
  `
  CREATE TABLE tag_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    tag TEXT NOT NULL,
    old_digest TEXT,
    new_digest TEXT,
    at INTEGER NOT NULL,
    actor TEXT
  );
  CREATE INDEX tag_history_tag ON tag_history (repository_id, tag, id);
  `,
  // Events (docs/events.md): the outbox, written in the transaction of each change (AUTOINCREMENT: positions
  // are never reused, even after retention removed the newest rows), and one delivery cursor per endpoint.
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    repository TEXT NOT NULL,
    at INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX events_at ON events (at);
  CREATE TABLE event_cursors (
    endpoint TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    holder TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  `,
];
