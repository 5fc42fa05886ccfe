// A loopback webhook receiver for the event tests: records every delivery (body, headers, whether its HMAC
// signature verifies), can answer 503 for a while (an endpoint that is down), and waits for conditions.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CloudEvent } from '../../src/events/model.js';

export interface Delivery {
  event: CloudEvent;
  headers: Record<string, string | string[] | undefined>;
  signatureValid: boolean;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Requests answered with 503 while down. */
  refused: number;
  /** While true, every delivery is answered 503 and not recorded. */
  down: boolean;
  /** Distinct event ids delivered, in first-delivery order. */
  ids(): string[];
  /** Waits (bounded) until `done` holds; throws with `what` after timeoutMs. */
  waitFor(done: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function verify(secret: string | undefined, body: Buffer, header: string | undefined): boolean {
  if (secret === undefined || header === undefined || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startReceiver(secret?: string, port = 0): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    deliveries: [],
    refused: 0,
    down: false,
    ids() {
      return [...new Set(this.deliveries.map((d) => d.event.id))];
    },
    async waitFor(done, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`receiver: timed out waiting for ${what} (have ${this.deliveries.length} deliveries, ${this.refused} refused)`);
        await new Promise((res) => setTimeout(res, 25));
      }
    },
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (r.down) {
        r.refused++;
        res.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(parts);
      const header = req.headers['x-wharf-signature'];
      r.deliveries.push({ event: JSON.parse(body.toString('utf8')) as CloudEvent, headers: req.headers, signatureValid: verify(secret, body, typeof header === 'string' ? header : undefined) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', () => res()));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = () =>
    new Promise<void>((res) => {
      server.closeAllConnections();
      server.close(() => res());
    });
  return r;
}
