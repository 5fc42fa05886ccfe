// Rows as both SQL stores read them (snake_case columns) and the records the MetadataStore interface
// hands out: one mapping, so SQLite and PostgreSQL cannot drift apart.
import type { ApiKeyRecord, ManifestRecord } from './store.js';

export interface ManifestRow {
  digest: string;
  media_type: string;
  size: number;
  body: Buffer;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  created_at: number;
}

export function toManifest(row: ManifestRow | undefined): ManifestRecord | undefined {
  if (!row) return undefined;
  const m: ManifestRecord = { digest: row.digest, mediaType: row.media_type, size: row.size, body: row.body, createdAt: row.created_at };
  if (row.artifact_type !== null) m.artifactType = row.artifact_type;
  if (row.subject !== null) m.subject = row.subject;
  if (row.annotations !== null) m.annotations = JSON.parse(row.annotations) as Record<string, string>;
  return m;
}

export interface ApiKeyRow {
  name: string;
  subject: string;
  secret_hash: string;
  created_at: number;
  expires_at: number;
}

export function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return { name: row.name, subject: row.subject, secretHash: row.secret_hash, createdAt: row.created_at, expiresAt: row.expires_at };
}
