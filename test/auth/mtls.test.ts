// Mutual TLS as an authentication: a verified client certificate's subject CN is the user the policies see,
// when the request carries no Authorization header; without a certificate the caller is anonymous (401).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import { makeCA, makeLeaf, type PEMPair } from '../server/tls-certs.js';
import { htpasswdText, basic } from './helpers.js';

function send(url: string, method: string, path: string, ca: Buffer, client?: PEMPair, authorization?: string): Promise<{ status: number; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, url),
      {
        method,
        agent: false,
        ca,
        cert: client ? readFileSync(client.cert) : undefined,
        key: client ? readFileSync(client.key) : undefined,
        headers: authorization ? { authorization } : {},
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('client certificates as authentication', () => {
  const dir = tempDir('wharf-auth-mtls-');
  let running: RunningRegistry;
  let url = '';
  let ca: PEMPair;
  let alice: PEMPair;
  let bob: PEMPair;
  before(async () => {
    ca = makeCA(dir, 'ca');
    makeLeaf(dir, ca, 'server', '127.0.0.1', 'server');
    alice = makeLeaf(dir, ca, 'alice', 'alice', 'client');
    bob = makeLeaf(dir, ca, 'bob', 'bob', 'client');
    writeFileSync(join(dir, 'htpasswd'), htpasswdText({ carol: 'carol-secret' }));
    writeFileSync(
      join(dir, 'wharf.yaml'),
      JSON.stringify({
        data: './data',
        tls: { certificate: 'server.crt', key: 'server.key', clientCA: 'ca.crt', clientAuth: 'request' },
        auth: {
          htpasswd: './htpasswd',
          policies: [
            { repositories: ['alice/**'], users: ['alice', 'carol'], actions: ['pull', 'push'] },
            { repositories: ['**'], users: ['bob'], actions: ['pull'] },
          ],
        },
      }),
    );
    running = await startRegistry(loadConfig({ config: join(dir, 'wharf.yaml'), listen: '127.0.0.1:0' }, {}), pino({ level: 'silent' }));
    url = running.url.replace(/^http:/, 'https:');
  });
  after(async () => {
    await running?.close();
    removeDir(dir);
  });

  test('the certificate CN is the user: alice pushes, bob is denied, no certificate is 401', async () => {
    const caPem = readFileSync(ca.cert);
    assert.equal((await send(url, 'POST', '/v2/alice/app/blobs/uploads/', caPem, alice)).status, 202);
    assert.equal((await send(url, 'POST', '/v2/alice/app/blobs/uploads/', caPem, bob)).status, 403);
    assert.equal((await send(url, 'GET', '/v2/alice/app/tags/list', caPem, bob)).status, 404, 'bob may pull: past access control (no tags pushed yet)');
    const anon = await send(url, 'GET', '/v2/alice/app/tags/list', caPem);
    assert.equal(anon.status, 401);
    assert.match(anon.challenge ?? '', /^Basic realm=/);
  });

  test('an Authorization header wins over the certificate', async () => {
    const caPem = readFileSync(ca.cert);
    assert.equal((await send(url, 'POST', '/v2/alice/app/blobs/uploads/', caPem, bob, basic('carol', 'carol-secret'))).status, 202);
    assert.equal((await send(url, 'POST', '/v2/alice/app/blobs/uploads/', caPem, alice, basic('carol', 'wrong'))).status, 401);
  });
});
