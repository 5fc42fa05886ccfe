// The `wharf` client verbs without a registry: --help with examples, usage errors (exit 2), refused plain
// http to a non-loopback host (exit 1, pointing at --insecure) and an unreachable registry (exit 1).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnv, runCli, tempDir, removeDir } from './helpers.js';
import { freePort } from '../helpers/processes.js';

describe('wharf client verbs: help and usage', () => {
  const dir = tempDir('wharf-cli-usage-');
  const env = cliEnv(dir);
  const cli = (...args: string[]) => runCli(args, env);
  after(() => removeDir(dir));

  test('every verb has --help with an Examples section', async () => {
    const verbs = [['tags'], ['catalog'], ['digest'], ['manifest', 'get'], ['manifest', 'delete'], ['blob', 'get'], ['blob', 'delete'], ['rm']];
    const results = await Promise.all(verbs.map((v) => cli(...v, '--help')));
    results.forEach((r, i) => {
      const v = verbs[i]!.join(' ');
      assert.equal(r.code, 0, `${v} --help exits 0`);
      assert.ok(r.stdout.startsWith(`Usage: wharf ${v} [options] <`), `${v}: ${r.stdout}`);
      assert.ok(/\nExamples:\n {2}wharf /.test(r.stdout), `${v} --help has examples: ${r.stdout}`);
      assert.ok(r.stdout.includes('--insecure') && r.stdout.includes('--quiet'), `${v} --help lists --insecure and --quiet`);
    });
  });

  test('usage errors exit 2 and say what is wrong', async () => {
    const port = await freePort();
    const h = `127.0.0.1:${port}`;
    const [noArg, badRef, noTag, tagForBlob, hostWithPath, unknownOption] = await Promise.all([
      cli('tags'),
      cli('digest', `${h}/Upper/Case`),
      cli('rm', `${h}/app`),
      cli('blob', 'get', `${h}/app:v1`),
      cli('catalog', `${h}/app`),
      cli('digest', '--json', `${h}/app:v1`),
    ]);
    for (const [r, what] of [
      [noArg, 'a missing argument'],
      [badRef, 'a malformed reference'],
      [noTag, 'rm without a tag or digest'],
      [tagForBlob, 'blob get with a tag'],
      [hostWithPath, 'catalog with a repository'],
      [unknownOption, 'an option the verb does not take'],
    ] as const) {
      assert.equal(r.code, 2, `${what} exits 2 (stderr: ${r.stderr})`);
      assert.equal(r.stdout, '', `${what}: nothing on stdout`);
    }
    assert.equal(noArg.stderr, "error: missing required argument 'repository'\n(run 'wharf tags --help' for usage and examples)\n");
    assert.equal(badRef.stderr, `wharf digest: invalid image reference "${h}/Upper/Case": repository name must be lower case\n(run 'wharf digest --help' for usage and examples)\n`);
    assert.equal(noTag.stderr, `wharf rm: "${h}/app" names no tag or digest; give HOST/REPO:TAG or HOST/REPO@DIGEST\n(run 'wharf rm --help' for usage and examples)\n`);
    assert.equal(tagForBlob.stderr, `wharf blob get: "${h}/app:v1" has a tag; give HOST/REPO@DIGEST\n(run 'wharf blob get --help' for usage and examples)\n`);
    assert.ok(hostWithPath.stderr.startsWith(`wharf catalog: "${h}/app" is not a registry host; give HOST[:PORT]`), hostWithPath.stderr);
    assert.ok(unknownOption.stderr.startsWith("error: unknown option '--json'"), unknownOption.stderr);
  });

  test('plain http to a non-loopback host needs --insecure; an unreachable registry exits 1', async () => {
    const port = await freePort();
    const [refused, insecure, down] = await Promise.all([
      cli('catalog', 'http://registry.invalid:5000'),
      cli('catalog', '--insecure', 'http://registry.invalid:5000'),
      cli('tags', `127.0.0.1:${port}/app`),
    ]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.ok(refused.stderr.startsWith('wharf catalog: refusing plain http to registry.invalid:5000'), refused.stderr);
    assert.ok(refused.stderr.endsWith('; add --insecure to allow plain http to registry.invalid:5000\n'), refused.stderr);
    // With --insecure the client goes ahead (and finds no such host).
    assert.equal(insecure.code, 1, insecure.stderr);
    assert.ok(!insecure.stderr.includes('refusing plain http'), insecure.stderr);
    assert.ok(insecure.stderr.startsWith('wharf catalog: cannot reach http://registry.invalid:5000 ('), insecure.stderr);
    assert.equal(down.code, 1, down.stderr);
    assert.equal(down.stderr, `wharf tags: cannot reach 127.0.0.1:${port} (ECONNREFUSED); check the host and port, and that the registry is running\n`);
  });
});
