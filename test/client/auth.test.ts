// The auth flow against real servers: Basic against the reference registry with an htpasswd file, Bearer
// through the token server in front of Wharf (token caching, expiry, scope widening for mounts and from
// challenges, credentials from a credential helper, OAuth2 refresh tokens), and redirects to a storage
// origin that must never see the registry's Authorization header. Plus the WWW-Authenticate parser.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  RegistryClient,
  Transport,
  UnauthorizedError,
  TokenError,
  dockerCredentials,
  parseWwwAuthenticate,
  scopeSet,
  coversScopes,
  formatScopes,
} from '../../src/client/index.js';
import { startTokenServer, type TokenServer } from './token-server.js';
import { buildImage, pushImage, randomData, readAll, removeDir, sha256, startReference, startWharf, tempDir, uniqueRepo, writeHtpasswd, type Target } from './helpers.js';

describe('WWW-Authenticate parsing', () => {
  test('Bearer with quoted parameters, escapes and several scopes', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"');
    assert.equal(c!.scheme, 'bearer');
    assert.deepEqual(c!.params, {
      realm: 'https://auth.example/token',
      service: 'registry.example',
      scope: 'repository:a/b:pull,push repository:c:pull',
      error: 'insufficient_scope',
    });
    const [d] = parseWwwAuthenticate('bearer  Realm = "a\\"b" , service=plain');
    assert.deepEqual(d!.params, { realm: 'a"b', service: 'plain' });
  });

  test('several challenges in one header and over several headers; token68', () => {
    const cs = parseWwwAuthenticate(['Basic realm="r1", Bearer realm="https://t/x",service="s"', 'Negotiate abc123==, NTLM']);
    assert.deepEqual(
      cs.map((c) => c.scheme),
      ['basic', 'bearer', 'negotiate', 'ntlm'],
    );
    assert.equal(cs[0]!.params.realm, 'r1');
    assert.equal(cs[1]!.params.service, 's');
    assert.equal(cs[2]!.token68, 'abc123==');
    assert.deepEqual(parseWwwAuthenticate('Basic'), [{ scheme: 'basic', params: {} }]);
    assert.deepEqual(parseWwwAuthenticate(''), []);
    // Garbage never throws and never yields parameters.
    assert.ok(parseWwwAuthenticate(',,, "junk =').every((c) => Object.keys(c.params).length === 0), 'parseWwwAuthenticate(\',,, "junk =\').every((c) => Object.keys(c.params).length === 0)');
  });

  test('scopes merge per resource and a wider grant covers a narrower request', () => {
    const granted = scopeSet(['repository:a:pull,push', 'repository:b:pull']);
    assert.ok(coversScopes(granted, scopeSet(['repository:a:pull'])), 'coversScopes(granted, scopeSet([\'repository:a:pull\']))');
    assert.ok(!coversScopes(granted, scopeSet(['repository:b:push'])), '!coversScopes(granted, scopeSet([\'repository:b:push\']))');
    assert.ok(coversScopes(scopeSet(['registry:catalog:*']), scopeSet(['registry:catalog:*'])), 'coversScopes(scopeSet([\'registry:catalog:*\']), scopeSet([\'registry:catalog:*\']))');
    assert.deepEqual(formatScopes(scopeSet(['repository:x:push', 'repository:x:pull repository:host:5000/y:pull'])), [
      'repository:host:5000/y:pull',
      'repository:x:pull,push',
    ]);
  });
});

describe('Basic auth against the reference registry (htpasswd)', () => {
  let dir: string;
  let target: Target;

  before(async () => {
    dir = tempDir('wharf-client-basic-');
    target = await startReference({ htpasswd: writeHtpasswd(dir, { alice: 's3cret' }) });
  });

  after(async () => {
    await target?.close();
    removeDir(dir);
  });

  test('credentials from DOCKER_CONFIG: push, pull, list', async () => {
    const config = join(dir, 'docker');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [target.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const client = new RegistryClient(target.host, { credentials: dockerCredentials({ env: { DOCKER_CONFIG: config, HOME: dir } }) });
    try {
      await client.ping();
      const repo = uniqueRepo();
      const image = buildImage();
      await pushImage(client, repo, image, 'v1');
      assert.ok((await client.getManifest(repo, 'v1')).bytes.equals(image.manifest), '(await client.getManifest(repo, \'v1\')).bytes.equals(image.manifest)');
      assert.ok((await readAll(await client.getBlob(repo, sha256(image.layers[0]!)))).equals(image.layers[0]!), '(await readAll(await client.getBlob(repo, sha256(image.layers[0]!)))).equals(image.layers[0]!)');
      assert.deepEqual(await client.listTags(repo).collect(), ['v1']);
    } finally {
      await client.close();
    }
  });

  test('no credentials or a wrong password: UnauthorizedError with the registry error', async () => {
    for (const credentials of [false as const, { username: 'alice', password: 'wrong' }]) {
      const client = new RegistryClient(target.host, { credentials });
      try {
        await assert.rejects(client.ping(), (e: unknown) => e instanceof UnauthorizedError && e.status === 401 && e.code === 'UNAUTHORIZED');
        await assert.rejects(client.headBlob('a/b', sha256('x')), (e: unknown) => e instanceof UnauthorizedError);
      } finally {
        await client.close();
      }
    }
  });
});

describe('Bearer tokens through the token server in front of Wharf', () => {
  let wharf: Target;
  let tokens: TokenServer;
  let storage: Server;
  let storageUrl: string;
  const storageHeaders: IncomingHttpHeaders[] = [];
  let dir: string;

  before(async () => {
    dir = tempDir('wharf-client-bearer-');
    wharf = await startWharf();
    // A "storage" origin that serves redirected blob GETs from Wharf and records what it was sent.
    storage = createServer((req, res) => {
      storageHeaders.push(req.headers);
      const path = new URL(req.url!, 'http://x').pathname;
      const i = path.lastIndexOf('/');
      const up = httpRequest(`${wharf.url}/v2${path.slice(0, i)}/blobs${path.slice(i)}`, (upRes) => {
        res.writeHead(upRes.statusCode!, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end();
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', () => r()));
    storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
    tokens = await startTokenServer({
      upstream: wharf.url,
      users: { bob: 'hunter2' },
      refreshTokens: { 'refresh-bob': 'bob' },
      redirectBlobsTo: storageUrl,
    });
  });

  after(async () => {
    await tokens?.close();
    storage?.closeAllConnections();
    await new Promise<void>((r) => (storage ? storage.close(() => r()) : r()));
    await wharf?.close();
    removeDir(dir);
  });

  test('push and pull with a user; tokens are cached per scope; blob redirects drop Authorization', async () => {
    const client = new RegistryClient(tokens.host, { credentials: { username: 'bob', password: 'hunter2' } });
    try {
      const before = tokens.tokenRequests.length;
      await client.ping();
      const repo = uniqueRepo();
      const image = buildImage({ layers: [randomData(5000), randomData(7000)] });
      await pushImage(client, repo, image, 'v1');
      const pushTokens = tokens.tokenRequests.length - before;
      // One token for /v2/ (no scope), one for pull (the HEADs), one for pull,push: not one per request.
      assert.ok(pushTokens <= 3, `${pushTokens} token requests for a push`);
      for (const t of tokens.tokenRequests.slice(before)) assert.equal(t.user, 'bob');

      const layer = image.layers[1]!;
      storageHeaders.length = 0;
      assert.ok((await readAll(await client.getBlob(repo, sha256(layer)))).equals(layer), '(await readAll(await client.getBlob(repo, sha256(layer)))).equals(layer)');
      assert.equal(storageHeaders.length, 1, 'the blob came from the storage origin');
      assert.equal(storageHeaders[0]!.authorization, undefined, 'no Authorization header crossed origins');
      assert.ok(tokens.registryRequests.some((r) => r.outcome === 'redirected'), 'tokens.registryRequests.some((r) => r.outcome === \'redirected\')');
      assert.equal(tokens.tokenRequests.length - before, pushTokens, 'pull reused the pull,push token');
    } finally {
      await client.close();
    }
  });

  test('scope widening for a cross-repository mount', async () => {
    const client = new RegistryClient(tokens.host, { credentials: { username: 'bob', password: 'hunter2' } });
    try {
      const from = uniqueRepo('src');
      const to = uniqueRepo('dst');
      const data = randomData(3000);
      await client.uploadBlob(from, data);
      const mark = tokens.tokenRequests.length;
      const r = await client.uploadBlob(to, data, { mountFrom: from });
      assert.equal(r.mounted, true);
      const asked = tokens.tokenRequests.slice(mark).map((t) => t.scopes.sort().join(' '));
      assert.ok(asked.includes(`repository:${to}:pull,push repository:${from}:pull`.split(' ').sort().join(' ')), `token requests: ${JSON.stringify(asked)}`);

      // A request that names too narrow a scope is widened from the registry's challenge.
      const other = uniqueRepo('dst');
      const mark2 = tokens.tokenRequests.length;
      const url = `${await client.baseUrl()}/v2/${other}/blobs/uploads/?mount=${sha256(data)}&from=${from}`;
      const res = await client.transport.request('POST', url, { scope: `repository:${other}:pull,push` });
      await res.dump();
      assert.equal(res.status, 201, 'mounted after widening');
      const widened = tokens.tokenRequests.slice(mark2).map((t) => t.scopes.join(' '));
      assert.ok(widened.some((s) => s.includes(`repository:${from}:pull`) && s.includes(`repository:${other}:pull,push`)), JSON.stringify(widened));
    } finally {
      await client.close();
    }
  });

  test('a request with no scope learns it from the challenge', async () => {
    const client = new RegistryClient(tokens.host, { credentials: { username: 'bob', password: 'hunter2' } });
    try {
      const repo = uniqueRepo();
      await pushImage(client, repo, buildImage(), 'v1');
      const fresh = new RegistryClient(tokens.host, { credentials: { username: 'bob', password: 'hunter2' } });
      try {
        const res = await fresh.transport.request('GET', `${await fresh.baseUrl()}/v2/${repo}/tags/list`);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { name: repo, tags: ['v1'] });
      } finally {
        await fresh.close();
      }
    } finally {
      await client.close();
    }
  });

  test('anonymous: pulls work, pushes are refused with UnauthorizedError', async () => {
    const owner = new RegistryClient(tokens.host, { credentials: { username: 'bob', password: 'hunter2' } });
    const anon = new RegistryClient(tokens.host, { credentials: false });
    try {
      const repo = uniqueRepo();
      const image = buildImage();
      await pushImage(owner, repo, image, 'v1');
      assert.ok((await anon.getManifest(repo, 'v1')).bytes.equals(image.manifest), '(await anon.getManifest(repo, \'v1\')).bytes.equals(image.manifest)');
      assert.ok(tokens.tokenRequests.some((t) => t.user === undefined), 'tokens.tokenRequests.some((t) => t.user === undefined)');
      await assert.rejects(anon.uploadBlob(repo, randomData(100)), (e: unknown) => e instanceof UnauthorizedError && e.status === 401);
      // A streamed body cannot be sent twice: the client learns the challenge first and still fails cleanly.
      await assert.rejects(anon.putManifest(repo, 'v2', image.manifest), UnauthorizedError);
    } finally {
      await owner.close();
      await anon.close();
    }
  });

  test('wrong password: the token endpoint refuses with TokenError', async () => {
    const client = new RegistryClient(tokens.host, { credentials: { username: 'bob', password: 'nope' } });
    try {
      await assert.rejects(client.ping(), (e: unknown) => e instanceof TokenError && e.status === 401);
    } finally {
      await client.close();
    }
  });

  test('credentials from a docker-credential-* helper on PATH', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'docker-credential-test'), `#!/bin/sh\nread -r s\n[ "$s" = "${tokens.host}" ] || { echo "credentials not found"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"bob","Secret":"hunter2"}' "$s"\n`);
    chmodSync(join(bin, 'docker-credential-test'), 0o755);
    const config = join(dir, 'helper-config');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ credHelpers: { [tokens.host]: 'test' } }));
    const client = new RegistryClient(tokens.host, {
      credentials: dockerCredentials({ env: { PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: config, HOME: dir } }),
    });
    try {
      const mark = tokens.tokenRequests.length;
      const r = await client.uploadBlob(uniqueRepo(), randomData(500));
      assert.equal(r.existed, false);
      assert.ok(tokens.tokenRequests.slice(mark).every((t) => t.user === 'bob'), 'tokens.tokenRequests.slice(mark).every((t) => t.user === \'bob\')');
    } finally {
      await client.close();
    }
  });

  test('an identity token is exchanged with the OAuth2 refresh-token POST', async () => {
    const client = new RegistryClient(tokens.host, { credentials: { identityToken: 'refresh-bob' } });
    try {
      const mark = tokens.tokenRequests.length;
      await client.uploadBlob(uniqueRepo(), randomData(500));
      const posts = tokens.tokenRequests.slice(mark);
      assert.ok(posts.length > 0 && posts.every((t) => t.method === 'POST' && t.user === 'bob'), JSON.stringify(posts));
    } finally {
      await client.close();
    }
  });

  test('an expired token is replaced', async () => {
    let now = Date.now();
    const transport = new Transport({ credentials: { username: 'bob', password: 'hunter2' }, now: () => now });
    const client = new RegistryClient(tokens.host, { transport });
    try {
      const repo = uniqueRepo();
      await client.uploadBlob(repo, randomData(100));
      const mark = tokens.tokenRequests.length;
      await client.headBlob(repo, sha256('x'));
      assert.equal(tokens.tokenRequests.length, mark, 'cached');
      now += 3600_000;
      await client.headBlob(repo, sha256('x'));
      assert.equal(tokens.tokenRequests.length, mark + 1, 'fetched again after expiry');
    } finally {
      await transport.close();
    }
  });
});
