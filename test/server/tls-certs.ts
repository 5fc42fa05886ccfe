// Throw-away certificates for the TLS tests, made with the openssl command line: a CA, server certificates
// for 127.0.0.1/localhost, and client certificates (for mutual TLS). Keys are EC P-256; everything is PEM.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';

export interface PEMPair {
  /** Path of the PEM certificate. */
  cert: string;
  /** Path of the PEM private key. */
  key: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.join(' ')} failed (is openssl installed?): ${err.stderr?.toString() ?? err.message}`);
  }
}

/** A self-signed CA named `cn`, files `<dir>/<name>.crt` and `<dir>/<name>.key`. */
export function makeCA(dir: string, name: string, cn = `Wharf test CA ${name}`): PEMPair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', pair.key, '-out', pair.cert, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair;
}

/**
 * A certificate for `cn` signed by `ca`: for a server (SAN 127.0.0.1 and localhost, serverAuth) or a
 * client (clientAuth). Files `<dir>/<name>.crt`/`.key` (or the paths given in `out`).
 */
export function makeLeaf(dir: string, ca: PEMPair, name: string, cn: string, use: 'server' | 'client', out?: PEMPair): PEMPair {
  const pair = out ?? { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    use === 'server'
      ? 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
      : 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n',
  );
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', pair.key, '-out', csr, '-subj', `/CN=${cn}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', pair.cert, '-days', '2', '-extfile', ext]);
  return pair;
}

/** SHA-256 fingerprint of a PEM certificate file, in node's AA:BB:… form. */
export function fingerprintOf(pem: Buffer | string): string {
  return new X509Certificate(pem).fingerprint256;
}
