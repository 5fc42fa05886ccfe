// Prometheus metrics of one server instance (its own prom-client Registry, never the global one, so several
// servers can run in one process). Every label value comes from a fixed table (endpoint ids, HTTP methods,
// status codes, storage operations), never from a raw path: the number of series stays bounded.
// The per-request path is kept cheap: the cells of an endpoint and method are found once and cached, and a
// request adds to plain numbers (series.ts); the scrape formats them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallHook } from '../storage/checked.js';
import type { MetadataHook } from './metadata-timing.js';
import { CounterFamily, HistogramFamily, type HistogramCells } from './series.js';
import { StorageError } from '../storage/driver.js';

/** What the garbage collector reports after each pass (see `WharfMetrics.gcRun`). */
export interface GcRunReport {
  /** Bytes of blobs deleted from storage. */
  bytes: number;
  /** Blobs deleted. */
  blobs: number;
  /** How long the pass took, in milliseconds. */
  ms: number;
  /** True when the pass ended with an error (what it reclaimed before the error still counts). */
  failed?: boolean;
}

export interface MetricsOptions {
  /** Also export the process metrics of prom-client (CPU, memory, event loop lag, GC), prefixed `wharf_`. */
  processMetrics?: boolean;
}

/** Endpoint ids outside the distribution table (oci/routes.ts) that the HTTP layer labels requests with. */
export type ExtraEndpoint = 'token' | 'apiKeys' | 'events' | 'healthz' | 'readyz' | 'discover' | 'unknown';

const methods = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);

/** Request methods outside the known set share one label value. */
function methodLabel(method: string | undefined): string {
  return method !== undefined && methods.has(method) ? method : 'other';
}

/** Endpoints whose POST, PATCH and PUT carry blob bytes: they count as uploads in progress while they run. */
const uploadEndpoints = new Set(['uploadStart', 'upload']);

/** Seconds; from a cached manifest GET (sub-millisecond) to a multi-GiB blob stream. */
const requestBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const storageBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const gcBuckets = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/** The cells one endpoint and method record into, found once per request by a Map lookup. */
interface BoundRequest {
  duration: HistogramCells;
  received: { value: number };
  sent: { value: number };
  /** Request counters by status code. */
  byStatus: Map<number, { value: number }>;
  endpoint: string;
  method: string;
}

/** Per socket: how many bytes were read and written when its previous request was accounted for. */
interface SocketMark {
  read: number;
  written: number;
}

export class WharfMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  private readonly requests = new CounterFamily(this.registry, 'wharf_http_requests_total', 'HTTP requests answered, by endpoint id, method and status code.');
  private readonly requestSeconds = new HistogramFamily(
    this.registry,
    'wharf_http_request_duration_seconds',
    'Time from the request head to the end of the response (or the client going away), by endpoint id and method.',
    requestBuckets,
  );
  private readonly receivedBytes = new CounterFamily(this.registry, 'wharf_http_received_bytes_total', 'Bytes read from clients (request heads and bodies, as on the connection), by endpoint id.');
  private readonly sentBytes = new CounterFamily(this.registry, 'wharf_http_sent_bytes_total', 'Bytes written to clients (response heads and bodies, as on the connection), by endpoint id.');
  private inFlightNow = 0;
  private uploadsNow = 0;
  private readonly storageSeconds = new HistogramFamily(
    this.registry,
    'wharf_storage_operation_duration_seconds',
    'Storage driver calls, by driver and operation (for reader and writer: until the stream is open).',
    storageBuckets,
  );
  private readonly storageErrors = new CounterFamily(
    this.registry,
    'wharf_storage_operation_errors_total',
    'Storage driver calls that failed, by driver, operation and error kind (not-found is often expected, e.g. HEAD of a missing blob).',
  );
  private readonly gcRuns = new Counter({
    name: 'wharf_gc_runs_total',
    help: 'Garbage collection passes, by result (ok or failed).',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly gcBytes = new Counter({
    name: 'wharf_gc_reclaimed_bytes_total',
    help: 'Bytes of blobs deleted by garbage collection.',
    registers: [this.registry],
  });
  private readonly gcBlobs = new Counter({
    name: 'wharf_gc_deleted_blobs_total',
    help: 'Blobs deleted by garbage collection.',
    registers: [this.registry],
  });
  private readonly gcSeconds = new Histogram({
    name: 'wharf_gc_duration_seconds',
    help: 'Duration of garbage collection passes.',
    buckets: gcBuckets,
    registers: [this.registry],
  });
  private readonly gcLast = new Gauge({
    name: 'wharf_gc_last_run_timestamp_seconds',
    help: 'Unix time at which the last garbage collection pass ended.',
    registers: [this.registry],
  });

  /** endpoint → method → cells. */
  private readonly metadataSeconds = new HistogramFamily(this.registry, 'wharf_metadata_operation_duration_seconds', 'Metadata store calls, by method of the MetadataStore interface.', storageBuckets);
  private readonly metadataErrors = new CounterFamily(this.registry, 'wharf_metadata_operation_errors_total', 'Metadata store calls that failed, by method.');
  private readonly boundMetadata = new Map<string, HistogramCells>();

  private readonly boundRequests = new Map<string, Map<string, BoundRequest>>();
  private readonly boundStorage = new Map<string, HistogramCells>();
  private readonly socketMarks = new WeakMap<Socket, SocketMark>();

  constructor(options: MetricsOptions = {}) {
    const metrics = this;
    new Gauge({
      name: 'wharf_http_requests_in_flight',
      help: 'HTTP requests being served now.',
      registers: [this.registry],
      collect() {
        this.set(metrics.inFlightNow);
      },
    });
    new Gauge({
      name: 'wharf_uploads_in_progress',
      help: 'Requests streaming blob bytes into an upload now (POST, PATCH and PUT on upload endpoints).',
      registers: [this.registry],
      collect() {
        this.set(metrics.uploadsNow);
      },
    });
    for (const result of ['ok', 'failed']) this.gcRuns.inc({ result }, 0);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'wharf_' });
  }

  /** The text exposition format, for GET /metrics. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Starts accounting for one request: counted in flight now, and as a request (with its duration and bytes)
   * when the response closes. Tell it the endpoint with `route` once it is known.
   */
  track(req: IncomingMessage, res: ServerResponse, started: number): RequestTracker {
    return new RequestTracker(this, req, res, started);
  }

  /** The storage hook (storage/checked.ts): latency of every driver call, and its errors by kind. */
  readonly storageCall: CallHook = (driver, op, ms, error) => {
    const key = `${driver}\0${op}`;
    let cells = this.boundStorage.get(key);
    if (cells === undefined) {
      cells = this.storageSeconds.cell(key, { driver, operation: op });
      this.boundStorage.set(key, cells);
    }
    cells.observe(ms / 1000);
    if (error !== undefined) {
      const kind = error instanceof StorageError ? error.kind : 'io';
      this.storageErrors.cell(`${key}\0${kind}`, { driver, operation: op, kind }).value += 1;
    }
  };

  /** The metadata hook (metadata-timing.ts): latency of every metadata store call, and its failures. */
  readonly metadataCall: MetadataHook = (operation, ms, failed) => {
    let cells = this.boundMetadata.get(operation);
    if (cells === undefined) {
      cells = this.metadataSeconds.cell(operation, { operation });
      this.boundMetadata.set(operation, cells);
    }
    cells.observe(ms / 1000);
    if (failed) this.metadataErrors.cell(operation, { operation }).value += 1;
  };

  /** For the garbage collector: call once after every pass, failed or not. */
  gcRun(report: GcRunReport): void {
    this.gcRuns.labels(report.failed ? 'failed' : 'ok').inc();
    if (report.bytes > 0) this.gcBytes.inc(report.bytes);
    if (report.blobs > 0) this.gcBlobs.inc(report.blobs);
    this.gcSeconds.observe(report.ms / 1000);
    this.gcLast.set(Date.now() / 1000);
  }

  /** @internal */
  enter(): void {
    this.inFlightNow += 1;
  }

  /** @internal */
  uploadStarted(): void {
    this.uploadsNow += 1;
  }

  /** @internal Called by RequestTracker when the response closes. */
  finish(endpoint: string, method: string | undefined, status: number, seconds: number, socket: Socket | null, upload: boolean): void {
    this.inFlightNow -= 1;
    if (upload) this.uploadsNow -= 1;
    const m = methodLabel(method);
    let byMethod = this.boundRequests.get(endpoint);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.boundRequests.set(endpoint, byMethod);
    }
    let bound = byMethod.get(m);
    if (bound === undefined) {
      const key = `${endpoint}\0${m}`;
      bound = {
        duration: this.requestSeconds.cell(key, { endpoint, method: m }),
        received: this.receivedBytes.cell(endpoint, { endpoint }),
        sent: this.sentBytes.cell(endpoint, { endpoint }),
        byStatus: new Map(),
        endpoint,
        method: m,
      };
      byMethod.set(m, bound);
    }
    let counter = bound.byStatus.get(status);
    if (counter === undefined) {
      counter = this.requests.cell(`${endpoint}\0${m}\0${status}`, { endpoint, method: m, status: String(status) });
      bound.byStatus.set(status, counter);
    }
    counter.value += 1;
    bound.duration.observe(seconds);
    if (socket) {
      // Bytes on the connection since the previous request on it was accounted for: exact in total over
      // a connection, and per request as long as clients do not pipeline.
      const read = socket.bytesRead;
      const written = socket.bytesWritten;
      const mark = this.socketMarks.get(socket);
      if (mark === undefined) {
        this.socketMarks.set(socket, { read, written });
        bound.received.value += read;
        bound.sent.value += written;
      } else {
        if (read > mark.read) bound.received.value += read - mark.read;
        if (written > mark.written) bound.sent.value += written - mark.written;
        mark.read = read;
        mark.written = written;
      }
    }
  }
}

/** The accounting of one request (see WharfMetrics.track). */
export class RequestTracker {
  private endpoint = 'unknown';
  private upload = false;

  constructor(
    private readonly metrics: WharfMetrics,
    private readonly req: IncomingMessage,
    res: ServerResponse,
    private readonly started: number,
  ) {
    metrics.enter();
    res.once('close', () => this.metrics.finish(this.endpoint, req.method, res.statusCode, (performance.now() - this.started) / 1000, req.socket, this.upload));
  }

  /** Labels the request with its endpoint id (from oci/routes.ts, or an ExtraEndpoint). */
  route(endpoint: string): void {
    this.endpoint = endpoint;
    const method = this.req.method;
    if (!this.upload && uploadEndpoints.has(endpoint) && (method === 'POST' || method === 'PATCH' || method === 'PUT')) {
      this.upload = true;
      this.metrics.uploadStarted();
    }
  }
}
