// Shared by the hardening and fuzz tests: an in-process registry whose data directory sits alone in a parent
// temp dir (so files written outside it can be found), a record of every path handed to the storage driver,
// and a raw HTTP/1.1 client that sends exactly the bytes it is given.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import { checkPath } from '../../src/storage/checked.js';
import { tempDir, removeDir } from '../helpers/processes.js';

export interface HardenedRegistry {
  url: string;
  running: RunningRegistry;
  /** The parent temp dir: holds the config file and `data/`, nothing else. */
  parent: string;
  data: string;
  /** Every path the registry handed to its storage driver since the start (before the driver's own checks). */
  storagePaths: string[];
  /** Every file and directory under the parent dir, outside `data/`, as relative paths. */
  outsideData(): string[];
  close(): Promise<void>;
}

function listTree(dir: string, root: string, skip: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (full === skip) continue;
    out.push(relative(root, full));
    if (entry.isDirectory()) out.push(...listTree(full, root, skip));
  }
  return out.sort();
}

const storageMethods = ['getContent', 'putContent', 'reader', 'writer', 'stat', 'list', 'walk', 'move', 'concat', 'delete', 'redirectURL'] as const;

/** Starts a registry with extra YAML settings; its storage records each path it is asked about. */
export async function startHardenedRegistry(yaml = ''): Promise<HardenedRegistry> {
  const parent = tempDir('wharf-hardening-');
  const data = join(parent, 'data');
  mkdirSync(data);
  const file = join(parent, 'wharf.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\ndata: ./data\n${yaml}`);
  const running = await startRegistry(loadConfig({ config: file }, {}, '/'), pino({ level: process.env.WHARF_TEST_LOG ?? 'silent' }));
  const storagePaths: string[] = [];
  const storage = running.registry.storage as unknown as Record<string, unknown>;
  for (const method of storageMethods) {
    const original = storage[method];
    if (typeof original !== 'function') continue;
    storage[method] = function (this: unknown, ...args: unknown[]) {
      for (const a of args) {
        if (typeof a === 'string') storagePaths.push(a);
        if (Array.isArray(a)) for (const p of a) if (typeof p === 'string') storagePaths.push(p);
      }
      return (original as (...x: unknown[]) => unknown).apply(storage, args);
    };
  }
  return {
    url: running.url,
    running,
    parent,
    data,
    storagePaths,
    outsideData: () => listTree(parent, parent, data),
    async close() {
      await running.close();
      removeDir(parent);
    },
  };
}

/** Asserts that every path the storage driver was given is a clean relative path inside its root. */
export function assertStoragePathsClean(reg: HardenedRegistry, what: string): void {
  const bad = reg.storagePaths.filter((p) => {
    try {
      checkPath(p);
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(bad.slice(0, 5), [], `${what}: no unclean path reached the storage driver`);
}

export interface RawResult {
  /** Status of the first response, undefined when the server closed the connection without answering. */
  status: number | undefined;
  head: string;
  /** The response body as text (everything after the head). */
  body: string;
  /** The server closed the connection (always, since requests say Connection: close, unless timed out). */
  closed: boolean;
}

/**
 * Sends `head` (request line and headers, ending with an empty line) and `body` verbatim on a new connection,
 * then reads until the server closes it or `timeoutMs` passes.
 */
export function rawRequest(url: string, head: string | Buffer, body?: Buffer, timeoutMs = 10_000): Promise<RawResult> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(all);
      const end = all.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : undefined, head: end < 0 ? all.slice(0, 500) : all.slice(0, end), body: end < 0 ? '' : all.slice(end + 4), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(head);
      if (body && body.length > 0) socket.write(body);
    });
  });
}

/** The error codes of a raw response's JSON envelope; [] when the body is not one. */
export function errorCodesOf(res: RawResult): string[] {
  try {
    const parsed = JSON.parse(res.body) as { errors?: { code?: unknown }[] };
    return (parsed.errors ?? []).map((e) => String(e.code));
  } catch {
    return [];
  }
}

/** Percent-encodes the bytes that cannot appear in a request target at all (controls, space, DEL, non-ASCII). */
export function targetSafe(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    out += byte <= 0x20 || byte >= 0x7f || byte === 0x23 ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/** Removes CR, LF and NUL so a generated value stays one header line. */
export function headerSafe(value: string): string {
  return value.replace(/[\r\n\0]/g, ' ');
}

/** A request head with Connection: close and the given headers. */
export function requestHead(method: string, target: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${headerSafe(String(v))}`);
  return lines.join('\r\n') + '\r\n\r\n';
}
