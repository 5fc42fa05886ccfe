// Tokens from external issuers: a tiny loopback "docker_auth" serves its JWKS and a token endpoint (granting
// whatever it is asked, as its own policy would); another issuer is configured by a public key file. Wharf
// runs no token service of its own and sends clients to the external realm.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK } from 'jose';
import { startAuthRegistry, type AuthRegistry } from './helpers.js';
import { libtrustKeyId } from '../../src/auth/signing-key.js';
import { RegistryClient, staticCredentials } from '../../src/client/index.js';
import { parseScopes } from '../../src/auth/scope.js';
import { tempDir, removeDir } from '../helpers/processes.js';

interface Issuer {
  name: string;
  key: KeyObject;
  kid: string;
}

async function sign(issuer: Issuer, claims: { aud: string; sub?: string; access: unknown; expSeconds?: number }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ access: claims.access })
    .setProtectedHeader({ alg: issuer.key.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256', kid: issuer.kid, typ: 'JWT' })
    .setIssuer(issuer.name)
    .setAudience(claims.aud)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expSeconds ?? 300));
  if (claims.sub) jwt.setSubject(claims.sub);
  return jwt.sign(issuer.key);
}

describe('external issuers (JWKS URL and public key file)', () => {
  const jwksIssuer: Issuer = { name: 'ext-auth', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: 'k1' };
  const fileIssuer: Issuer = { name: 'file-auth', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: 'f1' };
  const bundleA: Issuer = { name: 'bundle-auth', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: '' };
  const bundleB: Issuer = { name: 'bundle-auth', key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, kid: '' };
  const stranger: Issuer = { name: 'ext-auth', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: 'k1' };
  const dir = tempDir('wharf-ext-');
  let auth: Server;
  let authUrl = '';
  let jwksFetches = 0;
  let reg: AuthRegistry;

  before(async () => {
    const publicJwk = { ...(await exportJWK(jwksIssuer.key)), kid: jwksIssuer.kid, alg: 'ES256', use: 'sig' };
    delete (publicJwk as { d?: string }).d;
    auth = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/jwks') {
        jwksFetches++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
        return;
      }
      if (u.pathname === '/auth') {
        const access = parseScopes(u.searchParams.getAll('scope'));
        void sign(jwksIssuer, { aud: u.searchParams.get('service') ?? '', sub: 'ci', access }).then((token) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 })));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
    authUrl = `http://127.0.0.1:${(auth.address() as AddressInfo).port}`;
    const pem = join(dir, 'file-auth.pub.pem');
    writeFileSync(pem, createPublicKey(fileIssuer.key).export({ type: 'spki', format: 'pem' }));
    // A certificate bundle (as docker_auth and Distribution's rootcertbundle use): two certificates, told apart by kid.
    const certs: string[] = [];
    for (const [i, b] of [bundleA, bundleB].entries()) {
      b.kid = libtrustKeyId(createPublicKey(b.key).export({ type: 'spki', format: 'der' }));
      const keyFile = join(dir, `bundle-${i}.key`);
      writeFileSync(keyFile, b.key.export({ type: 'pkcs8', format: 'pem' }));
      execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-out', join(dir, `bundle-${i}.crt`), '-days', '2', '-subj', `/CN=bundle ${i}`], { stdio: 'pipe', timeout: 20_000 });
      certs.push(readFileSync(join(dir, `bundle-${i}.crt`), 'utf8'));
    }
    writeFileSync(join(dir, 'bundle.crt'), certs.join(''));
    reg = await startAuthRegistry({
      external: [
        { issuer: 'ext-auth', service: 'registry.test', jwks: `${authUrl}/jwks`, realm: `${authUrl}/auth` },
        { issuer: 'file-auth', service: 'registry.test', publicKey: pem },
        { issuer: 'bundle-auth', service: 'registry.test', publicKey: join(dir, 'bundle.crt') },
      ],
    });
  });
  after(async () => {
    await reg?.close();
    await new Promise<void>((r) => auth?.close(() => r()));
    removeDir(dir);
  });

  const get = (path: string, token?: string, method = 'GET') => fetch(new URL(path, reg.url), { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

  test('challenges name the external realm and service', async () => {
    const res = await get('/v2/a/b/tags/list');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${authUrl}/auth",service="registry.test",scope="repository:a/b:pull"`);
    await res.arrayBuffer();
  });

  test('a token from the JWKS issuer grants what its access claim says', async () => {
    const token = await sign(jwksIssuer, { aud: 'registry.test', sub: 'ci', access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }] });
    const ok = await get('/v2/a/b/tags/list', token);
    assert.equal(ok.status, 404, 'allowed through (the repository does not exist)');
    await ok.arrayBuffer();
    const push = await get('/v2/a/b/blobs/uploads/', token, 'POST');
    assert.equal(push.status, 401);
    assert.match(push.headers.get('www-authenticate') ?? '', /scope="repository:a\/b:pull,push",error="insufficient_scope"/);
    await push.arrayBuffer();
    assert.ok(jwksFetches >= 1, 'the JWKS was fetched');
  });

  test('wrong audience, unknown signing key and expiry are refused', async () => {
    const access = [{ type: 'repository', name: 'a/b', actions: ['pull'] }];
    for (const [what, token] of [
      ['another service', await sign(jwksIssuer, { aud: 'other.registry', access })],
      ['a key not in the JWKS', await sign(stranger, { aud: 'registry.test', access })],
      ['expired', await sign(jwksIssuer, { aud: 'registry.test', access, expSeconds: -60 })],
    ] as const) {
      const res = await get('/v2/a/b/tags/list', token);
      assert.equal(res.status, 401, what);
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/, what);
      await res.arrayBuffer();
    }
  });

  test('a token from the public-key-file issuer is accepted', async () => {
    const token = await sign(fileIssuer, { aud: 'registry.test', access: [{ type: 'repository', name: 'f/x', actions: ['pull'] }] });
    const res = await get('/v2/f/x/tags/list', token);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });

  test('a certificate bundle: each certificate verifies the tokens whose kid names it', async () => {
    const access = [{ type: 'repository', name: 'b/x', actions: ['pull'] }];
    for (const issuer of [bundleA, bundleB]) {
      const res = await get('/v2/b/x/tags/list', await sign(issuer, { aud: 'registry.test', access }));
      assert.equal(res.status, 404, `${issuer.key.asymmetricKeyType} key of the bundle`);
      await res.arrayBuffer();
    }
    const wrongKid = await get('/v2/b/x/tags/list', await sign({ ...bundleA, kid: bundleB.kid }, { aud: 'registry.test', access }));
    assert.equal(wrongKid.status, 401, 'a kid naming another certificate does not verify');
    await wrongKid.arrayBuffer();
  });

  test('the client library pushes and pulls through the external token endpoint', async () => {
    const client = new RegistryClient(reg.host, { credentials: staticCredentials({ username: 'ci', password: 'x' }) });
    try {
      const blob = Buffer.from('external issuer blob');
      const up = await client.uploadBlob('ext/app', blob);
      const back = await client.getBlob('ext/app', up.digest);
      const chunks: Buffer[] = [];
      for await (const c of back) chunks.push(c as Buffer);
      assert.deepEqual(Buffer.concat(chunks), blob);
    } finally {
      await client.close();
    }
  });
});

