// Per-request limits that protect the server from clients that hold resources: requests in flight over all
// clients, requests carrying blob bytes per client IP, and request bodies that stop sending.
// Header size and header time limits are node's own (see server.ts); this module covers what node does not.
import type { IncomingMessage } from 'node:http';
import type { EndpointId } from '../oci/routes.js';
import { RegistryError } from '../oci/errors.js';
import type { Ctx } from './context.js';
import { hasBody } from './errors.js';

export interface LimitSettings {
  /** Requests carrying blob bytes in flight at once per client IP. */
  uploadsPerClient: number;
  /** Requests in flight at once over all clients; 0 means no limit. */
  maxInFlightRequests: number;
  /** A request body that sends nothing for this long is aborted, in milliseconds. */
  bodyIdleTimeoutMs: number;
  /** The connection idle timeout to restore once a body is complete, in milliseconds. */
  connectionIdleTimeoutMs: number;
}

/** Endpoints and methods whose requests stream blob bytes into an upload. */
export function carriesBlobBytes(endpoint: EndpointId, method: string): boolean {
  return (endpoint === 'uploadStart' && method === 'POST') || (endpoint === 'upload' && (method === 'PATCH' || method === 'PUT'));
}

/** The client's IP address as the socket sees it (IPv4-mapped IPv6 addresses shown as IPv4). */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function tooMany(message: string): RegistryError {
  return new RegistryError('TOOMANYREQUESTS', message, { headers: { 'Retry-After': '1' } });
}

export class RequestLimits {
  private inFlight = 0;
  private readonly uploadsByClient = new Map<string, number>();

  constructor(readonly settings: LimitSettings) {}

  /** Requests in flight now (for tests and metrics). */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Requests carrying blob bytes in flight now from one client IP. */
  uploadsInFlight(client: string): number {
    return this.uploadsByClient.get(client) ?? 0;
  }

  /**
   * Admits a request or throws 429 TOOMANYREQUESTS with Retry-After. What it takes is given back when the
   * response closes (finished or aborted). Also arms the body idle timeout on requests that carry a body.
   */
  enter(ctx: Ctx, endpoint: EndpointId): void {
    const { req, res } = ctx;
    const { maxInFlightRequests, uploadsPerClient } = this.settings;
    if (maxInFlightRequests > 0 && this.inFlight >= maxInFlightRequests) {
      throw tooMany(`the registry is serving ${this.inFlight} requests, its limit; retry shortly`);
    }
    const client = clientAddress(req);
    const upload = carriesBlobBytes(endpoint, req.method ?? '');
    if (upload && this.uploadsInFlight(client) >= uploadsPerClient) {
      throw tooMany(`${uploadsPerClient} uploads from ${client} are in progress, the limit per client; retry when one has finished`);
    }
    this.inFlight += 1;
    if (upload) this.uploadsByClient.set(client, this.uploadsInFlight(client) + 1);
    res.once('close', () => {
      this.inFlight -= 1;
      if (!upload) return;
      const left = this.uploadsInFlight(client) - 1;
      if (left > 0) this.uploadsByClient.set(client, left);
      else this.uploadsByClient.delete(client);
    });
    if (hasBody(req)) this.watchBodyIdle(ctx);
  }

  /**
   * While the body is being received, the connection may be idle for at most bodyIdleTimeoutMs; a stalled body
   * is destroyed, which the handler sees as an aborted request (an upload keeps the bytes that arrived, as for
   * any client that goes away). Once the body is complete the connection's idle timeout is restored.
   */
  private watchBodyIdle(ctx: Ctx): void {
    const { req } = ctx;
    const { bodyIdleTimeoutMs, connectionIdleTimeoutMs } = this.settings;
    if (req.complete) return;
    req.setTimeout(bodyIdleTimeoutMs, () => {
      ctx.log.warn({ client: clientAddress(req), seconds: bodyIdleTimeoutMs / 1000 }, 'request body idle too long: aborting the request');
      req.destroy();
    });
    req.once('end', () => req.socket?.setTimeout(connectionIdleTimeoutMs));
  }
}
