// TLS material for one registry host, gathered the way docker and podman do it:
//   - the client's own `caFile` option(s), added to Node's root certificates;
//   - certs.d directories: `<dir>/<host[:port]>/*.crt` are extra CA roots, and each `<name>.cert` with its
//     `<name>.key` is a client certificate (docker's and podman's layout; `ca.crt`, `client.cert`,
//     `client.key` are the usual names);
//   - an explicit client certificate option, used when certs.d has none for the host.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ClientError } from './errors.js';

export interface TlsFiles {
  /** Extra CA certificates (PEM files) trusted for every host. */
  caFile?: string | string[];
  /** Directories laid out like /etc/docker/certs.d. Default: see defaultCertsDirs(). */
  certsDirs?: string[];
  /** A client certificate and key (PEM files) for hosts that have none in certs.d. */
  clientCert?: { cert: string; key: string };
}

export interface TlsMaterial {
  /** Undefined when nothing is added to Node's roots. */
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
  /** Where each piece came from, for error messages and tests. */
  sources: string[];
}

/** /etc/docker/certs.d, /etc/containers/certs.d and ~/.config/containers/certs.d (podman rootless). */
export function defaultCertsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  return ['/etc/docker/certs.d', '/etc/containers/certs.d', join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'certs.d')];
}

function read(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ClientError(`cannot read TLS file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** The CA roots and client certificate to use for `host` (`host[:port]` as written in the registry name). */
export function tlsMaterialFor(host: string, files: TlsFiles): TlsMaterial {
  const extraCa: string[] = [];
  const sources: string[] = [];
  for (const f of typeof files.caFile === 'string' ? [files.caFile] : (files.caFile ?? [])) {
    extraCa.push(read(f).toString('utf8'));
    sources.push(f);
  }
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  // docker names the directory after host:port; for port 443 both `host` and `host:443` are seen in the wild.
  const names = [host];
  if (host.endsWith(':443')) names.push(host.slice(0, -4));
  for (const base of files.certsDirs ?? defaultCertsDirs()) {
    for (const name of names) {
      const dir = join(base, name);
      if (!existsSync(dir)) continue;
      let entries: string[];
      try {
        entries = readdirSync(dir).sort();
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (entry.endsWith('.crt')) {
          extraCa.push(read(join(dir, entry)).toString('utf8'));
          sources.push(join(dir, entry));
        } else if (entry.endsWith('.cert') && !cert) {
          const keyName = entry.slice(0, -'.cert'.length) + '.key';
          if (!entries.includes(keyName)) throw new ClientError(`${join(dir, entry)} has no matching ${keyName}`);
          cert = read(join(dir, entry));
          key = read(join(dir, keyName));
          sources.push(join(dir, entry), join(dir, keyName));
        } else if (entry.endsWith('.key')) {
          const certName = entry.slice(0, -'.key'.length) + '.cert';
          if (!entries.includes(certName)) throw new ClientError(`${join(dir, entry)} has no matching ${certName}`);
        }
      }
    }
  }
  if (!cert && files.clientCert) {
    cert = read(files.clientCert.cert);
    key = read(files.clientCert.key);
    sources.push(files.clientCert.cert, files.clientCert.key);
  }
  const m: TlsMaterial = { sources };
  if (extraCa.length) m.ca = [...rootCertificates, ...extraCa];
  if (cert && key) {
    m.cert = cert;
    m.key = key;
  }
  return m;
}
