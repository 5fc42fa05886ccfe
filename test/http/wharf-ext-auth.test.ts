// The Wharf extension endpoints with authentication on (built-in token service, htpasswd users), through the
// client library as a user would call them: the history records who moved a tag, reading it needs pull, a
// rollback needs push, registry-wide usage needs an admin.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { RegistryClient, DeniedError, UnauthorizedError } from '../../src/client/index.js';
import { tagHistory, rollbackTag, repositoryUsage, registryUsage } from '../../src/client/ops/history.js';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import { htpasswdText } from '../auth/helpers.js';
import { tempDir, removeDir } from '../helpers/processes.js';
import { buildImage, pushImage } from '../client/helpers.js';

describe('Wharf extensions with authentication', () => {
  let dir: string;
  let running: RunningRegistry;
  let host: string;
  const clients: RegistryClient[] = [];
  const as = (user?: string) => {
    const c = new RegistryClient(host, { credentials: user === undefined ? false : { username: user, password: `${user}-pw` } });
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = tempDir('wharf-ext-auth-');
    writeFileSync(join(dir, 'htpasswd'), htpasswdText({ alice: 'alice-pw', reader: 'reader-pw', root: 'root-pw' }));
    writeFileSync(
      join(dir, 'wharf.yaml'),
      JSON.stringify({
        data: './data',
        auth: {
          htpasswd: './htpasswd',
          token: { issuer: 'wharf-ext', service: 'wharf' },
          admins: ['root'],
          policies: [
            { repositories: ['team/**'], users: ['alice'], actions: ['pull', 'push', 'delete'] },
            { repositories: ['team/**'], users: ['reader'], actions: ['pull'] },
          ],
        },
      }),
    );
    running = await startRegistry(loadConfig({ config: join(dir, 'wharf.yaml'), listen: '127.0.0.1:0' }, {}), pino({ level: 'silent' }));
    host = new URL(running.url).host;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await running.close();
    removeDir(dir);
  });

  test('history names the user; pull reads it, push rolls back, admin sees all usage', async () => {
    const alice = as('alice');
    const first = await pushImage(alice, 'team/app', buildImage(), 'latest');
    const second = await pushImage(alice, 'team/app', buildImage(), 'latest');
    const reader = as('reader');
    const entries = await tagHistory(reader, 'team/app', 'latest');
    assert.deepEqual(
      entries.map((e) => [e.action, e.newDigest, e.by]),
      [
        ['move', second, 'alice'],
        ['create', first, 'alice'],
      ],
    );
    await assert.rejects(rollbackTag(reader, 'team/app', 'latest', first), (e: unknown) => e instanceof DeniedError, 'a reader may not roll back');
    assert.deepEqual(await rollbackTag(alice, 'team/app', 'latest', first), { digest: first, previous: second });
    assert.equal((await tagHistory(alice, 'team/app', 'latest', { limit: 1 }))[0]?.by, 'alice');
    await assert.rejects(tagHistory(as(), 'team/app', 'latest'), (e: unknown) => e instanceof UnauthorizedError, 'anonymous callers must log in');

    assert.equal((await repositoryUsage(reader, 'team/app')).manifests, 2, 'a reader may see the repository usage');
    await assert.rejects(registryUsage(alice), (e: unknown) => e instanceof DeniedError || e instanceof UnauthorizedError, 'registry-wide usage is for admins');
    const all = await registryUsage(as('root'));
    assert.deepEqual(all.repositories.map((r) => r.repository), ['team/app']);
    assert.equal(all.total.manifests, 2);
  });
});
