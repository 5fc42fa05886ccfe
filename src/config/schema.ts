// The configuration schema: one zod schema with defaults that run as they are.
import { z } from 'zod';
import { authSchema } from '../auth/config.js';
import { lifecycleSchema } from '../registry/lifecycle.js';
import { admissionSchema } from '../admission/config.js';
import { pluginsSchema } from '../plugins/config.js';
import { eventsSchema } from '../events/config.js';
import { parseDuration } from '../gc/duration.js';

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:5000')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

const tlsSchema = z
  .object({
    certificate: z.string().min(1).describe('PEM certificate chain (server certificate first); reloaded when the file changes.'),
    key: z.string().min(1).describe('PEM private key of the certificate; reloaded with it.'),
    clientCA: z.string().min(1).optional().describe('PEM CA bundle that client certificates must chain to (mutual TLS).'),
    clientAuth: z
      .enum(['none', 'request', 'require'])
      .optional()
      .describe('none: no client certificates; request: ask, accept clients without one; require: refuse clients without a valid one (default require when clientCA is set).'),
  })
  .strict()
  .refine((t) => t.clientAuth === undefined || t.clientAuth === 'none' || t.clientCA !== undefined, {
    message: 'clientAuth request or require needs clientCA, the CA that signs client certificates',
  });

const duration = z.string().refine(
  (v) => {
    try {
      parseDuration(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a duration such as 0, 90s, 30m, 1h, 7d or 1h30m' },
);

const gcSchema = z
  .object({
    intervalMinutes: z
      .number()
      .nonnegative()
      .default(60)
      .describe('Minutes between two garbage collections (with upload purging) inside serve; 0 turns the schedule off (wharf gc still works).'),
    grace: duration
      .default('1h')
      .describe('Blobs and repository links younger than this are never collected, so a manifest can still be pushed for what was just uploaded.'),
    uploadMaxAge: duration
      .default('24h')
      .describe('Upload sessions started longer ago than this are abandoned: removed with their bytes.'),
  })
  .strict()
  .describe('Online garbage collection (docs/gc.md).');

const debugSchema = z
  .object({
    listen: listen
      .optional()
      .describe('HOST:PORT of the debug listener: GET /metrics (Prometheus), /healthz and /readyz, plain HTTP without authentication; off unless set (docs/observability.md).'),
  })
  .strict()
  .describe('The debug listener for metrics and health probes (docs/observability.md).');

export const configSchema = z
  .object({
    listen: listen.default('127.0.0.1:5000').describe('HOST:PORT the registry listens on.'),
    data: z
      .string()
      .min(1)
      .default('./data')
      .describe('Data directory of the embedded default: blobs under DIR/blobs, metadata in DIR/wharf.db.'),
    storage: z
      .string()
      .min(1)
      .optional()
      .describe('Storage URL: file:///path, memory:, s3://BUCKET/PREFIX?…, azure://CONTAINER/PREFIX?… or a plugin scheme; default file://DATA/blobs (docs/storage.md).'),
    storageOptions: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        'Driver options merged over what the storage URL says; the place for secrets, which never need to be in the URL: s3 accessKeyId/secretAccessKey/sessionToken, azure accountKey/connectionString/sasToken.',
      ),
    metadata: z
      .string()
      .min(1)
      .optional()
      .describe('Metadata store URL: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB (docs/scale-out.md); default sqlite:DATA/wharf.db.'),
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Lowest level written to the JSON log on stdout.'),
      })
      .strict()
      .default({ level: 'info' })
      .describe('Logging: one JSON line per request with its id and user.'),
    http: z
      .object({
        shutdownTimeoutSeconds: z.number().positive().default(10).describe('How long SIGTERM waits for in-flight requests before closing connections, in seconds.'),
        idleTimeoutSeconds: z.number().positive().default(120).describe('A keep-alive connection idle this long (no bytes either way) is closed, in seconds.'),
        headersTimeoutSeconds: z.number().positive().default(30).describe('Time allowed to send the request headers, in seconds.'),
        bodyIdleTimeoutSeconds: z
          .number()
          .positive()
          .default(60)
          .describe('A request body that sends no byte for this long is aborted (its upload keeps what arrived), in seconds.'),
        requestTimeoutSeconds: z
          .number()
          .nonnegative()
          .default(0)
          .describe('Time allowed for a whole request, headers and body; 0 means no limit (uploads of many GiB take long).'),
        maxHeaderBytes: z
          .number()
          .int()
          .min(1024)
          .max(1024 * 1024)
          .default(16384)
          .describe('Largest request head (request line and headers) in bytes; larger ones get 431.'),
      })
      .strict()
      .prefault({})
      .describe('HTTP server timeouts and limits (docs/hardening.md).'),
    readOnly: z.boolean().default(false).describe('Refuse every write (POST, PUT, PATCH, DELETE) with 405 UNSUPPORTED; reads keep working.'),
    tls: tlsSchema.optional().describe('Serve HTTPS (docs/hardening.md). Paths in the file are relative to the file.'),
    limits: z
      .object({
        maxManifestBytes: z
          .number()
          .int()
          .positive()
          .max(64 * 1024 * 1024)
          .default(4 * 1024 * 1024)
          .describe('Largest manifest accepted by PUT, in bytes.'),
        uploadsPerClient: z
          .number()
          .int()
          .positive()
          .default(64)
          .describe('Requests carrying blob bytes (POST/PATCH/PUT on uploads) in flight at once per client IP; more get 429.'),
        maxInFlightRequests: z.number().int().nonnegative().default(0).describe('Requests in flight at once over all clients; more get 429. 0 means no limit.'),
      })
      .strict()
      .prefault({})
      .describe('Request limits (docs/hardening.md).'),
    auth: authSchema.optional().describe('Authentication and access policies (docs/auth.md); absent = everyone may do everything.'),
    lifecycle: lifecycleSchema.prefault({}).describe('Tag immutability, retention rules and storage quotas per repository glob (docs/lifecycle.md).'),
    gc: gcSchema.prefault({}).describe('Online garbage collection and upload purging (docs/gc.md).'),
    debug: debugSchema.prefault({}).describe('Metrics and health on a separate listener (docs/observability.md).'),
    admission: admissionSchema.optional().describe('An HTTP hook asked before a manifest push commits (and optionally before a pull); docs/extending.md.'),
    plugins: pluginsSchema.describe('Plugin packages or paths loaded at start (docs/extending.md).'),
    events: eventsSchema.prefault({}).describe('The event outbox, webhook endpoints and the change feed (docs/events.md).'),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

/** The resolved configuration the server runs with: storage and metadata always set. */
export type ResolvedConfig = Config & { storage: string; metadata: string };
