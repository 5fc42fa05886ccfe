// The configuration schema: one zod schema with defaults that run as they are.
import { z } from 'zod';

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:5000')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

export const configSchema = z
  .object({
    /** Address to listen on. */
    listen: listen.default('127.0.0.1:5000'),
    /** Data directory of the embedded default: blobs under DIR/blobs, metadata in DIR/wharf.db. */
    data: z.string().min(1).default('./data'),
    /** Storage URL (file:///path, memory:, s3://BUCKET/PREFIX?…, azure://CONTAINER/PREFIX?…); defaults to file://<data>/blobs. */
    storage: z.string().min(1).optional(),
    /**
     * Driver options merged over what the storage URL says — the place for secrets, which never need to be in
     * the URL: s3 accessKeyId/secretAccessKey/sessionToken, azure accountKey/connectionString/sasToken, ….
     */
    storageOptions: z.record(z.string(), z.unknown()).default({}),
    /** Metadata URL (sqlite:PATH); defaults to sqlite:<data>/wharf.db. */
    metadata: z.string().min(1).optional(),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
    http: z
      .object({
        /** How long SIGTERM waits for in-flight requests before closing connections, in seconds. */
        shutdownTimeoutSeconds: z.number().positive().default(10),
        /** A connection idle this long (no bytes either way) is closed, in seconds. */
        idleTimeoutSeconds: z.number().positive().default(120),
        /** Time allowed to send the request headers, in seconds. */
        headersTimeoutSeconds: z.number().positive().default(30),
      })
      .strict()
      .default({ shutdownTimeoutSeconds: 10, idleTimeoutSeconds: 120, headersTimeoutSeconds: 30 }),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

/** The resolved configuration the server runs with: storage and metadata always set. */
export type ResolvedConfig = Config & { storage: string; metadata: string };
