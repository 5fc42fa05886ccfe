// The lifecycle verbs of the CLI as child processes against an in-process Wharf: `wharf tag history --json`,
// `wharf tag rollback` (and its refusal of a vanished digest), `wharf du`, and `wharf retention` (dry run, then
// the real run, which deletes what the dry run listed, after which `wharf gc` reclaims the blobs) on the
// server's own data directory.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { runCli, cliEnv, tempDir, removeDir, buildImage, pushImage, sha256 } from './helpers.js';

describe('CLI: tag history, tag rollback, du, retention', () => {
  let reg: TestRegistry;
  let dir: string;
  let configFile: string;
  let host: string;
  let client: RegistryClient;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = tempDir('wharf-cli-history-');
    configFile = join(dir, 'wharf.yaml');
    writeFileSync(configFile, JSON.stringify({ lifecycle: { retention: [{ repositories: ['cli/ret'], keepLast: 1 }], immutableTags: [{ repositories: ['cli/imm'], tags: ['v*'] }] } }));
    reg = await startTestRegistry({ config: configFile });
    host = new URL(reg.url).host;
    client = new RegistryClient(host);
    env = cliEnv(dir);
  });
  after(async () => {
    await client.close();
    await reg.close();
    removeDir(dir);
  });

  test('tag history --json shows create and move; rollback restores and refuses a vanished digest', async () => {
    const one = buildImage();
    const two = buildImage();
    const first = await pushImage(client, 'cli/app', one, 'latest');
    const second = await pushImage(client, 'cli/app', two, 'latest');
    const shown = await runCli(['tag', 'history', '--json', `${host}/cli/app:latest`], env);
    assert.equal(shown.code, 0, shown.stderr);
    const doc = JSON.parse(shown.stdout) as { name: string; tag: string; history: { action: string; oldDigest?: string; newDigest?: string; time: string }[] };
    assert.equal(doc.name, 'cli/app');
    assert.equal(doc.tag, 'latest');
    assert.deepEqual(
      doc.history.map((e) => [e.action, e.oldDigest, e.newDigest]),
      [
        ['move', first, second],
        ['create', undefined, first],
      ],
    );
    const lines = await runCli(['tag', 'history', `${host}/cli/app:latest`], env);
    assert.equal(lines.code, 0, lines.stderr);
    assert.match(lines.stdout, new RegExp(`moved ${first} → ${second}`));

    const back = await runCli(['tag', 'rollback', `${host}/cli/app:latest`, first], env);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout.trim(), first);
    assert.match(back.stderr, /moved .* back to/);
    assert.equal((await client.headManifest('cli/app', 'latest'))?.digest, first, 'the tag points at the first image again');

    await client.deleteManifest('cli/app', second);
    const refused = await runCli(['tag', 'rollback', `${host}/cli/app:latest`, second], env);
    assert.equal(refused.code, 1, `rollback to a deleted manifest fails: ${refused.stdout}`);
    assert.match(refused.stderr, /no longer in the repository/);
    const usage = await runCli(['tag', 'rollback', `${host}/cli/app`, first], env);
    assert.equal(usage.code, 2, 'a reference without a tag is a usage error');
  });

  test('--help has examples; usage errors exit 2', async () => {
    for (const verb of [['tag', 'history'], ['tag', 'rollback'], ['du'], ['retention']]) {
      const r = await runCli([...verb, '--help'], env);
      assert.equal(r.code, 0, `${verb.join(' ')} --help exits 0`);
      assert.ok(r.stdout.startsWith(`Usage: wharf ${verb.join(' ')} [options]`), `${verb.join(' ')}: ${r.stdout}`);
      assert.ok(/\nExamples:\n {2}wharf /.test(r.stdout), `${verb.join(' ')} --help has examples`);
    }
    const tag = await runCli(['tag', '--help'], env);
    assert.ok(tag.stdout.startsWith('Usage: wharf tag [options] <reference> <tags...>'), tag.stdout);
    const badDigest = await runCli(['tag', 'rollback', `${host}/cli/app:latest`, 'nope'], env);
    assert.equal(badDigest.code, 2, `an invalid digest is a usage error: ${badDigest.stderr}`);
    const noTag = await runCli(['tag', 'history', `${host}/cli/app`], env);
    assert.equal(noTag.code, 2, 'history needs a tag');
  });

  test('a refusal by a lifecycle rule shows the registry\'s reason', async () => {
    await pushImage(client, 'cli/imm', buildImage(), 'v1');
    const other = await pushImage(client, 'cli/imm', buildImage(), 'latest');
    const moved = await runCli(['tag', `${host}/cli/imm@${other}`, 'v1'], env);
    assert.equal(moved.code, 1, 'moving an immutable tag fails');
    assert.match(moved.stderr, /denied access \(403 DENIED\): tag cli\/imm:v1 is immutable/);
  });

  test('du --json for one repository and for the registry', async () => {
    const layer = Buffer.alloc(4096, 7);
    const img = buildImage({ layers: [layer] });
    await pushImage(client, 'cli/du', img, 'v1');
    const one = await runCli(['du', '--json', `${host}/cli/du`], env);
    assert.equal(one.code, 0, one.stderr);
    const u = JSON.parse(one.stdout) as Record<string, number>;
    assert.equal(u.uniqueBytes, img.manifest.length + img.config.length + layer.length);
    assert.equal(u.logicalBytes, u.uniqueBytes);
    const all = await runCli(['du', '--json', host], env);
    assert.equal(all.code, 0, all.stderr);
    const doc = JSON.parse(all.stdout) as { repositories: { repository: string }[]; total: { uniqueBytes: number } };
    assert.ok(doc.repositories.some((r) => r.repository === 'cli/du'), 'cli/du is listed');
    assert.ok(doc.total.uniqueBytes >= u.uniqueBytes, 'the total covers the repository');
    const text = await runCli(['du', `${host}/cli/du`], env);
    assert.match(text.stdout, /stored .* unique .* logical .* 1 manifests {2}1 tags {2}cli\/du/);
  });

  test('retention --dry-run --json reports what the real run then deletes', async () => {
    const oldImage = buildImage();
    const old = await pushImage(client, 'cli/ret', oldImage, 'old');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = await pushImage(client, 'cli/ret', buildImage(), 'new');
    const args = ['retention', '--config', configFile, '--data', reg.data, '--json'];
    const dry = await runCli([...args, '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout) as { dryRun: boolean; deletedManifests: number; repositories: { deletedManifests: { digest: string }[] }[] };
    assert.equal(planned.dryRun, true);
    assert.deepEqual(planned.repositories[0]!.deletedManifests.map((m) => m.digest), [old]);
    assert.equal((await client.headManifest('cli/ret', 'old'))?.digest, old, 'the dry run deleted nothing');
    const real = await runCli(args, env);
    assert.equal(real.code, 0, real.stderr);
    assert.deepEqual({ ...(JSON.parse(real.stdout) as object), dryRun: true }, planned, 'the real run matches the dry run');
    assert.equal(await client.headManifest('cli/ret', old), undefined, 'the old manifest is gone');
    assert.equal((await client.headManifest('cli/ret', 'new'))?.digest, fresh, 'the newest tag stays');
    // Garbage collection then reclaims the deleted image's blobs (retention never touches blobs itself).
    const gc = await runCli(['gc', '--config', configFile, '--data', reg.data, '--grace', '0', '--json'], env);
    assert.equal(gc.code, 0, gc.stderr);
    const collected = JSON.parse(gc.stdout) as { bytesReclaimed: number };
    assert.ok(collected.bytesReclaimed > 0, `gc reclaimed bytes: ${gc.stdout}`);
    assert.ok(gc.stdout.includes(sha256(oldImage.layers[0]!)), 'the deleted image\'s layer is among the reclaimed blobs');
  });
});
