// Starts a registry from a resolved configuration: storage, metadata, the HTTP listener; and stops it gracefully.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { ResolvedConfig } from './config/schema.js';
import { openStorage } from './storage/index.js';
import { openMetadata } from './metadata/index.js';
import { Registry } from './registry/index.js';
import { createApp } from './http/app.js';

export interface RunningRegistry {
  url: string;
  registry: Registry;
  server: Server;
  log: Logger;
  /** Stops accepting, lets in-flight requests finish (bounded by the shutdown timeout), closes the stores. */
  close(): Promise<void>;
}

export function createLogger(config: ResolvedConfig): Logger {
  return pino({ level: config.log.level, base: { service: 'wharf' } });
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(listen.slice(i + 1)) };
}

export async function startRegistry(config: ResolvedConfig, log: Logger = createLogger(config)): Promise<RunningRegistry> {
  const storage = await openStorage(config.storage, config.storageOptions);
  const metadata = await openMetadata(config.metadata);
  const registry = new Registry(storage, metadata);
  const server = createServer(
    {
      requestTimeout: 0, // uploads of many GiB take as long as they take; idleness is bounded below
      headersTimeout: config.http.headersTimeoutSeconds * 1000,
      keepAliveTimeout: 5000,
    },
    createApp({ registry, log }),
  );
  server.timeout = config.http.idleTimeoutSeconds * 1000;
  const { host, port } = splitListen(config.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shownHost}:${addr.port}`;
  log.info({ url, storage: storage.name, metadata: config.metadata.split(':', 1)[0], data: config.data }, `wharf listening on ${url}`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      // Responses from now on close their connection; connections that turn idle are closed as they do.
      server.prependListener('request', (_req, res) => res.setHeader('Connection', 'close'));
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), config.http.shutdownTimeoutSeconds * 1000);
      await done;
      clearInterval(sweep);
      clearTimeout(timer);
      await registry.close();
    })());
  return { url, registry, server, log, close };
}
