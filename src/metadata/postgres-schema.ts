// PostgreSQL schema migrations, applied in order when a store opens (and by `wharf migrate`); each runs once.
// Version N is migrations[N - 1]. Append new migrations; never edit one that has shipped.
//
// The same tables as the SQLite schema, with three differences that keep the semantics identical:
// - every name and digest column is COLLATE "C", so ORDER BY and `name > last` (tag and catalog pagination)
//   compare bytes, as SQLite does, whatever the database's default collation is;
// - sizes and times are BIGINT (milliseconds since the epoch; blobs larger than 2 GiB);
// - tags and manifest references point at their manifest with ON DELETE CASCADE, so no process can leave a tag
//   on a manifest that another process deleted at the same moment.
export const postgresMigrations: readonly string[] = [
  `
  CREATE TABLE repositories (
    id BIGSERIAL PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE blobs (
    digest TEXT COLLATE "C" PRIMARY KEY,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE repository_blobs (
    repository_id BIGINT NOT NULL REFERENCES repositories (id),
    digest TEXT COLLATE "C" NOT NULL REFERENCES blobs (digest),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repository_id, digest)
  );
  CREATE INDEX repository_blobs_digest ON repository_blobs (digest);
  CREATE TABLE manifests (
    repository_id BIGINT NOT NULL REFERENCES repositories (id),
    digest TEXT COLLATE "C" NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    body BYTEA NOT NULL,
    artifact_type TEXT,
    subject TEXT COLLATE "C",
    annotations TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repository_id, digest)
  );
  CREATE INDEX manifests_subject ON manifests (repository_id, subject) WHERE subject IS NOT NULL;
  CREATE TABLE manifest_references (
    repository_id BIGINT NOT NULL,
    manifest_digest TEXT COLLATE "C" NOT NULL,
    target_digest TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
    PRIMARY KEY (repository_id, manifest_digest, target_digest, kind),
    FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
  );
  CREATE INDEX manifest_references_target ON manifest_references (target_digest);
  CREATE TABLE tags (
    repository_id BIGINT NOT NULL REFERENCES repositories (id),
    name TEXT COLLATE "C" NOT NULL,
    digest TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository_id, name),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
  );
  CREATE INDEX tags_digest ON tags (repository_id, digest);
  CREATE TABLE uploads (
    id TEXT COLLATE "C" PRIMARY KEY,
    repository TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
  );
  `,
  `
  CREATE TABLE api_keys (
    name TEXT COLLATE "C" PRIMARY KEY,
    subject TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  `,
  // Garbage collection: an upload claims the digest it is about to publish; a blob being deleted carries its
  // collector's mark (docs/gc.md).
  `
  ALTER TABLE uploads ADD COLUMN digest TEXT COLLATE "C";
  CREATE INDEX uploads_digest ON uploads (digest) WHERE digest IS NOT NULL;
  CREATE INDEX uploads_created_at ON uploads (created_at);
  ALTER TABLE blobs ADD COLUMN deleting_by TEXT;
  ALTER TABLE blobs ADD COLUMN deleting_since BIGINT;
  `,
  // Tag history (docs/lifecycle.md): every create, move and delete of a tag, written in the transaction of the
  // tag change itself; rows outlive the tags and manifests they name.
  `
  CREATE TABLE tag_history (
    id BIGSERIAL PRIMARY KEY,
    repository_id BIGINT NOT NULL REFERENCES repositories (id),
    tag TEXT COLLATE "C" NOT NULL,
    old_digest TEXT COLLATE "C",
    new_digest TEXT COLLATE "C",
    at BIGINT NOT NULL,
    actor TEXT
  );
  CREATE INDEX tag_history_tag ON tag_history (repository_id, tag, id);
  `,
  // Events (docs/events.md): the outbox, written in the transaction of each change, and one delivery cursor per
  // endpoint. Writers take a transaction-level advisory lock before inserting, so positions follow commit order.
  `
  CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    repository TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX events_at ON events (at);
  CREATE TABLE event_cursors (
    endpoint TEXT COLLATE "C" PRIMARY KEY,
    position BIGINT NOT NULL,
    holder TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
  );
  `,
];
