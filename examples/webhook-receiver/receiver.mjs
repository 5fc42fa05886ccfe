#!/usr/bin/env node
// A webhook receiver for Wharf's events, in plain Node (no dependencies): checks the X-Wharf-Signature
// header (HMAC-SHA256 of the exact body with the endpoint's secret) in constant time, answers 401 to a bad or
// missing signature, 204 otherwise, and prints one line per event. Deliveries are at least once: a receiver
// that must act once per event remembers the ids it has handled (here: in memory, to mark repeats).
//
//   WEBHOOK_SECRET=change-me PORT=8089 node examples/webhook-receiver/receiver.mjs
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';

const secret = process.env.WEBHOOK_SECRET ?? '';
const port = Number(process.env.PORT ?? 8089);
const host = process.env.HOST ?? '127.0.0.1';
const maxBody = 1024 * 1024;
const seen = new Set();

function signatureValid(body, header) {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' }).end();
    return;
  }
  const parts = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > maxBody) req.destroy();
    else parts.push(chunk);
  });
  req.on('end', () => {
    const body = Buffer.concat(parts);
    if (secret !== '' && !signatureValid(body, req.headers['x-wharf-signature'])) {
      console.log(`rejected: bad signature on ${req.url}`);
      res.writeHead(401).end();
      return;
    }
    let event;
    try {
      event = JSON.parse(body.toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    const repeat = seen.has(event.id) ? ' (repeat)' : '';
    seen.add(event.id);
    const d = event.data ?? {};
    const who = d.actor ? ` by ${d.actor}` : '';
    console.log(`${event.time} ${event.type} ${event.subject} ${d.digest ?? ''}${who} id=${event.id}${secret ? ' verified' : ''}${repeat}`);
    res.writeHead(204).end();
  });
});

server.listen(port, host, () => {
  const addr = server.address();
  console.log(`webhook receiver listening on http://${host}:${addr.port}${secret ? '' : ' (no WEBHOOK_SECRET: signatures not checked)'}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
