// The debug listener (config `debug.listen`, flag --debug-listen; off unless set): GET /metrics in the
// Prometheus text format, /healthz and /readyz. Plain HTTP without authentication: bind it to loopback or to a
// network only the monitoring system reaches.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { WharfMetrics } from './metrics.js';
import { isHealthPath, serveHealth, type HealthChecks } from './health.js';
import { listenOn } from '../listen.js';

export interface DebugServer {
  /** http://HOST:PORT as bound (the port resolved when 0 was asked). */
  url: string;
  server: Server;
  close(): Promise<void>;
}

export interface DebugServerOptions {
  metrics: WharfMetrics;
  health: HealthChecks;
  log: Logger;
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function handle(req: IncomingMessage, res: ServerResponse, { metrics, health }: DebugServerOptions): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (isHealthPath(path)) return serveHealth(req, res, path, health);
  if (path !== '/metrics') return plain(res, 404, 'not found: the debug listener serves /metrics, /healthz and /readyz\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
  const body = Buffer.from(await metrics.render());
  res.writeHead(200, { 'Content-Type': metrics.contentType, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Listens on `listen` (HOST:PORT) and answers until closed. */
export async function startDebugServer(listen: string, options: DebugServerOptions): Promise<DebugServer> {
  const server = createServer({ keepAliveTimeout: 5000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    handle(req, res, options).catch((e: unknown) => {
      options.log.error({ err: e, path: req.url?.slice(0, 200) }, 'debug listener request failed');
      if (!res.headersSent) plain(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  const url = `http://${await listenOn(server, listen)}`;
  options.log.info({ debugURL: url }, `debug listener (metrics, health) on ${url}`);
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
