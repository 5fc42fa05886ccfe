// TLS: a registry behind an https proxy that requires client certificates, signed by a throw-away CA made
// with openssl. The CA and client certificate come from a certs.d directory (docker's/podman's layout) or
// from the caFile / clientCert options; `insecure` skips verification; a missing CA fails verification.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { RegistryClient, tlsMaterialFor } from '../../src/client/index.js';
import { randomData, readAll, removeDir, startWharf, tempDir, uniqueRepo, type Target } from './helpers.js';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

describe('TLS with a private CA and client certificates', () => {
  let dir: string;
  let wharf: Target;
  let server: Server;
  const sockets = new Set<Socket>();
  let host: string;
  let certsDir: string;

  before(async () => {
    dir = tempDir('wharf-client-tls-');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=wharf test CA'], dir);
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const who of ['server', 'client']) {
      openssl(['req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`], dir);
      openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '1', '-extfile', `${who}.ext`], dir);
    }
    wharf = await startWharf();
    const upstream = new URL(wharf.url);
    server = createServer(
      { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')), ca: readFileSync(join(dir, 'ca.crt')), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
          res.writeHead(upRes.statusCode!, upRes.headers);
          upRes.pipe(res);
        });
        up.on('error', () => res.destroy());
        req.pipe(up);
      },
    );
    server.on('secureConnection', (s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    // certs.d/<host:port>/{ca.crt, client.cert, client.key}, as docker and podman read it.
    certsDir = join(dir, 'certs.d');
    mkdirSync(join(certsDir, host), { recursive: true });
    copyFileSync(join(dir, 'ca.crt'), join(certsDir, host, 'ca.crt'));
    copyFileSync(join(dir, 'client.crt'), join(certsDir, host, 'client.cert'));
    copyFileSync(join(dir, 'client.key'), join(certsDir, host, 'client.key'));
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await wharf?.close();
    removeDir(dir);
  });

  test('certs.d gives the CA and the client certificate', async () => {
    const m = tlsMaterialFor(host, { certsDirs: [certsDir] });
    assert.ok(m.ca && m.cert && m.key, `TLS material from ${m.sources.join(', ')}`);
    const client = new RegistryClient(`https://${host}`, { credentials: false, certsDirs: [certsDir] });
    try {
      await client.ping();
      const repo = uniqueRepo();
      const data = randomData(50_000);
      const { digest } = await client.uploadBlob(repo, data);
      assert.ok((await readAll(await client.getBlob(repo, digest))).equals(data), 'the blob reads back over TLS');
    } finally {
      await client.close();
    }
  });

  test('caFile and clientCert options', async () => {
    const client = new RegistryClient(`https://${host}`, {
      credentials: false,
      certsDirs: [],
      caFile: join(dir, 'ca.crt'),
      clientCert: { cert: join(dir, 'client.crt'), key: join(dir, 'client.key') },
    });
    try {
      await client.ping();
    } finally {
      await client.close();
    }
  });

  test('without the CA the certificate is refused; insecure skips verification', async () => {
    const clientCert = { cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
    const strict = new RegistryClient(`https://${host}`, { credentials: false, certsDirs: [], clientCert });
    try {
      await assert.rejects(strict.ping(), (e: unknown) => /certificate|UNABLE_TO_VERIFY|self.signed/i.test(`${(e as { code?: string }).code} ${(e as Error).message}`));
    } finally {
      await strict.close();
    }
    const insecure = new RegistryClient(`https://${host}`, { credentials: false, certsDirs: [], clientCert, insecure: [host] });
    try {
      await insecure.ping();
    } finally {
      await insecure.close();
    }
  });

  test('without a client certificate the server refuses the handshake', async () => {
    const client = new RegistryClient(`https://${host}`, { credentials: false, certsDirs: [], caFile: join(dir, 'ca.crt'), retries: 1, retryBaseDelayMs: 5 });
    try {
      await assert.rejects(client.ping());
    } finally {
      await client.close();
    }
  });
});
