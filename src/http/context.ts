// What a handler receives, and the one helper that writes a successful reply.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from '../registry/index.js';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  registry: Registry;
  /** Repository name, validated against the grammar (empty for endpoints without one). */
  name: string;
  /** Tag, digest or upload id from the path (raw). */
  reference: string;
  query: URLSearchParams;
  log: Logger;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /**
   * The client certificate's identity when the connection is TLS and the client presented a certificate that
   * verified against `tls.clientCA` (mutual TLS); undefined otherwise. `subject` is the certificate's subject
   * common name (CN). For the access controller to treat as an authenticated user.
   */
  tlsClient?: TLSClientIdentity;
  /** The authenticated user, set by access control (auth/controller.ts) before the handler runs. */
  user?: string;
}

export interface TLSClientIdentity {
  /** Subject common name (CN) of the verified client certificate. */
  subject: string;
  /** SHA-256 fingerprint of the certificate (AA:BB:…), to tell apart certificates with the same CN. */
  fingerprint256: string;
}

export type Handler = (ctx: Ctx) => Promise<void>;

export type Headers = Record<string, string | number | string[]>;

/** Writes status, headers and an optional small body (never for HEAD). */
export function reply(ctx: Ctx, status: number, headers: Headers, body?: Buffer | string): void {
  const buf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  ctx.res.writeHead(status, { ...headers, 'Content-Length': headers['Content-Length'] ?? buf?.length ?? 0 });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : buf);
}

export function replyJSON(ctx: Ctx, status: number, headers: Headers, value: unknown): void {
  reply(ctx, status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }, JSON.stringify(value));
}
