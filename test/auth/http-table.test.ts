// Every endpoint × {anonymous, reader, writer, another repository's writer, admin, expired token, token for
// another service} → status and error code, against the built-in token service. Each caller asks /token for
// the scope the request needs (as clients do after a challenge) and sends the token it gets.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { startAuthRegistry, tokenFor, accessOf, type AuthRegistry } from './helpers.js';
import { loadSigningKey } from '../../src/auth/signing-key.js';
import { TokenService } from '../../src/auth/tokens.js';
import { authSchema } from '../../src/auth/config.js';

const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const ociManifest = 'application/vnd.oci.image.manifest.v1+json';

const principals = ['anonymous', 'reader', 'writer', 'other', 'admin', 'expired', 'foreign'] as const;
type Who = (typeof principals)[number];
const users = { reader: 'reader-pw', writer: 'writer-pw', other: 'other-pw', admin: 'admin-pw' };

const authConfig = {
  token: { issuer: 'wharf-table', service: 'wharf' },
  admins: ['admin'],
  policies: [
    { repositories: ['team/**'], users: ['reader'], actions: ['pull'] },
    { repositories: ['team/**'], users: ['writer'], actions: ['pull', 'push', 'delete'] },
    { repositories: ['other/**'], users: ['other'], actions: ['pull', 'push', 'delete'] },
    { repositories: ['**'], users: ['*'], actions: ['catalog'] },
  ],
};

interface Image {
  manifest: Buffer;
  digest: string;
  config: Buffer;
  layer: Buffer;
}

function image(): Image {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(4).toString('hex') }));
  const layer = randomBytes(100);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { manifest, digest: sha256(manifest), config, layer };
}

/** One row: a request and the expected status per caller (a number, or [status, code]). */
interface Row {
  what: string;
  method: string;
  /** Path for this caller (destructive rows use per-caller objects). */
  path: (who: Who) => string;
  scopes: (who: Who) => string[];
  body?: Buffer;
  headers?: Record<string, string>;
  expect: Record<Who, number>;
}

const codeFor: Record<number, string | undefined> = { 401: 'UNAUTHORIZED', 403: 'DENIED' };

describe('access control table (token service)', () => {
  let reg: AuthRegistry;
  let team: Image;
  let other: Image;
  let expiredService: TokenService;
  let foreignService: TokenService;
  const sessions = new Map<Who, string>();
  const deletable = new Map<Who, string>();

  async function adminFetch(method: string, path: string, scopes: string[], init: { body?: Buffer; headers?: Record<string, string> } = {}): Promise<Response> {
    const token = await tokenFor(reg.url, 'admin', users.admin, scopes);
    const req: RequestInit = { method, headers: { authorization: `Bearer ${token}`, ...init.headers }, redirect: 'manual' };
    if (init.body) req.body = init.body;
    return fetch(new URL(path, reg.url), req);
  }

  async function pushBlob(repo: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const res = await adminFetch('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, [`repository:${repo}:pull,push`], { body: data, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(res.status, 201, `seed blob into ${repo}: ${await res.text()}`);
    return digest;
  }

  async function pushImage(repo: string, img: Image, tag: string): Promise<void> {
    await pushBlob(repo, img.config);
    await pushBlob(repo, img.layer);
    const res = await adminFetch('PUT', `/v2/${repo}/manifests/${tag}`, [`repository:${repo}:pull,push`], { body: img.manifest, headers: { 'content-type': ociManifest } });
    assert.equal(res.status, 201, `seed manifest ${repo}:${tag}: ${await res.text()}`);
  }

  before(async () => {
    reg = await startAuthRegistry(authConfig, users);
    team = image();
    other = image();
    await pushImage('team/app', team, 'v1');
    await pushImage('other/app', other, 'v1');
    await pushImage('team/copy', image(), 'v1');
    for (const who of principals) {
      const tag = `del-${who}`;
      const res = await adminFetch('PUT', `/v2/team/app/manifests/${tag}`, ['repository:team/app:pull,push'], { body: team.manifest, headers: { 'content-type': ociManifest } });
      assert.equal(res.status, 201, 'seed deletable tag');
      deletable.set(who, await pushBlob('team/app', randomBytes(32)));
      const up = await adminFetch('POST', '/v2/team/app/blobs/uploads/', ['repository:team/app:pull,push']);
      assert.equal(up.status, 202, 'seed upload session');
      sessions.set(who, up.headers.get('location')!);
    }
    const key = loadSigningKey(undefined, join(reg.dir, 'data'));
    const tokenConfig = authSchema.parse({ token: authConfig.token }).token!;
    expiredService = new TokenService(tokenConfig, key);
    foreignService = new TokenService({ ...tokenConfig, service: 'another-registry' }, key);
  });
  after(async () => reg?.close());

  /** The Authorization header a caller sends for a request needing `scopes`. */
  async function authorization(who: Who, scopes: string[]): Promise<string | undefined> {
    const everything = [{ type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] }];
    switch (who) {
      case 'anonymous':
        return undefined;
      case 'expired':
        return `Bearer ${(await expiredService.issueAccess('writer', everything, Date.now() - 3600_000)).token}`;
      case 'foreign':
        return `Bearer ${(await foreignService.issueAccess('writer', everything)).token}`;
      default:
        return `Bearer ${await tokenFor(reg.url, who, users[who], scopes)}`;
    }
  }

  const pull = ['repository:team/app:pull'];
  const push = ['repository:team/app:pull,push'];
  const readers = { anonymous: 401, reader: 200, writer: 200, other: 403, admin: 200, expired: 401, foreign: 401 };
  const pushers = (ok: number) => ({ anonymous: 401, reader: 403, writer: ok, other: 403, admin: ok, expired: 401, foreign: 401 });

  const rows: Row[] = [
    { what: 'GET /v2/', method: 'GET', path: () => '/v2/', scopes: () => [], expect: { anonymous: 401, reader: 200, writer: 200, other: 200, admin: 200, expired: 401, foreign: 401 } },
    { what: 'GET catalog', method: 'GET', path: () => '/v2/_catalog', scopes: () => ['registry:catalog:*'], expect: { anonymous: 401, reader: 200, writer: 200, other: 200, admin: 200, expired: 401, foreign: 401 } },
    { what: 'GET tags', method: 'GET', path: () => '/v2/team/app/tags/list', scopes: () => pull, expect: readers },
    { what: 'GET manifest', method: 'GET', path: () => '/v2/team/app/manifests/v1', scopes: () => pull, expect: readers },
    { what: 'HEAD manifest', method: 'HEAD', path: () => '/v2/team/app/manifests/v1', scopes: () => pull, expect: readers },
    { what: 'GET blob', method: 'GET', path: () => `/v2/team/app/blobs/${sha256(team.layer)}`, scopes: () => pull, expect: readers },
    { what: 'HEAD blob', method: 'HEAD', path: () => `/v2/team/app/blobs/${sha256(team.layer)}`, scopes: () => pull, expect: readers },
    { what: 'GET referrers', method: 'GET', path: () => `/v2/team/app/referrers/${team.digest}`, scopes: () => pull, expect: readers },
    { what: 'GET manifest of an absent repository (401 before 404)', method: 'GET', path: () => '/v2/team/nope/manifests/v1', scopes: () => ['repository:team/nope:pull'], expect: { anonymous: 401, reader: 404, writer: 404, other: 403, admin: 404, expired: 401, foreign: 401 } },
    { what: 'GET manifest of the other repository', method: 'GET', path: () => '/v2/other/app/manifests/v1', scopes: () => ['repository:other/app:pull'], expect: { anonymous: 401, reader: 403, writer: 403, other: 200, admin: 200, expired: 401, foreign: 401 } },
    { what: 'PUT manifest', method: 'PUT', path: (w) => `/v2/team/app/manifests/new-${w}`, scopes: () => push, body: undefined, headers: { 'content-type': ociManifest }, expect: pushers(201) },
    { what: 'DELETE manifest (tag)', method: 'DELETE', path: (w) => `/v2/team/app/manifests/del-${w}`, scopes: () => ['repository:team/app:delete'], expect: pushers(202) },
    { what: 'DELETE blob', method: 'DELETE', path: (w) => `/v2/team/app/blobs/${deletable.get(w)}`, scopes: () => ['repository:team/app:delete'], expect: pushers(202) },
    { what: 'POST upload', method: 'POST', path: () => '/v2/team/app/blobs/uploads/', scopes: () => push, expect: pushers(202) },
    { what: 'GET upload session', method: 'GET', path: (w) => sessions.get(w)!, scopes: () => pull, expect: { ...readers, reader: 204, writer: 204, admin: 204 } },
    { what: 'PATCH upload session', method: 'PATCH', path: (w) => sessions.get(w)!, scopes: () => push, headers: { 'content-type': 'application/octet-stream' }, expect: pushers(202) },
    { what: 'DELETE upload session', method: 'DELETE', path: (w) => sessions.get(w)!, scopes: () => ['repository:team/app:delete'], expect: pushers(204) },
    { what: 'POST mount from a readable repository', method: 'POST', path: () => `/v2/team/copy/blobs/uploads/?mount=${sha256(team.layer)}&from=team/app`, scopes: () => ['repository:team/copy:pull,push', 'repository:team/app:pull'], expect: pushers(201) },
    {
      what: 'POST mount from a repository the caller may not pull (falls back to an upload)',
      method: 'POST',
      path: () => `/v2/team/app/blobs/uploads/?mount=${sha256(other.layer)}&from=other/app`,
      scopes: () => ['repository:team/app:pull,push', 'repository:other/app:pull'],
      expect: { anonymous: 401, reader: 403, writer: 202, other: 403, admin: 201, expired: 401, foreign: 401 },
    },
    { what: 'GET API keys (admins only)', method: 'GET', path: () => '/v2/_wharf/tokens', scopes: () => ['registry:admin:*'], expect: { anonymous: 401, reader: 403, writer: 403, other: 403, admin: 200, expired: 401, foreign: 401 } },
  ];

  for (const row of rows) {
    for (const who of principals) {
      const want = row.expect[who];
      test(`${row.what} as ${who} → ${want}`, async () => {
        const headers: Record<string, string> = { ...row.headers };
        const auth = await authorization(who, row.scopes(who));
        if (auth) headers.authorization = auth;
        const init: RequestInit = { method: row.method, headers, redirect: 'manual' };
        const body = row.what === 'PUT manifest' ? team.manifest : row.method === 'PATCH' ? Buffer.from('chunk') : row.body;
        if (body) init.body = body;
        const res = await fetch(new URL(row.path(who), reg.url), init);
        const text = await res.text();
        assert.equal(res.status, want, `${row.method} ${row.path(who)} as ${who}: ${text}`);
        const code = codeFor[want];
        if (code && row.method !== 'HEAD') assert.equal((JSON.parse(text) as { errors: { code: string }[] }).errors[0]?.code, code, text);
        if (want === 401) {
          const challenge = res.headers.get('www-authenticate') ?? '';
          assert.match(challenge, /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="wharf"/);
          const needed = row.path(who).startsWith('/v2/_wharf') ? 'registry:admin:*' : row.scopes(who)[0];
          if (row.what !== 'GET /v2/') assert.ok(challenge.includes(`scope="${needed}"`), `challenge names the scope the request needs: ${challenge}`);
          if (who === 'expired' || who === 'foreign') assert.ok(challenge.includes('error="invalid_token"'), challenge);
        }
      });
    }
  }

  test('the catalog lists only repositories the caller may pull, in full pages', async () => {
    const list = async (who: 'reader' | 'other' | 'admin', query = '') => {
      const res = await fetch(new URL(`/v2/_catalog${query}`, reg.url), { headers: { authorization: (await authorization(who, ['registry:catalog:*']))! } });
      return { body: (await res.json()) as { repositories: string[] }, link: res.headers.get('link') };
    };
    assert.deepEqual((await list('reader')).body.repositories, ['team/app', 'team/copy']);
    assert.deepEqual((await list('other')).body.repositories, ['other/app']);
    assert.deepEqual((await list('admin')).body.repositories, ['other/app', 'team/app', 'team/copy']);
    const first = await list('reader', '?n=1');
    assert.deepEqual(first.body.repositories, ['team/app']);
    assert.equal(first.link, '</v2/_catalog?n=1&last=team%2Fapp>; rel="next"', 'the Link names a repository the caller may see');
    assert.deepEqual((await list('reader', '?n=1&last=team%2Fapp')).body.repositories, ['team/copy']);
  });

  test('a token lacking a scope the caller could get: 401 with the scope and insufficient_scope; a wider token works', async () => {
    const narrow = await tokenFor(reg.url, 'writer', users.writer, ['repository:team/app:pull']);
    assert.deepEqual(accessOf(narrow), [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    const res = await fetch(new URL('/v2/team/app/blobs/uploads/', reg.url), { method: 'POST', headers: { authorization: `Bearer ${narrow}` } });
    assert.equal(res.status, 401);
    await res.arrayBuffer();
    const challenge = res.headers.get('www-authenticate') ?? '';
    assert.ok(challenge.includes('scope="repository:team/app:pull,push"') && challenge.includes('error="insufficient_scope"'), challenge);
    const wide = await tokenFor(reg.url, 'writer', users.writer, ['repository:team/app:pull,push']);
    const again = await fetch(new URL('/v2/team/app/blobs/uploads/', reg.url), { method: 'POST', headers: { authorization: `Bearer ${wide}` } });
    assert.equal(again.status, 202);
    await again.arrayBuffer();
  });

  test('Basic credentials are accepted too; a wrong password is 401, never anonymous', async () => {
    const ok = await fetch(new URL('/v2/team/app/tags/list', reg.url), { headers: { authorization: 'Basic ' + Buffer.from('reader:reader-pw').toString('base64') } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const bad = await fetch(new URL('/v2/team/app/tags/list', reg.url), { headers: { authorization: 'Basic ' + Buffer.from('reader:nope').toString('base64') } });
    assert.equal(bad.status, 401);
    await bad.arrayBuffer();
  });
});
