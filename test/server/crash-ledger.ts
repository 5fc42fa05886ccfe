// What the crash test's clients were told. Every blob, manifest and tag the workload touches has a
// set of allowed observable values: one value once an operation on it was acknowledged (2xx received),
// the old and the new value when the operation was in flight at a kill. Verification after a restart
// checks what the server shows against that set, then pins the entity to what it showed: from then on
// the state must survive every later crash.

export type Presence = 'present' | 'absent';
/** A tag's value: the digest of the manifest it points at, or null when it does not exist. */
export type TagValue = string | null;

export interface BlobInfo {
  repo: string;
  digest: string;
  size: number;
  /** Seed of the pseudo-random content (see random-data.ts), to regenerate the bytes. */
  seed: string;
  owner: number;
}

export interface ManifestInfo {
  repo: string;
  digest: string;
  bytes: Buffer;
  owner: number;
}

export interface TagInfo {
  repo: string;
  tag: string;
  owner: number;
}

interface Fact<I, V> {
  info: I;
  allowed: V[];
  /** Changed (or ambiguous) since the last verification: verify the full content. */
  fresh: boolean;
}

export type Change =
  | { kind: 'blob'; key: string; to: Presence }
  | { kind: 'manifest'; key: string; to: Presence }
  | { kind: 'tag'; key: string; to: TagValue };

export const blobKey = (repo: string, digest: string): string => `${repo}@${digest}`;
export const manifestKey = (repo: string, digest: string): string => `${repo}@${digest}`;
export const tagKey = (repo: string, tag: string): string => `${repo}:${tag}`;

function union<V>(a: readonly V[], b: readonly V[]): V[] {
  return [...new Set([...a, ...b])];
}

/** An operation whose outcome is not known yet: acknowledge it or abandon it (in flight at a kill). */
export interface Pending {
  ack(): void;
  abandon(): void;
  describe(): string;
}

export class Ledger {
  readonly blobs = new Map<string, Fact<BlobInfo, Presence>>();
  readonly manifests = new Map<string, Fact<ManifestInfo, Presence>>();
  readonly tags = new Map<string, Fact<TagInfo, TagValue>>();

  addBlob(info: BlobInfo, initially: Presence = 'absent'): void {
    const key = blobKey(info.repo, info.digest);
    if (!this.blobs.has(key)) this.blobs.set(key, { info, allowed: [initially], fresh: true });
  }

  addManifest(info: ManifestInfo): void {
    const key = manifestKey(info.repo, info.digest);
    if (!this.manifests.has(key)) this.manifests.set(key, { info, allowed: ['absent'], fresh: true });
  }

  addTag(info: TagInfo): void {
    const key = tagKey(info.repo, info.tag);
    if (!this.tags.has(key)) this.tags.set(key, { info, allowed: [null], fresh: true });
  }

  /** Starts an operation. Every entity it changes must be registered and pinned (one allowed value). */
  begin(label: string, changes: Change[]): Pending {
    const facts = changes.map((c) => ({ change: c, fact: this.fact(c) }));
    for (const { change, fact } of facts) {
      if (fact.allowed.length !== 1) throw new Error(`ledger: ${label} changes ${change.key}, whose state is still ambiguous`);
    }
    const old = facts.map(({ fact }) => [...fact.allowed]);
    let settled = false;
    const settle = (apply: (fact: Fact<unknown, unknown>, to: unknown, before: unknown[]) => void) => {
      if (settled) throw new Error(`ledger: ${label} settled twice`);
      settled = true;
      facts.forEach(({ change, fact }, i) => {
        apply(fact as Fact<unknown, unknown>, change.to, old[i]!);
        fact.fresh = true;
      });
    };
    return {
      ack: () => settle((fact, to) => (fact.allowed = [to])),
      abandon: () => settle((fact, to, before) => (fact.allowed = union(before, [to]))),
      describe: () => `${label}: ${changes.map((c) => `${c.kind} ${c.key} -> ${c.to}`).join(', ')}`,
    };
  }

  private fact(c: Change): Fact<unknown, unknown> {
    const map: Map<string, Fact<unknown, unknown>> = c.kind === 'blob' ? this.blobs : c.kind === 'manifest' ? this.manifests : this.tags;
    const fact = map.get(c.key);
    if (!fact) throw new Error(`ledger: unknown ${c.kind} ${c.key}`);
    return fact;
  }

  /** The single value of a pinned fact, or undefined while it is ambiguous. */
  static pinned<V>(fact: { allowed: V[] }): V | undefined {
    return fact.allowed.length === 1 ? fact.allowed[0] : undefined;
  }

  presentBlobs(owner: number, repo: string): BlobInfo[] {
    return [...this.blobs.values()].filter((f) => f.info.owner === owner && f.info.repo === repo && Ledger.pinned(f) === 'present').map((f) => f.info);
  }

  presentManifests(owner: number, repo: string): ManifestInfo[] {
    return [...this.manifests.values()]
      .filter((f) => f.info.owner === owner && f.info.repo === repo && Ledger.pinned(f) === 'present')
      .map((f) => f.info);
  }

  /** The worker's tags with their pinned values (ambiguous tags are left out). */
  pinnedTags(owner: number, repo: string): { info: TagInfo; value: TagValue }[] {
    const out: { info: TagInfo; value: TagValue }[] = [];
    for (const f of this.tags.values()) {
      if (f.info.owner !== owner || f.info.repo !== repo || f.allowed.length !== 1) continue;
      out.push({ info: f.info, value: f.allowed[0]! });
    }
    return out;
  }

  /** Tag keys whose pinned value is `digest` in `repo`. */
  tagsPointingAt(repo: string, digest: string): string[] {
    return [...this.tags.entries()].filter(([, f]) => f.info.repo === repo && f.allowed.includes(digest)).map(([k]) => k);
  }

  markAllVerified(): void {
    for (const map of [this.blobs, this.manifests, this.tags] as Map<string, Fact<unknown, unknown>>[]) {
      for (const f of map.values()) f.fresh = false;
    }
  }

  counts(): string {
    const count = <V>(m: Map<string, Fact<unknown, V>>, v: V) => [...m.values()].filter((f) => f.allowed.length === 1 && f.allowed[0] === v).length;
    const tagsSet = [...this.tags.values()].filter((f) => f.allowed.length === 1 && f.allowed[0] !== null).length;
    return `${count(this.blobs, 'present')} blobs present, ${count(this.blobs, 'absent')} absent; ${count(this.manifests, 'present')} manifests present, ${count(
      this.manifests,
      'absent',
    )} deleted; ${tagsSet} tags set`;
  }
}

/** A chunked upload that was left unfinished by a kill (or on purpose), to check after the restart. */
export interface OpenSession {
  origin: string;
  /** The last Location the server gave for it. */
  location: string;
  blob: BlobInfo;
  /** Bytes the server acknowledged (last Range). */
  ackedBytes: number;
  /** Bytes sent, including a PATCH that was in flight at the kill. */
  sentBytes: number;
  /** The Range the restarted server reported for it. */
  rangeAfterRestart?: string;
}
