// HTTPS: the registry serves the configured certificate (paths relative to the config file), swaps it
// without a restart when the files change (keeping the old one when the new pair is unusable), and with a
// client CA verifies client certificates (required or requested), exposing the verified subject CN.
// skopeo pushes and pulls over verified TLS with a cert dir holding the CA and a client certificate.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import { TLSConfigError } from '../../src/server-tls.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import { makeCA, makeLeaf, fingerprintOf, type PEMPair } from './tls-certs.js';
import { buildMultiLayerImage } from '../interop/images.js';
import { readBlob } from '../interop/layout.js';
import { writeContainersConfig } from '../interop/containers-config.js';
import { run, runExpectingFailure, requireTools } from '../interop/run.js';

interface Captured {
  log: Logger;
  lines: () => Record<string, unknown>[];
}

/** A pino logger whose JSON lines are kept for the test to read. */
function capturingLogger(): Captured {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  return { log, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

interface TLSResult {
  status: number;
  body: string;
  /** Fingerprint of the certificate the server presented. */
  served: string;
}

/** One GET on a fresh connection (no pooling: every call performs a handshake). */
function get(url: string, path: string, opts: { ca?: Buffer; client?: PEMPair; verify?: boolean } = {}): Promise<TLSResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, url),
      {
        agent: false,
        ca: opts.ca,
        cert: opts.client ? readFileSync(opts.client.cert) : undefined,
        key: opts.client ? readFileSync(opts.client.key) : undefined,
        rejectUnauthorized: opts.verify ?? true,
        timeout: 10_000,
      },
      (res) => {
        const served = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), served }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}: not within ${timeoutMs} ms`);
}

/** Replaces a file the way deployment tools do: write aside, rename over. */
function replaceFile(from: string, to: string): void {
  copyFileSync(from, `${to}.new`);
  renameSync(`${to}.new`, to);
}

describe('TLS', () => {
  const dir = tempDir('wharf-tls-');
  let ca: PEMPair;
  let otherCA: PEMPair;
  let caPEM: Buffer;
  const running: RunningRegistry[] = [];

  /** Starts a registry from a YAML config written next to the certificates (relative paths). */
  async function start(tlsYAML: string, log: Logger = pino({ level: 'silent' })): Promise<RunningRegistry> {
    const name = `wharf-${running.length}.yaml`;
    writeFileSync(join(dir, name), `listen: 127.0.0.1:0\ndata: ./data-${running.length}\ntls:\n${tlsYAML}`);
    const r = await startRegistry(loadConfig({ config: join(dir, name) }, {}, '/'), log);
    running.push(r);
    return r;
  }

  before(() => {
    ca = makeCA(dir, 'ca');
    otherCA = makeCA(dir, 'other-ca');
    caPEM = readFileSync(ca.cert);
    makeLeaf(dir, ca, 'server', 'wharf.test', 'server');
    makeLeaf(dir, ca, 'alice', 'alice', 'client');
    makeLeaf(dir, otherCA, 'mallory', 'alice', 'client');
  });
  after(async () => {
    for (const r of running) await r.close();
    removeDir(dir);
  });

  test('serves HTTPS with the configured certificate; clients verify it with the CA', async () => {
    const r = await start('  certificate: server.crt\n  key: server.key\n');
    assert.match(r.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await get(r.url, '/v2/', { ca: caPEM });
    assert.equal(res.status, 200);
    assert.equal(res.served, fingerprintOf(readFileSync(join(dir, 'server.crt'))));
    await assert.rejects(get(r.url, '/v2/'), /self[- ]signed|unable to (get|verify)|UNABLE_TO/i, 'a client without the CA refuses the certificate');
    await assert.rejects(
      new Promise((resolve, reject) => {
        fetch(r.url.replace('https:', 'http:') + '/v2/', { signal: AbortSignal.timeout(5000) }).then(resolve, reject);
      }),
      'plain HTTP on the TLS port gets no HTTP answer',
    );
  });

  test('a missing or mismatched key stops the start with an error naming the files', async () => {
    makeLeaf(dir, ca, 'stray', 'stray', 'server');
    await assert.rejects(start('  certificate: server.crt\n  key: missing.key\n'), (e: unknown) => e instanceof TLSConfigError && /missing\.key/.test(e.message));
    await assert.rejects(start('  certificate: server.crt\n  key: stray.key\n'), (e: unknown) => e instanceof TLSConfigError && /server\.crt/.test(e.message));
  });

  test('reload: a new certificate is served without a restart; an unusable new pair is logged and the old one kept', async () => {
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(join(dir, 'server.crt'), live.cert);
    copyFileSync(join(dir, 'server.key'), live.key);
    const captured = capturingLogger();
    const r = await start('  certificate: live.crt\n  key: live.key\n', captured.log);
    const first = fingerprintOf(readFileSync(live.cert));
    assert.equal((await get(r.url, '/v2/', { ca: caPEM })).served, first);

    const next = makeLeaf(dir, ca, 'next', 'wharf.test', 'server');
    replaceFile(next.key, live.key);
    replaceFile(next.cert, live.cert);
    const second = fingerprintOf(readFileSync(next.cert));
    await eventually('the new certificate is served', async () => (await get(r.url, '/v2/', { ca: caPEM })).served === second);

    // A certificate whose key is not the one on disk: refused, the second certificate stays.
    const wrong = makeLeaf(dir, ca, 'wrong', 'wharf.test', 'server');
    replaceFile(wrong.cert, live.cert);
    await eventually('the unusable pair is logged', async () => captured.lines().some((l) => l.level === 50 && /keeping the previous certificate/.test(String(l.msg))));
    const after = await get(r.url, '/v2/', { ca: caPEM });
    assert.equal(after.status, 200, 'still serving');
    assert.equal(after.served, second, 'the previous certificate is kept');

    // Fixing the files makes the next reload take.
    replaceFile(wrong.key, live.key);
    const third = fingerprintOf(readFileSync(wrong.cert));
    await eventually('the fixed pair is served', async () => (await get(r.url, '/v2/', { ca: caPEM })).served === third);
  });

  test('mutual TLS required: no certificate or one from another CA is refused; a valid one is served and its CN logged', async () => {
    const captured = capturingLogger();
    const r = await start('  certificate: server.crt\n  key: server.key\n  clientCA: ca.crt\n  clientAuth: require\n', captured.log);
    await assert.rejects(get(r.url, '/v2/', { ca: caPEM }), 'no client certificate is refused');
    await assert.rejects(get(r.url, '/v2/', { ca: caPEM, client: { cert: join(dir, 'mallory.crt'), key: join(dir, 'mallory.key') } }), 'a certificate from another CA is refused');
    const ok = await get(r.url, '/v2/', { ca: caPEM, client: { cert: join(dir, 'alice.crt'), key: join(dir, 'alice.key') } });
    assert.equal(ok.status, 200);
    const requests = captured.lines().filter((l) => l.msg === 'request');
    assert.equal(requests.length, 1, 'only the verified client got as far as a request');
    assert.equal(requests[0]!.tlsClient, 'alice', 'the request carries the certificate subject CN');
  });

  test('clientCA without clientAuth means require', async () => {
    const r = await start('  certificate: server.crt\n  key: server.key\n  clientCA: ca.crt\n');
    await assert.rejects(get(r.url, '/v2/', { ca: caPEM }), 'no client certificate is refused');
  });

  test('mutual TLS requested: clients without a certificate are served anonymously, verified ones by CN', async () => {
    const captured = capturingLogger();
    const r = await start('  certificate: server.crt\n  key: server.key\n  clientCA: ca.crt\n  clientAuth: request\n', captured.log);
    assert.equal((await get(r.url, '/v2/', { ca: caPEM })).status, 200);
    assert.equal((await get(r.url, '/v2/', { ca: caPEM, client: { cert: join(dir, 'alice.crt'), key: join(dir, 'alice.key') } })).status, 200);
    assert.equal((await get(r.url, '/v2/', { ca: caPEM, client: { cert: join(dir, 'mallory.crt'), key: join(dir, 'mallory.key') } })).status, 200);
    const identities = captured.lines().filter((l) => l.msg === 'request').map((l) => l.tlsClient ?? null);
    assert.deepEqual(identities, [null, 'alice', null], 'only the certificate that verified becomes an identity');
  });

  test('clientAuth require without clientCA is a configuration error', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'tls:\n  certificate: server.crt\n  key: server.key\n  clientAuth: require\n');
    assert.throws(() => loadConfig({ config: join(dir, 'bad.yaml') }, {}, '/'), /clientCA/);
  });

  test('skopeo pushes, inspects and pulls over verified mutual TLS with a cert dir (CA, client cert and key)', { timeout: 180_000 }, async () => {
    requireTools('skopeo', 'umoci');
    const r = await start('  certificate: server.crt\n  key: server.key\n  clientCA: ca.crt\n');
    const host = new URL(r.url).host;
    const certDir = join(dir, 'skopeo-certs');
    mkdirSync(certDir);
    copyFileSync(ca.cert, join(certDir, 'ca.crt'));
    copyFileSync(join(dir, 'alice.crt'), join(certDir, 'client.cert'));
    copyFileSync(join(dir, 'alice.key'), join(certDir, 'client.key'));
    const caOnly = join(dir, 'skopeo-ca-only');
    mkdirSync(caOnly);
    copyFileSync(ca.cert, join(caOnly, 'ca.crt'));
    const image = await buildMultiLayerImage(join(dir, 'image'));
    const config = writeContainersConfig(join(dir, 'skopeo'));
    const flags = ['--policy', config.policy, '--registries.d', config.registriesD, '--tmpdir', config.tmp];
    const opts = { env: config.env, timeoutMs: 120_000 };
    const dest = `docker://${host}/tls/image:v1`;

    const noClientCert = await runExpectingFailure('skopeo', [...flags, 'copy', '--retry-times', '0', '--dest-cert-dir', caOnly, `oci:${image.layout}:${image.ref}`, dest], opts);
    assert.match(noClientCert.stderr, /certificate|tls|handshake|reset|broken pipe|EOF/i, 'without a client certificate the push fails at TLS');

    await run('skopeo', [...flags, 'copy', '--retry-times', '0', '--preserve-digests', '--dest-cert-dir', certDir, `oci:${image.layout}:${image.ref}`, dest], opts);
    const served = (await run('skopeo', [...flags, 'inspect', '--raw', '--cert-dir', certDir, dest], opts)).stdoutBytes;
    assert.deepEqual(served, readBlob(image.layout, image.descriptor.digest), 'the manifest comes back byte for byte');
    const pulled = join(dir, 'pulled');
    await run('skopeo', [...flags, 'copy', '--retry-times', '0', '--src-cert-dir', certDir, dest, `oci:${pulled}:v1`], opts);
    for (const layer of (JSON.parse(served.toString()) as { layers: { digest: string }[] }).layers) {
      assert.deepEqual(readBlob(pulled, layer.digest), readBlob(image.layout, layer.digest), `layer ${layer.digest} pulled over TLS`);
    }
  });
});
