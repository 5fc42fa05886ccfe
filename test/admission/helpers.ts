// Pieces of the admission tests: a hook server on loopback that records each review and answers as the
// test says, and an in-process Wharf with an `admission` section.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { admissionSchema } from '../../src/admission/config.js';
import { authSchema } from '../../src/auth/config.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import type { AdmissionReview } from '../../src/admission/types.js';
import { removeDir, tempDir } from '../helpers/processes.js';

export type Answer = (review: AdmissionReview, req: IncomingMessage, res: ServerResponse) => void;

export interface HookServer {
  url: string;
  reviews: AdmissionReview[];
  headers: IncomingMessage['headers'][];
  /** What the next requests get; replace it between steps. */
  answer: Answer;
  close(): Promise<void>;
}

export function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startHook(answer: Answer): Promise<HookServer> {
  const hook: HookServer = {
    url: '',
    reviews: [],
    headers: [],
    answer,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
      hook.reviews.push(review);
      hook.headers.push(req.headers);
      hook.answer(review, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admit`;
  return hook;
}

export interface AdmissionRegistry {
  url: string;
  host: string;
  running: RunningRegistry;
  close(): Promise<void>;
}

/** An in-process Wharf with the given `admission` section (and optionally an `auth` section). */
export async function startWithAdmission(admission: unknown, auth?: unknown): Promise<AdmissionRegistry> {
  const data = tempDir('wharf-admission-');
  const base = loadConfig({ listen: '127.0.0.1:0', data }, {});
  const config = { ...base, admission: admissionSchema.parse(admission), ...(auth !== undefined && { auth: authSchema.parse(auth) }) };
  const running = await startRegistry(config, pino({ level: process.env.WHARF_TEST_LOG ?? 'silent' }));
  return {
    url: running.url,
    host: new URL(running.url).host,
    running,
    async close() {
      await running.close();
      removeDir(data);
    },
  };
}
