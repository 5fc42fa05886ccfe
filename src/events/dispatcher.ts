// The dispatcher: one worker per endpoint reads the outbox from the endpoint's cursor (stored in the database)
// and delivers each matching event in order, at least once: the cursor moves past an event only after the
// endpoint took it, so a process that dies mid-way leaves the event to be delivered again by the next holder.
// Failed deliveries are retried with exponential backoff (with jitter, bounded) for as long as it takes. A
// lease on the cursor keeps several processes sharing one database from delivering the same events at once.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import { compileGlobs } from '../auth/glob.js';
import type { EndpointConfig } from './config.js';
import { toCloudEvent, typePrefix, type CloudEvent, type StoredChange } from './model.js';
import { WebhookSink } from './webhook.js';

/** Where a worker delivers: a webhook endpoint, or an event sink of a plugin. */
export interface DeliveryTarget {
  /** Names the target's cursor in the database. */
  name: string;
  /** Delivers one event; a rejection means not delivered (retried). */
  deliver(event: CloudEvent, attempt: number, signal: AbortSignal): Promise<void>;
  /** Which events the target wants. */
  wants(c: StoredChange): boolean;
  close?(): Promise<void>;
}

/** A webhook endpoint as a delivery target. */
export function webhookTarget(endpoint: EndpointConfig): DeliveryTarget {
  const sink = new WebhookSink(endpoint);
  return { name: endpoint.name, wants: endpointFilter(endpoint), deliver: (event, attempt, signal) => sink.deliver(event, attempt, signal) };
}

export interface DispatcherOptions {
  source: string;
  pollMs: number;
  leaseMs: number;
  retry: { initialMs: number; maxMs: number };
  /** Events older than this (ms) are removed once every endpoint delivered them. */
  retentionMs: number;
  log: Logger;
  /** Events read from the outbox per query. */
  batch?: number;
}

const retentionEveryMs = 3600_000;

/** Whether an endpoint wants an event (its `include` types and `repositories` globs). */
export function endpointFilter(endpoint: EndpointConfig): (c: StoredChange) => boolean {
  const types = endpoint.include ? new Set(endpoint.include) : undefined;
  const repos = endpoint.repositories ? compileGlobs(endpoint.repositories) : undefined;
  return (c) => (types === undefined || types.has(typePrefix + c.kind)) && (repos === undefined || repos(c.repository));
}

/** The wait before retry `attempt` (1, 2, …): initial × 2^(attempt-1), at most max, then jittered to 50–100 %. */
export function backoffMs(attempt: number, retry: { initialMs: number; maxMs: number }, random: () => number = Math.random): number {
  const full = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(full * (0.5 + random() * 0.5));
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleepFor(ms, undefined, { signal });
  } catch {
    /* stopping */
  }
}

class EndpointWorker {
  /** Where this worker is in the outbox; undefined until it holds the lease. */
  private position: number | undefined;
  private renewAt = 0;

  constructor(
    private readonly endpoint: DeliveryTarget,
    private readonly store: MetadataStore,
    private readonly holder: string,
    private readonly opts: DispatcherOptions,
    private readonly signal: AbortSignal,
  ) {}

  private get log(): Logger {
    return this.opts.log;
  }

  /** Takes or renews the lease when due; false when another process holds it. */
  private async holdLease(): Promise<boolean> {
    if (this.position !== undefined && Date.now() < this.renewAt) return true;
    const at = await this.store.leaseEventCursor(this.endpoint.name, this.holder, this.opts.leaseMs);
    if (at === undefined) {
      if (this.position !== undefined) this.log.info({ endpoint: this.endpoint.name }, 'events: another process now delivers to this endpoint');
      this.position = undefined;
      return false;
    }
    // Renewing gives the stored position, which may trail events this worker skipped: they are looked at again.
    this.position = at;
    this.renewAt = Date.now() + this.opts.leaseMs / 3;
    return true;
  }

  async run(): Promise<void> {
    const batch = this.opts.batch ?? 100;
    while (!this.signal.aborted) {
      try {
        if (!(await this.holdLease())) {
          await sleep(Math.max(this.opts.pollMs, this.opts.leaseMs / 3), this.signal);
          continue;
        }
        const changes = await this.store.listEvents(this.position!, batch);
        if (changes.length === 0) {
          await sleep(this.opts.pollMs, this.signal);
          continue;
        }
        let stored = this.position!;
        for (const c of changes) {
          if (this.signal.aborted) break;
          if (this.endpoint.wants(c)) {
            if (!(await this.deliver(c))) break;
            if (!(await this.store.advanceEventCursor(this.endpoint.name, this.holder, c.seq))) {
              this.position = undefined;
              break;
            }
            stored = c.seq;
          }
          if (this.position === undefined) break;
          this.position = c.seq;
        }
        // Events this endpoint does not want: move the stored cursor past them once per batch.
        if (this.position !== undefined && this.position > stored && !(await this.store.advanceEventCursor(this.endpoint.name, this.holder, this.position))) {
          this.position = undefined;
        }
      } catch (e) {
        if (this.signal.aborted) break;
        this.log.error({ endpoint: this.endpoint.name, err: e }, 'events: reading the outbox failed; trying again');
        this.position = undefined;
        await sleep(this.opts.pollMs, this.signal);
      }
    }
  }

  /** Delivers one event, retrying until it is taken; false if stopping or the lease was lost meanwhile. */
  private async deliver(c: StoredChange): Promise<boolean> {
    const event = toCloudEvent(c, this.opts.source);
    for (let attempt = 1; !this.signal.aborted; attempt++) {
      try {
        await this.endpoint.deliver(event, attempt, this.signal);
        if (attempt > 1) this.log.info({ endpoint: this.endpoint.name, event: event.id, attempt }, 'events: delivered after retrying');
        return true;
      } catch (e) {
        if (this.signal.aborted) return false;
        const wait = backoffMs(attempt, this.opts.retry);
        this.log.warn({ endpoint: this.endpoint.name, event: event.id, seq: c.seq, attempt, retryInMs: wait, err: (e as Error).message }, 'events: delivery failed');
        await sleep(wait, this.signal);
      }
      if (!this.signal.aborted && !(await this.holdLease())) return false;
    }
    return false;
  }
}

export class EventDispatcher {
  /** Names this process in the cursor leases. */
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly stopping = new AbortController();
  private running: Promise<void>[] = [];

  constructor(
    private readonly store: MetadataStore,
    private readonly endpoints: readonly DeliveryTarget[],
    private readonly opts: DispatcherOptions,
  ) {}

  /**
   * Creates the cursors of endpoints new to the database, at the end of the outbox. Runs before the server
   * accepts requests, so that a new endpoint gets every change made after the start.
   */
  async prepare(): Promise<void> {
    for (const e of this.endpoints) await this.store.leaseEventCursor(e.name, this.holder, 0);
  }

  start(): void {
    if (this.running.length > 0) return;
    const signal = this.stopping.signal;
    this.running = this.endpoints.map((e) => new EndpointWorker(e, this.store, this.holder, this.opts, signal).run());
    this.running.push(this.retain(signal));
  }

  /** Removes events past their retention, at start and then hourly. */
  private async retain(signal: AbortSignal): Promise<void> {
    const names = this.endpoints.map((e) => e.name);
    while (!signal.aborted) {
      try {
        const removed = await this.store.pruneEvents(Date.now() - this.opts.retentionMs, names);
        if (removed > 0) this.opts.log.info({ removed }, 'events: removed events past their retention');
      } catch (e) {
        if (!signal.aborted) this.opts.log.error({ err: e }, 'events: retention failed');
      }
      await sleep(retentionEveryMs, signal);
    }
  }

  /** Stops the workers (an event being delivered is abandoned, to be delivered again) and gives up the leases. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.running);
    this.running = [];
    for (const e of this.endpoints) await this.store.releaseEventCursor(e.name, this.holder).catch(() => undefined);
    for (const e of this.endpoints) await e.close?.().catch((err: unknown) => this.opts.log.warn({ err, target: e.name }, 'events: closing a sink failed'));
  }
}
