// The identity of a mutual-TLS client: the subject CN of a client certificate that verified against the CA.
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { TLSClientIdentity } from './context.js';

/** The verified client certificate of a request; undefined without TLS, without a certificate, or unverified. */
export function tlsClientOf(req: IncomingMessage): TLSClientIdentity | undefined {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const cn = cert.subject?.CN as string | string[] | undefined;
  const subject = Array.isArray(cn) ? cn[0] : cn;
  if (!subject) return undefined;
  return { subject, fingerprint256: cert.fingerprint256 };
}
