// The crash test's workload: workers that push blobs (monolithic and chunked), push manifests, move and
// delete tags and delete manifests, recording in the ledger what the server acknowledged. A worker owns its
// tags and the manifests and blobs it pushed, so its operations on them are sequential and the expected state
// of each entity is well defined even though workers run concurrently (and share repositories).
import { Ledger, blobKey, manifestKey, tagKey, type BlobInfo, type Change, type ManifestInfo, type OpenSession, type Pending } from './crash-ledger.js';
import { InFlight, type Phase } from './in-flight.js';
import { CheckFailure, PushClient, UnexpectedResponse, expectStatus, header, parseUploadRange, requireLocation, type RawResponse } from './push-client.js';
import { Prng, pseudoRandomBytes, sha256Digest } from './random-data.js';
import type { RegistryTarget } from './registry-target.js';

export const opKinds = ['monolithic', 'chunked', 'manifest-push', 'tag-move', 'delete-digest', 'delete-tag'] as const;
export type OpKind = (typeof opKinds)[number];

const KiB = 1024;
const MiB = 1024 * KiB;

export interface CycleContext {
  cycle: number;
  ledger: Ledger;
  /** Unfinished upload sessions to check after the restart. */
  sessions: OpenSession[];
  flight: InFlight;
  target: RegistryTarget;
  /** True from the moment the kill is decided: network errors after that are the kill's doing. */
  stopping(): boolean;
}

/** The operation was cut by the kill; the worker stops for this cycle. */
class Killed extends Error {
  override name = 'Killed';
}

const networkCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'UND_ERR_SOCKET']);

export function isNetworkError(e: unknown): boolean {
  if (!(e instanceof Error) || e instanceof UnexpectedResponse || e instanceof CheckFailure) return false;
  const code = (e as NodeJS.ErrnoException).code;
  return (code !== undefined && networkCodes.has(code)) || /socket hang up|aborted/i.test(e.message);
}

function checkDigestHeader(res: RawResponse, digest: string, what: string): void {
  const got = header(res, 'docker-content-digest');
  if (got !== undefined && got !== digest) throw new CheckFailure(`${what}: ${res.request} answered Docker-Content-Digest ${got}, expected ${digest}`);
}

function checkRange(res: RawResponse, bytes: number, what: string): void {
  const range = parseUploadRange(header(res, 'range'));
  if (!range || range.minBytes > bytes || range.maxBytes < bytes) {
    throw new CheckFailure(`${what}: ${res.request} answered Range ${header(res, 'range')}, expected 0-${bytes - 1}`);
  }
}

/** Blob sizes: mostly KiB, some hundreds of KiB, a few MiB. */
function pickSize(prng: Prng, min = 1): number {
  const r = prng.next();
  const size = r < 0.6 ? prng.int(KiB, 64 * KiB) : r < 0.9 ? prng.int(64 * KiB, MiB) : prng.int(MiB, 3 * MiB);
  return Math.max(min, size);
}

export interface Piece {
  start: number;
  end: number;
}

/** Splits [0, size) into 2-5 pieces at random points. */
export function pieces(prng: Prng, size: number): Piece[] {
  const cuts = new Set<number>();
  const n = prng.int(1, 4);
  while (cuts.size < n) cuts.add(prng.int(1, size - 1));
  const points = [0, ...[...cuts].sort((a, b) => a - b), size];
  return points.slice(1).map((end, i) => ({ start: points[i]!, end }));
}

/** PATCHes one piece of an upload session and records what the server acknowledged. */
export async function patchSession(client: PushClient, session: OpenSession, bytes: Buffer, part: Piece): Promise<void> {
  session.sentBytes = part.end;
  const res = await client.patchChunk(session.location, part.start, bytes.subarray(part.start, part.end));
  expectStatus(res, 202, 'PATCH chunk');
  checkRange(res, part.end, 'PATCH chunk');
  session.location = requireLocation(res, 'PATCH chunk');
  session.ackedBytes = part.end;
}

export function buildManifest(config: BlobInfo, layers: BlobInfo[], id: string): Buffer {
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
    annotations: { 'org.example.wharf.crash-test.id': id },
  };
  return Buffer.from(JSON.stringify(manifest));
}

export class Worker {
  readonly client: PushClient;
  private counter = 0;

  constructor(
    readonly id: number,
    readonly repo: string,
    readonly tagNames: readonly string[],
    readonly prng: Prng,
    readonly runSeed: number,
    baseUrl: string,
    /** The image config blob every manifest of this repository uses (pushed before the first cycle). */
    readonly config: BlobInfo,
  ) {
    this.client = new PushClient(baseUrl, 20_000);
  }

  /** Issues operations until the kill; resolves when an operation was cut by it. */
  async run(ctx: CycleContext, bias: OpKind | undefined): Promise<void> {
    while (!ctx.stopping()) {
      try {
        await this.perform(this.chooseOp(bias), ctx);
      } catch (e) {
        if (e instanceof Killed) return;
        throw e;
      }
    }
  }

  /** Builds some state before the first kill: blobs, and manifests under tags. */
  async warmUp(ctx: CycleContext): Promise<void> {
    for (const kind of ['monolithic', 'chunked', 'monolithic', 'chunked', 'manifest-push', 'manifest-push', 'manifest-push'] as const) {
      await this.perform(kind, ctx);
    }
  }

  private chooseOp(bias: OpKind | undefined): OpKind {
    const weights: Record<OpKind, number> = { monolithic: 3, chunked: 3, 'manifest-push': 2, 'tag-move': 2, 'delete-digest': 1, 'delete-tag': 1 };
    if (bias) weights[bias] *= 6;
    return this.prng.weighted(weights);
  }

  private perform(kind: OpKind, ctx: CycleContext): Promise<void> {
    switch (kind) {
      case 'monolithic':
        return this.monolithicUpload(ctx);
      case 'chunked':
        return this.chunkedUpload(ctx);
      case 'manifest-push':
        return this.pushManifest(ctx);
      case 'tag-move':
        return this.moveTag(ctx);
      case 'delete-digest':
        return this.deleteManifest(ctx);
      case 'delete-tag':
        return this.deleteTag(ctx);
    }
  }

  private track<T>(ctx: CycleContext, phase: Phase, send: () => Promise<T>): Promise<T> {
    return ctx.flight.track(phase, send);
  }

  /** Runs the request(s) of an operation; acknowledges it on success, abandons it if the kill cut it. */
  private async settle(ctx: CycleContext, pending: Pending, attempt: () => Promise<void>): Promise<void> {
    try {
      await attempt();
    } catch (e) {
      if (ctx.stopping() && isNetworkError(e)) {
        pending.abandon();
        throw new Killed(pending.describe());
      }
      throw e;
    }
    pending.ack();
  }

  private newBlob(ctx: CycleContext, minSize = 1): BlobInfo {
    const n = this.counter++;
    const seed = `crash/${this.runSeed}/w${this.id}/b${n}`;
    const blob: BlobInfo = { repo: this.repo, digest: '', size: pickSize(this.prng, minSize), seed, owner: this.id };
    blob.digest = sha256Digest(pseudoRandomBytes(seed, blob.size));
    ctx.ledger.addBlob(blob);
    return blob;
  }

  private async monolithicUpload(ctx: CycleContext): Promise<void> {
    const blob = this.newBlob(ctx);
    const bytes = pseudoRandomBytes(blob.seed, blob.size);
    const pending = ctx.ledger.begin(`monolithic upload by worker ${this.id}`, [{ kind: 'blob', key: blobKey(blob.repo, blob.digest), to: 'present' }]);
    await this.settle(ctx, pending, async () => {
      let res = await this.track(ctx, 'monolithic', () => this.client.monolithicUpload(this.repo, blob.digest, bytes));
      if (res.status === 202 && !ctx.target.singlePostUpload) {
        const location = requireLocation(res, 'single-POST upload (ignored digest)');
        res = await this.track(ctx, 'complete', () => this.client.completeUpload(location, blob.digest, bytes));
      }
      expectStatus(res, 201, 'monolithic upload');
      checkDigestHeader(res, blob.digest, 'monolithic upload');
    });
  }

  private async chunkedUpload(ctx: CycleContext): Promise<void> {
    const blob = this.newBlob(ctx, 16 * KiB);
    const bytes = pseudoRandomBytes(blob.seed, blob.size);
    const parts = pieces(this.prng, blob.size);
    const last = this.prng.chance(0.4) ? parts.pop() : undefined;
    let session: OpenSession | undefined;
    try {
      const started = expectStatus(await this.track(ctx, 'upload-start', () => this.client.startUpload(this.repo)), 202, 'start upload');
      session = { origin: `worker ${this.id}, cycle ${ctx.cycle}`, location: requireLocation(started, 'start upload'), blob, ackedBytes: 0, sentBytes: 0 };
      for (const part of parts) await this.patch(ctx, session, bytes, part);
      session.sentBytes = blob.size;
      await this.completeChunked(ctx, session, last && bytes.subarray(last.start, last.end));
    } catch (e) {
      const cut = e instanceof Killed || (ctx.stopping() && isNetworkError(e));
      if (!cut) throw e;
      if (session) ctx.sessions.push({ ...session, origin: `${session.origin}, cut during ${session.sentBytes === blob.size ? 'the completing PUT' : 'a PATCH'}` });
      throw e instanceof Killed ? e : new Killed(`chunked upload of ${blob.digest}`);
    }
  }

  private patch(ctx: CycleContext, session: OpenSession, bytes: Buffer, part: Piece): Promise<void> {
    return this.track(ctx, 'patch', () => patchSession(this.client, session, bytes, part));
  }

  private async completeChunked(ctx: CycleContext, session: OpenSession, lastChunk: Buffer | undefined): Promise<void> {
    const { blob } = session;
    const pending = ctx.ledger.begin(`chunked upload completion by worker ${this.id}`, [{ kind: 'blob', key: blobKey(blob.repo, blob.digest), to: 'present' }]);
    await this.settle(ctx, pending, async () => {
      const res = await this.track(ctx, 'complete', () => this.client.completeUpload(session.location, blob.digest, lastChunk));
      expectStatus(res, 201, 'complete upload');
      checkDigestHeader(res, blob.digest, 'complete upload');
    });
  }

  private async pushManifest(ctx: CycleContext): Promise<void> {
    const blobs = ctx.ledger.presentBlobs(this.id, this.repo);
    if (blobs.length === 0) return;
    const layers = [...new Set(Array.from({ length: this.prng.int(1, 3) }, () => this.prng.pick(blobs)))];
    const bytes = buildManifest(this.config, layers, `${this.runSeed}/w${this.id}/m${this.counter++}`);
    const manifest: ManifestInfo = { repo: this.repo, digest: sha256Digest(bytes), bytes, owner: this.id };
    ctx.ledger.addManifest(manifest);
    const tag = this.prng.chance(0.2) ? undefined : this.prng.pick(this.tagNames);
    const changes: Change[] = [{ kind: 'manifest', key: manifestKey(this.repo, manifest.digest), to: 'present' }];
    if (tag) changes.push({ kind: 'tag', key: tagKey(this.repo, tag), to: manifest.digest });
    const pending = ctx.ledger.begin(`manifest push by worker ${this.id}`, changes);
    await this.settle(ctx, pending, async () => {
      const res = await this.track(ctx, 'manifest-push', () => this.client.putManifest(this.repo, tag ?? manifest.digest, bytes));
      expectStatus(res, 201, 'manifest push');
      checkDigestHeader(res, manifest.digest, 'manifest push');
    });
  }

  private async moveTag(ctx: CycleContext): Promise<void> {
    const tags = ctx.ledger.pinnedTags(this.id, this.repo);
    const manifests = ctx.ledger.presentManifests(this.id, this.repo);
    const set = tags.filter((t) => t.value !== null);
    const tag = set.length > 0 ? this.prng.pick(set) : tags.length > 0 ? this.prng.pick(tags) : undefined;
    const others = manifests.filter((m) => m.digest !== tag?.value);
    if (!tag || others.length === 0) return;
    const to = this.prng.pick(others);
    const pending = ctx.ledger.begin(`tag move by worker ${this.id}`, [{ kind: 'tag', key: tagKey(this.repo, tag.info.tag), to: to.digest }]);
    await this.settle(ctx, pending, async () => {
      const res = await this.track(ctx, 'tag-move', () => this.client.putManifest(this.repo, tag.info.tag, to.bytes));
      expectStatus(res, 201, 'tag move');
      checkDigestHeader(res, to.digest, 'tag move');
    });
  }

  private async deleteManifest(ctx: CycleContext): Promise<void> {
    const manifests = ctx.ledger.presentManifests(this.id, this.repo);
    if (manifests.length === 0) return;
    const victim = this.prng.pick(manifests);
    const changes: Change[] = [
      { kind: 'manifest', key: manifestKey(this.repo, victim.digest), to: 'absent' },
      ...ctx.ledger.tagsPointingAt(this.repo, victim.digest).map((key): Change => ({ kind: 'tag', key, to: null })),
    ];
    const pending = ctx.ledger.begin(`manifest delete by worker ${this.id}`, changes);
    await this.settle(ctx, pending, async () => {
      const res = await this.track(ctx, 'delete-digest', () => this.client.deleteManifest(this.repo, victim.digest));
      expectStatus(res, 202, 'delete manifest by digest');
    });
  }

  private async deleteTag(ctx: CycleContext): Promise<void> {
    const set = ctx.ledger.pinnedTags(this.id, this.repo).filter((t) => t.value !== null);
    if (set.length === 0) return;
    const tag = this.prng.pick(set);
    // Distribution 2.8 cannot delete a tag (400 DIGEST_INVALID); tolerated only when checking the harness against it.
    const changes: Change[] = ctx.target.deletesTags ? [{ kind: 'tag', key: tagKey(this.repo, tag.info.tag), to: null }] : [];
    const pending = ctx.ledger.begin(`tag delete by worker ${this.id}`, changes);
    await this.settle(ctx, pending, async () => {
      const res = await this.track(ctx, 'delete-tag', () => this.client.deleteManifest(this.repo, tag.info.tag));
      expectStatus(res, ctx.target.deletesTags ? 202 : 400, 'delete tag');
    });
  }
}
