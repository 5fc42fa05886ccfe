// The client library (RegistryClient with staticCredentials) against the built-in token service: push, pull,
// mount, the catalog, and the errors a denied or unauthenticated caller gets.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAuthRegistry, type AuthRegistry } from './helpers.js';
import { RegistryClient, staticCredentials, DeniedError, UnauthorizedError, TokenError } from '../../src/client/index.js';
import { buildImage, pushImage, sha256 } from '../client/helpers.js';

describe('client library against the token flow', () => {
  let reg: AuthRegistry;
  const clients: RegistryClient[] = [];
  const clientAs = (username?: string, password?: string) => {
    const c = new RegistryClient(reg.host, { credentials: username ? staticCredentials({ username, password: password ?? '' }) : false });
    clients.push(c);
    return c;
  };
  before(async () => {
    reg = await startAuthRegistry(
      {
        token: { service: 'wharf' },
        policies: [
          { repositories: ['alice/**'], users: ['alice'], actions: ['pull', 'push', 'delete'] },
          { repositories: ['**'], users: ['alice', 'bob'], actions: ['pull', 'catalog'] },
        ],
      },
      { alice: 'alice-secret', bob: 'bob-secret' },
    );
  });
  after(async () => {
    for (const c of clients) await c.close();
    await reg?.close();
  });

  test('alice pushes alice/app and pulls it back; bob pulls it; the catalog shows it', async () => {
    const alice = clientAs('alice', 'alice-secret');
    const image = buildImage();
    const digest = await pushImage(alice, 'alice/app', image, 'v1');
    assert.equal(digest, image.digest);
    const got = await alice.getManifest('alice/app', 'v1');
    assert.deepEqual(got.bytes, image.manifest);
    const bob = clientAs('bob', 'bob-secret');
    assert.equal((await bob.getManifest('alice/app', 'v1')).digest, image.digest);
    assert.deepEqual(await bob.catalog().collect(), ['alice/app']);
    const mounted = await alice.mountBlob('alice/copy', sha256(image.config), 'alice/app');
    assert.equal(mounted.mounted, true, 'alice may mount between her repositories');
  });

  test('bob may not push: DeniedError; wrong password and anonymous: unauthorized', async () => {
    const bob = clientAs('bob', 'bob-secret');
    await assert.rejects(bob.uploadBlob('alice/app', Buffer.from('nope')), (e: Error) => e instanceof DeniedError || e instanceof UnauthorizedError);
    const wrong = clientAs('alice', 'wrong');
    await assert.rejects(wrong.getManifest('alice/app', 'v1'), (e: Error) => e instanceof TokenError || e instanceof UnauthorizedError);
    const anon = clientAs();
    await assert.rejects(anon.getManifest('alice/app', 'v1'), (e: Error) => e instanceof UnauthorizedError);
  });
});
