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
    const verbs = [
      ['tags'], ['catalog'], ['digest'], ['manifest', 'get'], ['manifest', 'put'], ['manifest', 'delete'], ['blob', 'get'], ['blob', 'put'], ['blob', 'delete'], ['rm'],
      ['cp'], ['push'], ['pull'], ['inspect'], ['tag'], ['login'], ['logout'], ['artifact', 'push'], ['artifact', 'pull'], ['attach'], ['referrers'],
      ['index', 'create'], ['index', 'add'], ['index', 'remove'], ['mirror'],
    ];
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

  test('usage errors of the transfer and artifact verbs exit 2 and say what is wrong', async () => {
    const port = await freePort();
    const h = `127.0.0.1:${port}`;
    const cases = [
      [['cp', '--platform', 'linux', `${h}/a:v1`, `${h}/b:v1`], 'wharf cp: invalid platform "linux": expected os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8\n'],
      [['cp', '--concurrency', '0', `${h}/a:v1`, `${h}/b:v1`], 'wharf cp: --concurrency "0": give a whole number from 1 to 64\n'],
      [['cp', '--platform', 'linux/amd64', '--all-platforms', `${h}/a:v1`, `${h}/b:v1`], "error: option '--platform <os/arch[/variant]>' cannot be used with option '--all-platforms'\n"],
      [['cp', 'dir:/tmp/x', `${h}/b:v1`], 'wharf cp: invalid location "dir:/tmp/x": the dir: transport is not supported (use oci:DIR[:REF], oci-archive:FILE[:REF] or HOST/REPO[:TAG|@DIGEST])\n'],
      [['push', 'a:b:c', `${h}/b:v1`], 'wharf push: "a:b:c": a layout path cannot contain \':\'; write oci:DIR[:TAG]\n'],
      [['artifact', 'push', `${h}/a:v1`, 'README.md'], "error: required option '--artifact-type <type>' not specified\n"],
      [['artifact', 'push', `${h}/a`, 'README.md', '--artifact-type', 'text/plain'], `wharf artifact push: "${h}/a" names no tag; give HOST/REPO:TAG\n`],
      [['attach', `${h}/a:v1`, '--artifact-type', 'text/plain', 'README.md', '--annotation', 'novalue'], 'wharf attach: --annotation "novalue": give KEY=VALUE\n'],
      [['index', 'create', `${h}/a:v1`, `${h}/b:v1`], `wharf index create: "${h}/b:v1" is not in ${h}/a: an index can only name manifests of its own repository (copy them there first with 'wharf cp')\n`],
      [['tag', `oci-archive:x.tar:v1`, 'v2'], `wharf tag: "oci-archive:x.tar:v1": an oci-archive cannot be changed in place; unpack it with 'wharf cp oci-archive:x.tar:v1 oci:DIR' first\n`],
      [['login', h, '-u', 'alice'], 'wharf login: no password: give --password-stdin (and pipe it in) or -p PASSWORD\n'],
      [['mirror', 'package.json'], null],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      const what = args.join(' ');
      assert.equal(r.code, 2, `${what} exits 2 (stderr: ${r.stderr})`);
      assert.equal(r.stdout, '', `${what}: nothing on stdout`);
      if (message !== null) assert.ok(r.stderr.startsWith(message), `${what}: ${JSON.stringify(r.stderr)}`);
      assert.ok(r.stderr.includes('--help'), `${what} points at --help: ${r.stderr}`);
    });
    assert.ok(results.at(-1)!.stderr.startsWith('wharf mirror: package.json: invalid mirror config:'), results.at(-1)!.stderr);
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
