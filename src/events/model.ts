// The event model: what the outbox records (ChangeDraft, StoredChange) and how a stored change reads as a
// CloudEvents 1.0 event in the JSON format (https://github.com/cloudevents/spec, json-format.md).

/** Every kind of change the registry records; the CloudEvents type is `io.wharf.` followed by the kind. */
export const changeKinds = [
  'manifest.pushed',
  'manifest.deleted',
  'manifest.pulled',
  'tag.created',
  'tag.moved',
  'tag.deleted',
  'blob.uploaded',
  'blob.mounted',
  'blob.deleted',
] as const;

export type ChangeKind = (typeof changeKinds)[number];

export const typePrefix = 'io.wharf.';

/** The CloudEvents types, in the order of changeKinds. */
export const eventTypes: readonly string[] = changeKinds.map((k) => typePrefix + k);

/** A change about to be written to the outbox, in the transaction of the change itself. */
export interface ChangeDraft {
  kind: ChangeKind;
  repository: string;
  digest: string;
  mediaType?: string;
  size?: number;
  /** The tag pushed, moved or deleted. */
  tag?: string;
  /** tag.moved: the digest the tag pointed at before. */
  previousDigest?: string;
  /** blob.mounted: the repository the blob was mounted from. */
  from?: string;
  /** The authenticated user; absent for anonymous callers and tools. */
  actor?: string;
}

/** A change as the outbox holds it. */
export interface StoredChange extends ChangeDraft {
  /** Position in the outbox: increases with every change, in commit order; the feed's cursor. */
  seq: number;
  /** A UUID given when the row was written: the event's id, the same on every delivery and in the feed. */
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
}

export interface CloudEventData {
  repository: string;
  digest: string;
  mediaType?: string;
  size?: number;
  tag?: string;
  previousDigest?: string;
  from?: string;
  actor?: string;
}

/** A CloudEvents 1.0 event in its JSON form, with the extension attribute `wharfseq` (the outbox position). */
export type CloudEvent = {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject: string;
  datacontenttype: 'application/json';
  wharfseq: number;
  data: CloudEventData;
};

/** `repo:tag` for changes about a tag (and pushes by tag), `repo@digest` otherwise. */
export function subjectOf(c: ChangeDraft): string {
  return c.tag !== undefined ? `${c.repository}:${c.tag}` : `${c.repository}@${c.digest}`;
}

export function toCloudEvent(c: StoredChange, source: string): CloudEvent {
  const data: CloudEventData = { repository: c.repository, digest: c.digest };
  if (c.mediaType !== undefined) data.mediaType = c.mediaType;
  if (c.size !== undefined) data.size = c.size;
  if (c.tag !== undefined) data.tag = c.tag;
  if (c.previousDigest !== undefined) data.previousDigest = c.previousDigest;
  if (c.from !== undefined) data.from = c.from;
  if (c.actor !== undefined) data.actor = c.actor;
  return {
    specversion: '1.0',
    id: c.id,
    source,
    type: typePrefix + c.kind,
    time: new Date(c.time).toISOString(),
    subject: subjectOf(c),
    datacontenttype: 'application/json',
    wharfseq: c.seq,
    data,
  };
}
