// The built-in token service: GET /token (Basic or anonymous, scopes, offline tokens), the OAuth2 POST form
// (password and refresh_token grants), API keys as passwords, and no secrets in the request log.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startAuthRegistry, getToken, accessOf, basic, type AuthRegistry } from './helpers.js';

const policies = [
  { repositories: ['alice/**'], users: ['alice'], actions: ['pull', 'push', 'delete'] },
  { repositories: ['**'], users: ['bob'], actions: ['pull'] },
  { repositories: ['public/**'], anonymous: true, actions: ['pull'] },
];

function form(fields: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
}

describe('token endpoint', () => {
  let reg: AuthRegistry;
  const logLines: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString('utf8'));
        cb();
      },
    });
    reg = await startAuthRegistry({ token: { service: 'wharf', expirySeconds: 120 }, admins: ['root'], policies }, { alice: 'alice-secret', bob: 'bob-secret', root: 'root-secret' }, pino({ level: 'debug' }, sink));
  });
  after(async () => reg?.close());

  const post = (fields: Record<string, string>) => fetch(new URL('/token', reg.url), form(fields));

  test('GET with Basic credentials: token, access_token, expires_in, issued_at; access = asked ∩ allowed', async () => {
    const r = await getToken(reg.url, { user: 'alice', password: 'alice-secret', scopes: ['repository:alice/app:pull,push,delete', 'repository:bob/app:pull,push'] });
    assert.equal(r.status, 200);
    assert.equal(r.body.token, r.body.access_token);
    assert.equal(r.body.expires_in, 120);
    assert.ok(!Number.isNaN(Date.parse(r.body.issued_at ?? '')), 'issued_at is a date');
    assert.equal(r.body.refresh_token, undefined, 'no refresh token unless asked');
    assert.deepEqual(accessOf(r.body.token!), [{ type: 'repository', name: 'alice/app', actions: ['delete', 'pull', 'push'] }]);
  });

  test('anonymous: a token with what anonymous may do (public pull), nothing else', async () => {
    const r = await getToken(reg.url, { scopes: ['repository:public/x:pull,push', 'repository:alice/app:pull'] });
    assert.equal(r.status, 200);
    assert.deepEqual(accessOf(r.body.token!), [{ type: 'repository', name: 'public/x', actions: ['pull'] }]);
    const res = await fetch(new URL('/v2/public/x/tags/list', reg.url), { headers: { authorization: `Bearer ${r.body.token}` } });
    assert.equal(res.status, 404, 'the anonymous token passes access control (the repository is absent)');
    await res.arrayBuffer();
    const bare = await fetch(new URL('/v2/public/x/tags/list', reg.url));
    assert.equal(bare.status, 404, 'anonymous pull without any token works as well');
    await bare.arrayBuffer();
  });

  test('a wrong password is 401 with a Basic challenge; another service is 400', async () => {
    const bad = await getToken(reg.url, { user: 'alice', password: 'nope', scopes: ['repository:alice/app:pull'] });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.errors?.[0]?.code, 'UNAUTHORIZED');
    const res = await fetch(new URL('/token?service=wharf', reg.url), { headers: { authorization: basic('nobody', 'x') } });
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="wharf"/);
    await res.arrayBuffer();
    const other = await getToken(reg.url, { user: 'alice', password: 'alice-secret', service: 'someone-else' });
    assert.equal(other.status, 400);
  });

  test('offline_token=true gives a refresh token; the OAuth2 refresh grant trades it for new scopes', async () => {
    const r = await getToken(reg.url, { user: 'bob', password: 'bob-secret', offline: true, scopes: ['repository:x/y:pull'] });
    assert.ok(r.body.refresh_token, 'refresh token issued');
    const res = await post({ grant_type: 'refresh_token', refresh_token: r.body.refresh_token!, service: 'wharf', client_id: 'test', scope: 'repository:a/b:pull,push repository:c/d:pull' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; token: string; expires_in: number; scope: string };
    assert.deepEqual(accessOf(body.access_token), [
      { type: 'repository', name: 'a/b', actions: ['pull'] },
      { type: 'repository', name: 'c/d', actions: ['pull'] },
    ]);
    assert.equal(body.scope, 'repository:a/b:pull repository:c/d:pull');
    const bogus = await post({ grant_type: 'refresh_token', refresh_token: body.access_token, client_id: 'test' });
    assert.equal(bogus.status, 401, 'an access token is not a refresh token');
    await bogus.arrayBuffer();
  });

  test('POST grant_type=password with access_type=offline; bad password 401; unknown grant and wrong content type 400', async () => {
    const res = await post({ grant_type: 'password', username: 'alice', password: 'alice-secret', service: 'wharf', client_id: 'test', access_type: 'offline', scope: 'repository:alice/app:push' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; refresh_token?: string };
    assert.ok(body.refresh_token, 'a refresh token for offline access');
    assert.deepEqual(accessOf(body.access_token), [{ type: 'repository', name: 'alice/app', actions: ['push'] }]);
    const bad = await post({ grant_type: 'password', username: 'alice', password: 'wrong', client_id: 'test' });
    assert.equal(bad.status, 401);
    await bad.arrayBuffer();
    const grant = await post({ grant_type: 'client_credentials', client_id: 'test' });
    assert.equal(grant.status, 400);
    await grant.arrayBuffer();
    const json = await fetch(new URL('/token', reg.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 400);
    await json.arrayBuffer();
  });

  test('an API key works as a password (user = key name) until revoked; its refresh token stops working too', async () => {
    const admin = basic('root', 'root-secret');
    const created = await fetch(new URL('/v2/_wharf/tokens', reg.url), { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ci-bot', subject: 'alice', expires: '1d' }) });
    assert.equal(created.status, 201);
    const key = (await created.json()) as { secret: string; name: string; subject: string };
    assert.equal(key.subject, 'alice');
    const r = await getToken(reg.url, { user: 'ci-bot', password: key.secret, offline: true, scopes: ['repository:alice/app:pull,push'] });
    assert.equal(r.status, 200);
    assert.deepEqual(accessOf(r.body.token!), [{ type: 'repository', name: 'alice/app', actions: ['pull', 'push'] }], 'the key acts as its subject');
    const revoked = await fetch(new URL('/v2/_wharf/tokens/ci-bot', reg.url), { method: 'DELETE', headers: { authorization: admin } });
    assert.equal(revoked.status, 204);
    await revoked.arrayBuffer();
    assert.equal((await getToken(reg.url, { user: 'ci-bot', password: key.secret })).status, 401);
    const refresh = await post({ grant_type: 'refresh_token', refresh_token: r.body.refresh_token!, client_id: 'test' });
    assert.equal(refresh.status, 401);
    await refresh.arrayBuffer();
  });

  test('the request log holds no password, Authorization header or token', async () => {
    const secret = 'hunter2-in-query';
    const r = await fetch(new URL(`/token?service=wharf&password=${secret}&refresh_token=${secret}`, reg.url), { headers: { authorization: basic('alice', 'alice-secret') } });
    const token = ((await r.json()) as { token: string }).token;
    const use = await fetch(new URL('/v2/alice/app/tags/list', reg.url), { headers: { authorization: `Bearer ${token}` } });
    await use.arrayBuffer();
    await new Promise((res) => setTimeout(res, 50)); // the request line is logged on close
    const all = logLines.join('');
    assert.ok(all.includes('"path":"/token?service=wharf&password=REDACTED&refresh_token=REDACTED"'), 'the token request is logged, redacted');
    assert.ok(/"path":"\/v2\/alice\/app\/tags\/list"[^\n]*"user":"alice"/.test(all), 'the request line names the authenticated user');
    for (const s of [secret, 'alice-secret', 'bob-secret', token, token.split('.')[2]!, Buffer.from('alice:alice-secret').toString('base64')]) {
      assert.ok(!all.includes(s), `the log does not contain ${s.slice(0, 12)}…`);
    }
  });
});
