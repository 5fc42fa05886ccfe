// HTTPS for the registry: the certificate, key and client CA from the config, reloaded when their files change
// (a bad new set is logged and the old one kept), and mutual TLS. The request's client identity: http/tls-client.ts.
import { readFileSync, watchFile, unwatchFile, type Stats } from 'node:fs';
import type { Server as HTTPSServer, ServerOptions as HTTPSServerOptions } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';

export type TLSConfig = NonNullable<Config['tls']>;
export type ClientAuth = 'none' | 'request' | 'require';

/** Raised when the TLS files cannot be read or do not make a usable certificate and key. */
export class TLSConfigError extends Error {
  override name = 'TLSConfigError';
}

/** How often the certificate files are checked for changes, in milliseconds. */
export const tlsReloadPollMs = 1000;

/** With a client CA and no clientAuth, client certificates are required. */
export function clientAuthOf(tls: TLSConfig): ClientAuth {
  return tls.clientAuth ?? (tls.clientCA ? 'require' : 'none');
}

function readPEM(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TLSConfigError(`cannot read the TLS ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Reads the files and checks that they make a secure context (the key must match the certificate). */
export function loadSecureContextOptions(tls: TLSConfig): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: readPEM(tls.certificate, 'certificate'),
    key: readPEM(tls.key, 'key'),
  };
  if (tls.clientCA && clientAuthOf(tls) !== 'none') options.ca = readPEM(tls.clientCA, 'client CA');
  try {
    createSecureContext(options);
  } catch (e) {
    throw new TLSConfigError(`the TLS certificate ${tls.certificate} and key ${tls.key} are not usable: ${(e as Error).message}`);
  }
  return options;
}

/** Options for https.createServer: the secure context plus what client certificates are asked for. */
export function httpsServerOptions(tls: TLSConfig, handshakeTimeoutMs: number): HTTPSServerOptions {
  const clientAuth = clientAuthOf(tls);
  return {
    ...loadSecureContextOptions(tls),
    requestCert: clientAuth !== 'none',
    rejectUnauthorized: clientAuth === 'require',
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/**
 * Polls the certificate, key and client CA files and swaps the server's secure context when they change.
 * Connections already open keep the context they started with. Returns a function that stops watching.
 */
export function watchTLSFiles(server: HTTPSServer, tls: TLSConfig, log: Logger, pollMs = tlsReloadPollMs): () => void {
  const files = [tls.certificate, tls.key, ...(tls.clientCA && clientAuthOf(tls) !== 'none' ? [tls.clientCA] : [])];
  let pending: NodeJS.Timeout | undefined;
  const reload = () => {
    pending = undefined;
    try {
      server.setSecureContext(loadSecureContextOptions(tls));
      log.info({ certificate: tls.certificate }, 'TLS certificate reloaded');
    } catch (e) {
      log.error({ err: (e as Error).message, certificate: tls.certificate, key: tls.key }, 'TLS files changed but cannot be used: keeping the previous certificate');
    }
  };
  // The certificate and key are usually replaced one after the other: wait for the pair to settle.
  const changed = (current: Stats, previous: Stats) => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    if (pending) clearTimeout(pending);
    pending = setTimeout(reload, Math.min(pollMs, 250));
  };
  for (const file of files) watchFile(file, { interval: pollMs, persistent: false }, changed);
  return () => {
    if (pending) clearTimeout(pending);
    for (const file of files) unwatchFile(file, changed);
  };
}
