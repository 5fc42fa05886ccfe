// Unit tests of the auth pieces: globs, scopes, policy decisions, htpasswd parsing and reload, JWT issue and
// verification (expired, another service, another issuer, bad signature), log redaction, key expiry parsing.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { compileGlob } from '../../src/auth/glob.js';
import { parseScope, parseScopes, covers, requiredAccess, formatScope } from '../../src/auth/scope.js';
import { Policy } from '../../src/auth/policy.js';
import { parseHtpasswd, HtpasswdFile } from '../../src/auth/htpasswd.js';
import { TokenService, TokenVerifier, TokenInvalidError } from '../../src/auth/tokens.js';
import { loadSigningKey, signingKeyFromPem } from '../../src/auth/signing-key.js';
import { redactRequestTarget } from '../../src/auth/redact.js';
import { parseExpiry } from '../../src/http/handlers/token.js';
import { authSchema } from '../../src/auth/config.js';
import { htpasswdText } from './helpers.js';
import { tempDir, removeDir } from '../helpers/processes.js';

const dir = tempDir('wharf-auth-unit-');
after(() => removeDir(dir));

describe('repository globs', () => {
  const cases: [string, string, boolean][] = [
    ['team-a/**', 'team-a/app', true],
    ['team-a/**', 'team-a/x/y', true],
    ['team-a/**', 'team-a', false],
    ['team-a/**', 'team-ab/app', false],
    ['team-a/*', 'team-a/app', true],
    ['team-a/*', 'team-a/x/y', false],
    ['*/app', 'x/app', true],
    ['*/app', 'x/y/app', false],
    ['**', 'anything/at/all', true],
    ['lib.x', 'libax', false],
    ['exact/name', 'exact/name', true],
    ['a/*-dev', 'a/web-dev', true],
  ];
  for (const [glob, name, want] of cases) {
    test(`${glob} ${want ? 'matches' : 'does not match'} ${name}`, () => assert.equal(compileGlob(glob)(name), want));
  }
});

describe('scopes', () => {
  test('parse a repository scope, a registry scope and a name with a port', () => {
    assert.deepEqual(parseScope('repository:team/app:pull,push'), { type: 'repository', name: 'team/app', actions: ['pull', 'push'] });
    assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
    assert.deepEqual(parseScope('repository:localhost:5000/app:pull'), { type: 'repository', name: 'localhost:5000/app', actions: ['pull'] });
    assert.deepEqual(parseScope('repository(plugin):x:pull'), { type: 'repository', name: 'x', actions: ['pull'] });
  });
  test('malformed scopes are dropped; several scope values merge per resource', () => {
    for (const bad of ['', 'repository', 'repository:app', 'repository::pull', 'repository:app:', 'a b:c:d']) assert.equal(parseScope(bad), undefined, `${bad} is refused`);
    assert.deepEqual(parseScopes(['repository:a:pull repository:b:push', 'repository:a:push', 'junk']), [
      { type: 'repository', name: 'a', actions: ['pull', 'push'] },
      { type: 'repository', name: 'b', actions: ['push'] },
    ]);
  });
  test('covers: every action, or *', () => {
    const need = { type: 'repository', name: 'a', actions: ['pull', 'push'] };
    assert.equal(covers([{ type: 'repository', name: 'a', actions: ['pull'] }], need), false);
    assert.equal(covers([{ type: 'repository', name: 'a', actions: ['pull'] }, { type: 'repository', name: 'a', actions: ['push'] }], need), true);
    assert.equal(covers([{ type: 'repository', name: 'a', actions: ['*'] }], need), true);
    assert.equal(covers([{ type: 'repository', name: 'b', actions: ['*'] }], need), false);
  });
  test('request → scope: GET/HEAD pull, POST/PUT/PATCH pull+push, DELETE delete, catalog, base none', () => {
    assert.equal(formatScope(requiredAccess('manifest', 'GET', 'r')!), 'repository:r:pull');
    assert.equal(formatScope(requiredAccess('blob', 'HEAD', 'r')!), 'repository:r:pull');
    assert.equal(formatScope(requiredAccess('manifest', 'PUT', 'r')!), 'repository:r:pull,push');
    assert.equal(formatScope(requiredAccess('uploadStart', 'POST', 'r')!), 'repository:r:pull,push');
    assert.equal(formatScope(requiredAccess('upload', 'PATCH', 'r')!), 'repository:r:pull,push');
    assert.equal(formatScope(requiredAccess('manifest', 'DELETE', 'r')!), 'repository:r:delete');
    assert.equal(formatScope(requiredAccess('catalog', 'GET', '')!), 'registry:catalog:*');
    assert.equal(requiredAccess('base', 'GET', ''), undefined);
  });
});

describe('policy decisions', () => {
  const policy = new Policy(
    authSchema.parse({
      groups: { devs: ['carol', 'dave'], ops: ['erin'] },
      admins: ['root', 'group:ops'],
      policies: [
        { repositories: ['team-a/**'], users: ['alice'], actions: ['pull', 'push', 'delete'] },
        { repositories: ['team-a/**'], groups: ['devs'], actions: ['pull', 'push'] },
        { repositories: ['**'], users: ['*'], actions: ['catalog'] },
        { repositories: ['public/**'], anonymous: true, actions: ['pull'] },
      ],
    }),
  );
  test('users, groups, anonymous and any authenticated user', () => {
    assert.deepEqual([...policy.repositoryActions('alice', 'team-a/app')].sort(), ['delete', 'pull', 'push']);
    assert.deepEqual([...policy.repositoryActions('carol', 'team-a/app')].sort(), ['pull', 'push']);
    assert.deepEqual([...policy.repositoryActions('bob', 'team-a/app')], []);
    assert.deepEqual([...policy.repositoryActions(undefined, 'public/x')], ['pull'], 'anonymous pull');
    assert.deepEqual([...policy.repositoryActions('bob', 'public/x')], ['pull'], 'what anonymous may, everyone may');
    assert.equal(policy.mayListCatalog('bob'), true);
    assert.equal(policy.mayListCatalog(undefined), false);
  });
  test('admins (by name and by group) may do everything, API keys included', () => {
    for (const admin of ['root', 'erin']) {
      assert.equal(policy.isAdmin(admin), true);
      assert.deepEqual([...policy.repositoryActions(admin, 'any/repo')].sort(), ['delete', 'pull', 'push']);
      assert.equal(policy.allows(admin, { type: 'registry', name: 'admin', actions: ['*'] }), true);
    }
    assert.equal(policy.allows('alice', { type: 'registry', name: 'admin', actions: ['*'] }), false);
  });
  test('a grant is the intersection of asked and allowed; * asks for everything allowed', () => {
    assert.deepEqual(
      policy.grant('carol', [
        { type: 'repository', name: 'team-a/app', actions: ['pull', 'push', 'delete'] },
        { type: 'repository', name: 'team-b/app', actions: ['pull'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
        { type: 'weird', name: 'x', actions: ['pull'] },
      ]),
      [
        { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ],
    );
    assert.deepEqual(policy.grant('alice', [{ type: 'repository', name: 'team-a/x', actions: ['*'] }]), [{ type: 'repository', name: 'team-a/x', actions: ['delete', 'pull', 'push'] }]);
    assert.deepEqual(policy.grant(undefined, [{ type: 'repository', name: 'team-a/x', actions: ['pull'] }]), []);
  });
});

describe('htpasswd', () => {
  test('parses bcrypt entries ($2y$ as htpasswd -B writes, $2a$, $2b$) and skips others with a reason', () => {
    const good = htpasswdText({ alice: 'x' }).trim();
    const parsed = parseHtpasswd(`# comment\n\n${good}\nbob:$apr1$abc$def\ncarol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nno-colon\n`);
    assert.deepEqual([...parsed.users.keys()], ['alice']);
    assert.equal(parsed.skipped.length, 3);
    assert.ok(parsed.skipped.every((s) => !s.includes('$apr1$') && !s.includes('W6ph')), 'skip reasons never show hashes');
  });
  test('verifies passwords and picks up changes to the file', async () => {
    const path = join(dir, 'htpasswd');
    writeFileSync(path, htpasswdText({ alice: 'one' }));
    const warnings: string[] = [];
    const file = new HtpasswdFile(path, (m) => warnings.push(m));
    assert.equal(await file.verify('alice', 'one'), true);
    assert.equal(await file.verify('alice', 'two'), false);
    assert.equal(await file.verify('bob', 'one'), false);
    writeFileSync(path, htpasswdText({ alice: 'two', bob: 'three' }) + 'eve:plaintext\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000)); // a different mtime even on coarse clocks
    assert.equal(await file.verify('alice', 'one'), false, 'the old password stops working (remembered checks are dropped)');
    assert.equal(await file.verify('alice', 'two'), true);
    assert.equal(await file.verify('bob', 'three'), true);
    assert.equal(warnings.length, 1, 'the plaintext line is reported');
  });
  test('a missing file is an error at start', () => {
    assert.throws(() => new HtpasswdFile(join(dir, 'absent')), /cannot read htpasswd file/);
  });
});

describe('JWTs', () => {
  const key = loadSigningKey(undefined, join(dir, 'data'));
  const service = new TokenService(authSchema.parse({ token: { issuer: 'wharf-test', service: 'reg' } }).token!, key);
  const verifier = new TokenVerifier(service, []);
  const access = [{ type: 'repository', name: 'a', actions: ['pull'] }];

  test('the generated key is ES256, kept in the data directory, and loaded again on the next start', () => {
    assert.equal(key.alg, 'ES256');
    assert.equal(loadSigningKey(undefined, join(dir, 'data')).kid, key.kid);
  });
  test('an RSA key gives RS256 tokens', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsa = signingKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'rsa.pem');
    assert.equal(rsa.alg, 'RS256');
    const s = new TokenService(service.config, rsa);
    const v = await new TokenVerifier(s, []).verify((await s.issueAccess('alice', access)).token);
    assert.deepEqual(v.access, access);
  });
  test('issue then verify: subject, access, built-in', async () => {
    const t = await service.issueAccess('alice', access);
    assert.equal(t.expiresIn, 300);
    const v = await verifier.verify(t.token);
    assert.deepEqual(v, { issuer: 'wharf-test', subject: 'alice', access, builtIn: true });
  });
  test('expired (beyond the leeway) is refused; within the leeway accepted', async () => {
    const old = await service.issueAccess('alice', access, Date.now() - 320_000);
    await assert.rejects(verifier.verify(old.token), (e: Error) => e instanceof TokenInvalidError && /expired/.test(e.message));
    const recent = await service.issueAccess('alice', access, Date.now() - 305_000);
    assert.equal((await verifier.verify(recent.token)).subject, 'alice');
  });
  test('not valid yet (nbf beyond the leeway) is refused; a slightly fast clock is tolerated', async () => {
    const future = await service.issueAccess('alice', access, Date.now() + 60_000);
    await assert.rejects(verifier.verify(future.token), /nbf/);
    const skewed = await service.issueAccess('alice', access, Date.now() + 5_000);
    assert.equal((await verifier.verify(skewed.token)).subject, 'alice');
  });
  test('a token for another service (audience) is refused', async () => {
    const other = new TokenService({ ...service.config, service: 'elsewhere' }, key);
    await assert.rejects(verifier.verify((await other.issueAccess('alice', access)).token), /claim aud|aud/);
  });
  test('a token from another issuer is refused', async () => {
    const other = new TokenService({ ...service.config, issuer: 'someone-else' }, key);
    await assert.rejects(verifier.verify((await other.issueAccess('alice', access)).token), /issuer this registry does not trust/);
  });
  test('a token signed by another key is refused', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await new SignJWT({ access }).setProtectedHeader({ alg: 'ES256' }).setIssuer('wharf-test').setAudience('reg').setExpirationTime('5m').sign(privateKey);
    await assert.rejects(verifier.verify(forged), /signature/);
  });
  test('alg none, garbage and refresh tokens are not access tokens', async () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'wharf-test', aud: 'reg', exp: 9e9, access })).toString('base64url')}.`;
    await assert.rejects(verifier.verify(none), TokenInvalidError);
    await assert.rejects(verifier.verify('not-a-jwt'), TokenInvalidError);
    const refresh = await service.issueRefresh({ kind: 'user', login: 'alice', subject: 'alice' });
    await assert.rejects(verifier.verify(refresh!), /refresh token/);
    assert.deepEqual(await service.verifyRefresh(refresh!), { kind: 'user', login: 'alice', subject: 'alice' });
    await assert.rejects(service.verifyRefresh((await service.issueAccess('alice', access)).token), TokenInvalidError);
  });
});

describe('secrets stay out of logs', () => {
  test('secret query parameters are redacted, others kept', () => {
    assert.equal(redactRequestTarget('/token?service=wharf&password=hunter2&scope=repository%3Aa%3Apull'), '/token?service=wharf&password=REDACTED&scope=repository%3Aa%3Apull');
    assert.equal(redactRequestTarget('/token?refresh_token=abc&access_token=def&Token=x'), '/token?refresh_token=REDACTED&access_token=REDACTED&Token=REDACTED');
    assert.equal(redactRequestTarget('/v2/a/tags/list?n=1'), '/v2/a/tags/list?n=1');
  });
});

describe('API key expiry', () => {
  test('durations and dates', () => {
    assert.equal(parseExpiry({ expires: '90d' }), 90 * 86400);
    assert.equal(parseExpiry({ expires: '12h' }), 12 * 3600);
    assert.equal(parseExpiry({ expiresInSeconds: 60 }), 60);
    assert.equal(parseExpiry({ expires: '2030-01-01T00:00:00Z' }, Date.parse('2029-12-31T00:00:00Z')), 86400);
    assert.throws(() => parseExpiry({ expires: 'soon' }), /cannot read expires/);
    assert.throws(() => parseExpiry({}), /give expires/);
  });
});

describe('login throttle', () => {
  test('blocks an address after too many failures within the window, then lets it try again', async () => {
    const { LoginThrottle } = await import('../../src/auth/throttle.js');
    let now = 1_000_000;
    const t = new LoginThrottle(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      assert.equal(t.check('10.0.0.1').blocked, false, `attempt ${i + 1} is allowed`);
      t.fail('10.0.0.1');
    }
    assert.deepEqual(t.check('10.0.0.1'), { blocked: true, retryAfter: 60 });
    assert.equal(t.check('10.0.0.2').blocked, false, 'other addresses are not affected');
    now += 60_000;
    assert.equal(t.check('10.0.0.1').blocked, false, 'a new window starts clean');
  });
});
