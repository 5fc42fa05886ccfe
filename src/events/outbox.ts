// The outbox writer's half that both metadata stores share: which changes a write produces (the stores call
// these inside the transaction of the write, so a change and its events commit together or not at all) and
// the row format (a UUID, the kind, the repository, the time and the rest as JSON).
import { randomUUID } from 'node:crypto';
import { type ChangeDraft, type ChangeKind, type StoredChange } from './model.js';

export interface OutboxRow {
  id: string;
  kind: string;
  repository: string;
  time: number;
  data: string;
}

export function outboxRow(d: ChangeDraft, time: number): OutboxRow {
  const { kind, repository, ...rest } = d;
  return { id: randomUUID(), kind, repository, time, data: JSON.stringify(rest) };
}

/** A stored row back as a change; a row of a kind this version does not know is still returned as it is. */
export function fromOutboxRow(seq: number, row: OutboxRow): StoredChange {
  const rest = JSON.parse(row.data) as Omit<ChangeDraft, 'kind' | 'repository'>;
  return { seq, id: row.id, time: row.time, kind: row.kind as ChangeKind, repository: row.repository, ...rest };
}

function withActor(d: ChangeDraft, actor: string | undefined): ChangeDraft {
  if (actor !== undefined) d.actor = actor;
  return d;
}

interface ManifestFacts {
  digest: string;
  mediaType?: string;
  size?: number;
}

function manifestFields(m: ManifestFacts): Pick<ChangeDraft, 'digest' | 'mediaType' | 'size'> {
  const f: Pick<ChangeDraft, 'digest' | 'mediaType' | 'size'> = { digest: m.digest };
  if (m.mediaType !== undefined) f.mediaType = m.mediaType;
  if (m.size !== undefined) f.size = m.size;
  return f;
}

/**
 * A manifest PUT: one manifest.pushed (naming the first tag, if any), then per tag that now points elsewhere
 * than before a tag.created or tag.moved. `previous` holds what each tag pointed at before the write.
 */
export function pushChanges(repository: string, m: ManifestFacts, tags: readonly string[], previous: ReadonlyMap<string, string | undefined>, actor: string | undefined): ChangeDraft[] {
  const unique = [...new Set(tags)];
  const pushed: ChangeDraft = { kind: 'manifest.pushed', repository, ...manifestFields(m) };
  if (unique.length > 0) pushed.tag = unique[0]!;
  const out = [withActor(pushed, actor)];
  for (const tag of unique) {
    const before = previous.get(tag);
    if (before === m.digest) continue;
    const change: ChangeDraft = { kind: before === undefined ? 'tag.created' : 'tag.moved', repository, tag, ...manifestFields(m) };
    if (before !== undefined) change.previousDigest = before;
    out.push(withActor(change, actor));
  }
  return out;
}

/** A manifest deleted by digest: manifest.deleted, then a tag.deleted for each tag that went with it. */
export function manifestDeleteChanges(repository: string, m: ManifestFacts, tags: readonly string[], actor: string | undefined): ChangeDraft[] {
  return [
    withActor({ kind: 'manifest.deleted', repository, ...manifestFields(m) }, actor),
    ...[...tags].sort().map((tag) => withActor({ kind: 'tag.deleted', repository, tag, digest: m.digest }, actor)),
  ];
}

export function tagDeleteChange(repository: string, tag: string, digest: string, actor: string | undefined): ChangeDraft {
  return withActor({ kind: 'tag.deleted', repository, tag, digest }, actor);
}

export function blobChange(kind: 'blob.uploaded' | 'blob.mounted' | 'blob.deleted', repository: string, blob: { digest: string; size?: number }, actor: string | undefined, from?: string): ChangeDraft {
  const d: ChangeDraft = { kind, repository, digest: blob.digest };
  if (blob.size !== undefined) d.size = blob.size;
  if (from !== undefined) d.from = from;
  return withActor(d, actor);
}

export function pullChange(repository: string, m: ManifestFacts, tag: string | undefined, actor: string | undefined): ChangeDraft {
  const d: ChangeDraft = { kind: 'manifest.pulled', repository, ...manifestFields(m) };
  if (tag !== undefined) d.tag = tag;
  return withActor(d, actor);
}
