// A loopback HTTP proxy in front of a registry that can misbehave on purpose, one request at a time:
// answer with a canned status (503 + Retry-After), cut a response after N bytes, cut a request body after
// N bytes (the upstream sees a partial request), flip a byte of a response body, or delay. Every request
// is logged, and the number of requests in flight is tracked.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxyAction {
  /** Answer without forwarding. */
  respond?: { status: number; headers?: Record<string, string>; body?: string };
  /** Destroy the client connection after this many response body bytes. */
  cutResponseAfter?: number;
  /** Forward this many request body bytes, then destroy both connections. */
  cutRequestAfter?: number;
  /** How long the partial request body is left to reach the registry before the cut. Default 100 ms. */
  cutRequestDelayMs?: number;
  /** XOR this byte offset of the response body with 0xff. */
  corruptResponseByte?: number;
  /** Wait before forwarding. */
  delayMs?: number;
  /** Close the connection without answering. */
  destroy?: boolean;
}

export interface LoggedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface FaultProxy {
  url: string;
  host: string;
  log: LoggedRequest[];
  /** Highest number of requests in flight at once. */
  maxInFlight: number;
  /** Decides what to do with each request (index counts from 0). Replace it between tests. */
  decide: (req: IncomingMessage, index: number) => ProxyAction | undefined;
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  let index = 0;
  let inFlight = 0;
  const proxy: FaultProxy = {
    url: '',
    host: '',
    log: [],
    maxInFlight: 0,
    decide: () => undefined,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const i = index++;
    proxy.log.push({ method: req.method!, url: req.url!, headers: { ...req.headers }, at: Date.now() });
    inFlight++;
    proxy.maxInFlight = Math.max(proxy.maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    const action = proxy.decide(req, i) ?? {};
    if (action.delayMs) await new Promise((r) => setTimeout(r, action.delayMs));
    if (action.destroy) {
      req.socket.destroy();
      return;
    }
    if (action.respond) {
      req.resume();
      const body = action.respond.body ?? '';
      res.writeHead(action.respond.status, { 'content-length': Buffer.byteLength(body), ...action.respond.headers });
      res.end(body);
      return;
    }
    // The Host header stays the proxy's, so registries that write absolute Locations point back here.
    const headers = { ...req.headers };
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers });
    up.on('error', () => {
      if (!res.headersSent) res.destroy();
    });
    up.on('response', (upRes) => {
      res.writeHead(upRes.statusCode!, upRes.headers);
      let sent = 0;
      upRes.on('data', (chunk: Buffer) => {
        let c = chunk;
        if (action.corruptResponseByte !== undefined && action.corruptResponseByte >= sent && action.corruptResponseByte < sent + c.length) {
          c = Buffer.from(c);
          const at = action.corruptResponseByte - sent;
          c[at] = c[at]! ^ 0xff;
        }
        if (action.cutResponseAfter !== undefined && sent + c.length >= action.cutResponseAfter) {
          const keep = action.cutResponseAfter - sent;
          sent += keep;
          res.write(c.subarray(0, keep), () => {
            res.socket?.destroy();
            upRes.destroy();
          });
          upRes.pause();
          return;
        }
        sent += c.length;
        if (!res.write(c)) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => res.end());
      upRes.on('error', () => res.destroy());
    });
    if (action.cutRequestAfter !== undefined) {
      let got = 0;
      const limit = action.cutRequestAfter;
      req.on('data', (chunk: Buffer) => {
        if (got >= limit) return;
        const keep = Math.min(chunk.length, limit - got);
        got += keep;
        up.write(chunk.subarray(0, keep));
        if (got >= limit) {
          // Let the partial body reach the registry, then break both connections.
          setTimeout(() => {
            up.destroy();
            req.socket.destroy();
          }, action.cutRequestDelayMs ?? 100);
        }
      });
      req.on('end', () => {
        if (got < limit) up.end();
      });
    } else {
      req.pipe(up);
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.host = `127.0.0.1:${port}`;
  return proxy;
}
