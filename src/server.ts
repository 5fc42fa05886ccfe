// Starts a registry from a resolved configuration: storage, metadata, the HTTP listener; and stops it gracefully.
import { createServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHTTPSServer, type Server as HTTPSServer } from 'node:https';
import { pino, type Logger } from 'pino';
import type { ResolvedConfig } from './config/schema.js';
import { openStorage } from './storage/index.js';
import { openMetadata } from './metadata/index.js';
import { Registry } from './registry/index.js';
import { createApp } from './http/app.js';
import { openAuth } from './auth/index.js';
import { loadPlugins } from './plugins/loader.js';
import { AdmissionHook } from './admission/hook.js';
import { RequestLimits } from './http/limits.js';
import { httpsServerOptions, watchTLSFiles } from './server-tls.js';
import { startGcSchedule, type GcSchedule } from './gc/scheduler.js';
import { startRetentionSchedule } from './registry/retention-schedule.js';
import { parseDuration } from './gc/duration.js';
import { WharfMetrics } from './observability/metrics.js';
import { HealthChecks } from './observability/health.js';
import { timeMetadata } from './observability/metadata-timing.js';
import { startDebugServer, type DebugServer } from './observability/debug-server.js';
import { Events } from './events/index.js';
import { listenOn } from './listen.js';

export interface RunningRegistry {
  url: string;
  registry: Registry;
  server: Server;
  log: Logger;
  /** This instance's Prometheus metrics (served on the debug listener). */
  metrics: WharfMetrics;
  /** The debug listener's http://HOST:PORT (metrics and health), when `debug.listen` is set. */
  debugURL?: string;
  /** Stops accepting, lets in-flight requests finish (bounded by the shutdown timeout), closes the stores. */
  close(): Promise<void>;
}

export function createLogger(config: ResolvedConfig): Logger {
  return pino({ level: config.log.level, base: { service: 'wharf' } });
}

/**
 * Node's own limits: header size (431 beyond it), time to send the headers (counted from the connection or the
 * previous response, so a slow-loris client is cut off however it trickles), and the whole-request time.
 * Body idleness is bounded per request by http/limits.ts, connection idleness by server.timeout.
 */
function nodeHTTPOptions(config: ResolvedConfig): ServerOptions {
  const requestTimeout = config.http.requestTimeoutSeconds * 1000;
  const headersTimeout = requestTimeout > 0 ? Math.min(config.http.headersTimeoutSeconds * 1000, requestTimeout) : config.http.headersTimeoutSeconds * 1000;
  return {
    requestTimeout, // 0 by default: uploads of many GiB take as long as they take; idleness is bounded instead
    headersTimeout,
    // How often node looks for connections past those timeouts (its default, 30 s, would double them).
    connectionsCheckingInterval: Math.min(Math.max(Math.round(headersTimeout / 10), 100), 5000),
    keepAliveTimeout: 5000,
    maxHeaderSize: config.http.maxHeaderBytes,
  };
}

export async function startRegistry(config: ResolvedConfig, log: Logger = createLogger(config)): Promise<RunningRegistry> {
  const httpOptions = nodeHTTPOptions(config);
  // Read first: a missing or mismatched certificate stops the start before any store is opened.
  const tlsOptions = config.tls ? httpsServerOptions(config.tls, httpOptions.headersTimeout!) : undefined;
  // Process metrics only when someone can scrape them (the debug listener is on).
  const metrics = new WharfMetrics({ processMetrics: config.debug.listen !== undefined });
  // Plugins first: they may supply the storage driver, the metadata store, auth providers and event sinks.
  const plugins = await loadPlugins(config.plugins, { dataDir: config.data, log });
  if (plugins.plugins.length > 0) log.info({ plugins: plugins.plugins }, `plugins loaded: ${plugins.plugins.map((p) => p.entry).join(', ')}`);
  const storage = await openStorage(config.storage, config.storageOptions, metrics.storageCall);
  const metadata = timeMetadata(await openMetadata(config.metadata), metrics.metadataCall);
  const admission = config.admission && new AdmissionHook(config.admission, { storage, metadata, log });
  const registry = new Registry(storage, metadata, { maxManifestBytes: config.limits.maxManifestBytes, lifecycle: config.lifecycle, admission });
  const limits = new RequestLimits({
    uploadsPerClient: config.limits.uploadsPerClient,
    maxInFlightRequests: config.limits.maxInFlightRequests,
    bodyIdleTimeoutMs: config.http.bodyIdleTimeoutSeconds * 1000,
    connectionIdleTimeoutMs: config.http.idleTimeoutSeconds * 1000,
  });
  let auth;
  try {
    auth = openAuth(config.auth, { metadata, dataDir: config.data, log, providers: plugins.authProviders });
  } catch (e) {
    await registry.close();
    throw e;
  }
  const health = new HealthChecks(storage, metadata);
  const events = new Events(config.events, metadata, { log, readOnly: config.readOnly, sinks: plugins.eventSinks });
  try {
    await events.prepare();
  } catch (e) {
    await registry.close();
    throw e;
  }
  const app = createApp({ registry, log, readOnly: config.readOnly, limits, auth, metrics, health, events });
  const server: Server = tlsOptions ? createHTTPSServer({ ...httpOptions, ...tlsOptions }, app) : createServer(httpOptions, app);
  const stopWatchingTLS = config.tls ? watchTLSFiles(server as HTTPSServer, config.tls, log) : () => undefined;
  server.timeout = config.http.idleTimeoutSeconds * 1000;
  const url = `${config.tls ? 'https' : 'http'}://${await listenOn(server, config.listen)}`;
  log.info(
    { url, storage: storage.name, metadata: config.metadata.split(':', 1)[0], data: config.data, readOnly: config.readOnly || undefined },
    `wharf listening on ${url}${config.readOnly ? ' (read-only)' : ''}`,
  );
  let debug: DebugServer | undefined;
  if (config.debug.listen !== undefined) {
    try {
      debug = await startDebugServer(config.debug.listen, { metrics, health, log });
    } catch (e) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      stopWatchingTLS();
      await registry.close();
      throw new Error(`cannot start the debug listener on ${config.debug.listen}: ${(e as Error).message}`, { cause: e });
    }
  }

  // Garbage collection on a schedule (docs/gc.md); never in read-only mode, which promises no writes.
  const gc: GcSchedule | undefined =
    !config.readOnly && config.gc.intervalMinutes > 0
      ? startGcSchedule(storage, metadata, {
          intervalMs: config.gc.intervalMinutes * 60_000,
          graceMs: parseDuration(config.gc.grace),
          uploadMaxAgeMs: parseDuration(config.gc.uploadMaxAge),
          log,
          onPass: (report) => metrics.gcRun(report),
        })
      : undefined;
  // Retention rules on a schedule (docs/lifecycle.md); never in read-only mode either.
  const retention =
    !config.readOnly && config.lifecycle.retentionIntervalMinutes > 0 && config.lifecycle.retention.length > 0
      ? startRetentionSchedule(registry.retention, { intervalMs: config.lifecycle.retentionIntervalMinutes * 60_000, log })
      : undefined;
  // Webhook delivery from the outbox (docs/events.md); not in read-only mode.
  events.start();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      stopWatchingTLS();
      await debug?.close();
      await gc?.stop();
      await retention?.stop();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      // Responses from now on close their connection; connections that turn idle are closed as they do.
      server.prependListener('request', (_req, res) => res.setHeader('Connection', 'close'));
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), config.http.shutdownTimeoutSeconds * 1000);
      await done;
      clearInterval(sweep);
      clearTimeout(timer);
      await events.close();
      await registry.close();
    })());
  return { url, registry, server, log, metrics, ...(debug ? { debugURL: debug.url } : {}), close };
}
