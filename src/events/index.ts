// Events as the server uses them: the dispatcher (webhook delivery), pull recording and the change feed, from
// the `events` configuration. docs/events.md describes the whole.
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import type { EventsConfig } from './config.js';
import { EventDispatcher, webhookTarget, type DeliveryTarget } from './dispatcher.js';
import type { CloudEvent } from './model.js';
import { readFeed, type FeedPage } from './feed.js';
import { pullChange } from './outbox.js';

export { eventsSchema, type EventsConfig, type EndpointConfig } from './config.js';
export { runAs, currentActor } from './actor.js';

export interface EventsOptions {
  log: Logger;
  /** Read-only mode promises no writes: no delivery (cursors), no pull events, no retention. */
  readOnly?: boolean;
  /** Event sinks of plugins (src/plugins/): each gets every event, at least once, in order (cursor `plugin:NAME`). */
  sinks?: readonly PluginSink[];
}

/** What a plugin's event sink provides (the shape src/plugins/api.ts declares as EventSink). */
export interface PluginSink {
  readonly name: string;
  deliver(event: CloudEvent): Promise<void>;
  close?(): Promise<void>;
}

function pluginTarget(sink: PluginSink): DeliveryTarget {
  const target: DeliveryTarget = { name: `plugin:${sink.name}`, wants: () => true, deliver: (event) => sink.deliver(event) };
  if (sink.close) target.close = () => sink.close!();
  return target;
}

export class Events {
  readonly dispatcher: EventDispatcher | undefined;

  constructor(
    readonly config: EventsConfig,
    private readonly store: MetadataStore,
    private readonly opts: EventsOptions,
  ) {
    this.dispatcher = opts.readOnly
      ? undefined
      : new EventDispatcher(store, [...config.endpoints.map(webhookTarget), ...(opts.sinks ?? []).map(pluginTarget)], {
          source: config.source,
          pollMs: config.pollSeconds * 1000,
          leaseMs: config.leaseSeconds * 1000,
          retry: { initialMs: config.retry.initialSeconds * 1000, maxMs: config.retry.maxSeconds * 1000 },
          retentionMs: config.retentionDays * 86_400_000,
          log: opts.log,
        });
  }

  /** Before the server listens: the cursors of new endpoints (see EventDispatcher.prepare). */
  async prepare(): Promise<void> {
    await this.dispatcher?.prepare();
  }

  start(): void {
    this.dispatcher?.start();
  }

  /** Records a manifest GET when `includePulls` is on. Never fails the pull: a failed write is logged. */
  async recordPull(repository: string, reference: string, manifest: { digest: string; mediaType: string; size: number }, actor: string | undefined): Promise<void> {
    if (!this.config.includePulls || this.opts.readOnly) return;
    const tag = reference.includes(':') ? undefined : reference;
    try {
      await this.store.appendEvents([pullChange(repository, manifest, tag, actor)]);
    } catch (e) {
      this.opts.log.warn({ err: e, repository, digest: manifest.digest }, 'events: recording a pull failed');
    }
  }

  feed(since: number, limit: number, visible: (repository: string) => boolean): Promise<FeedPage> {
    return readFeed(this.store, since, limit, visible, this.config.source);
  }

  async close(): Promise<void> {
    await this.dispatcher?.stop();
  }
}
