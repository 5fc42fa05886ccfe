// The client verbs of the `wharf` CLI against one registry: run as child processes, content seeded with the
// library. Shared by verbs-wharf.test.ts and verbs-reference.test.ts.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import type { Target } from '../client/helpers.js';
import { cliEnv, runCli, seed, tempDir, removeDir, type Seeded, type CliResult } from './helpers.js';

function lines(s: string): string[] {
  return s.split('\n').slice(0, -1);
}

function expectCode(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, stderr: ${r.stderr}`);
}

export function verbSuite(name: 'wharf' | 'reference', start: () => Promise<Target>): void {
  describe(`wharf client verbs against ${name}`, () => {
    let target: Target;
    let client: RegistryClient;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let s: Seeded;
    let host: string;
    const cli = (...args: string[]) => runCli(args, env);

    before(async () => {
      dir = tempDir('wharf-cli-');
      env = cliEnv(dir);
      target = await start();
      host = target.host;
      client = new RegistryClient(host, { credentials: false, retryBaseDelayMs: 10 });
      s = await seed(client, 'cli');
    });

    after(async () => {
      await client?.close();
      await target?.close();
      if (dir) removeDir(dir);
    });

    test('tags and catalog, as lines and as --json; a missing repository exits 1', async () => {
      const [tags, tagsJson, catalog, catalogJson, missing] = await Promise.all([
        cli('tags', `${host}/${s.repo}`),
        cli('tags', '--json', `${host}/${s.repo}`),
        cli('catalog', host),
        cli('catalog', host, '--json'),
        cli('tags', `${host}/cli/nope`),
      ]);
      const expected = ['doomed', 'multi', 'v1', 'v2'];
      expectCode(tags, 0, 'tags');
      assert.ok(tags.stdout.endsWith('\n'), `one tag per line, ending with a newline: ${JSON.stringify(tags.stdout)}`);
      // Distribution 2.8 lists tags in no particular order; the CLI prints them as the registry gives them.
      assert.deepEqual(lines(tags.stdout).sort(), expected);
      if (name === 'wharf') assert.equal(tags.stdout, 'doomed\nmulti\nv1\nv2\n');
      assert.equal(tags.stderr, '');

      expectCode(tagsJson, 0, 'tags --json');
      assert.equal(lines(tagsJson.stdout).length, 1, 'one line of JSON');
      const doc = JSON.parse(tagsJson.stdout) as { name: string; tags: string[] };
      assert.deepEqual(Object.keys(doc), ['name', 'tags']);
      assert.equal(doc.name, s.repo);
      assert.deepEqual([...doc.tags].sort(), expected);
      assert.deepEqual(doc.tags, lines(tags.stdout), 'same order as the lines');

      expectCode(catalog, 0, 'catalog');
      assert.equal(catalog.stdout, `${s.repo}\n${s.other}\n`);
      expectCode(catalogJson, 0, 'catalog --json');
      assert.equal(catalogJson.stdout, JSON.stringify({ repositories: [s.repo, s.other] }) + '\n');

      expectCode(missing, 1, 'tags of a missing repository');
      assert.equal(missing.stdout, '');
      assert.equal(missing.stderr, `wharf tags: repository ${host}/cli/nope not found (404 NAME_UNKNOWN); try 'wharf catalog ${host}'\n`);
    });

    test('digest: of a tag, of a multi-platform tag (the index), of a digest; a missing tag exits 1', async () => {
      const [v1, multi, byDigest, missing] = await Promise.all([
        cli('digest', `${host}/${s.repo}:v1`),
        cli('digest', `${host}/${s.repo}:multi`),
        cli('digest', `${host}/${s.repo}@${s.digest}`),
        cli('digest', `${host}/cli/nope:nope`),
      ]);
      expectCode(v1, 0, 'digest :v1');
      assert.equal(v1.stdout, `${s.digest}\n`);
      expectCode(multi, 0, 'digest :multi');
      assert.equal(multi.stdout, `${s.indexDigest}\n`);
      expectCode(byDigest, 0, 'digest @digest');
      assert.equal(byDigest.stdout, `${s.digest}\n`);
      expectCode(missing, 1, 'digest of a missing tag');
      assert.equal(missing.stdout, '');
      assert.equal(missing.stderr, `wharf digest: manifest ${host}/cli/nope:nope not found (404); try 'wharf tags ${host}/cli/nope'\n`);
    });

    test('manifest get writes the bytes as served; a missing manifest exits 1', async () => {
      const [v1, multi, missing] = await Promise.all([
        cli('manifest', 'get', `${host}/${s.repo}:v1`),
        cli('manifest', 'get', `${host}/${s.repo}@${s.indexDigest}`),
        cli('manifest', 'get', `${host}/${s.repo}:nope`),
      ]);
      expectCode(v1, 0, 'manifest get :v1');
      assert.ok(v1.raw.equals(s.image.manifest), 'the manifest bytes, unchanged');
      expectCode(multi, 0, 'manifest get @index-digest');
      assert.ok(multi.raw.equals(s.index), 'the index bytes, unchanged');
      expectCode(missing, 1, 'manifest get of a missing tag');
      assert.equal(missing.stdout, '');
      assert.equal(missing.stderr, `wharf manifest get: manifest ${host}/${s.repo}:nope not found (404 MANIFEST_UNKNOWN); try 'wharf tags ${host}/${s.repo}'\n`);
    });

    test('blob get to stdout and to a file (-o), blob delete; a missing blob exits 1', async () => {
      const layer = s.image.layers[0]!;
      const layerDigest = JSON.parse(s.image.manifest.toString()).layers[0].digest as string;
      const file = join(dir, 'layer.bin');
      const zero = `sha256:${'0'.repeat(64)}`;
      const [out, toFile, missing] = await Promise.all([
        cli('blob', 'get', `${host}/${s.repo}@${layerDigest}`),
        cli('blob', 'get', `${host}/${s.repo}@${layerDigest}`, '-o', file),
        cli('blob', 'get', `${host}/${s.repo}@${zero}`, '-o', join(dir, 'missing.bin')),
      ]);
      expectCode(out, 0, 'blob get');
      assert.ok(out.raw.equals(layer), 'the blob bytes on stdout');
      expectCode(toFile, 0, 'blob get -o');
      assert.equal(toFile.stdout, '');
      assert.equal(toFile.stderr, `wrote ${host}/${s.repo}@${layerDigest} to ${file}\n`);
      assert.ok(readFileSync(file).equals(layer), 'the blob bytes in the file');
      expectCode(missing, 1, 'blob get of a missing blob');
      assert.equal(missing.stderr, `wharf blob get: blob ${host}/${s.repo}@${zero} not found (404 BLOB_UNKNOWN)\n`);
      assert.ok(!existsSync(join(dir, 'missing.bin')), 'no file for a missing blob');
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.part')), [], 'no temporary files left');

      const extra = await client.uploadBlob(s.repo, Buffer.from(`a blob to delete from ${name}`));
      const del = await cli('blob', 'delete', `${host}/${s.repo}@${extra.digest}`);
      expectCode(del, 0, 'blob delete');
      assert.equal(del.stdout, '');
      assert.equal(del.stderr, `deleted ${host}/${s.repo}@${extra.digest}\n`);
      assert.equal(await client.headBlob(s.repo, extra.digest), undefined);
    });

    test('rm deletes what a tag resolves to, by digest; again, it exits 1', async () => {
      const rm = await cli('rm', `${host}/${s.repo}:doomed`);
      expectCode(rm, 0, 'rm :doomed');
      assert.equal(rm.stdout, '');
      assert.equal(rm.stderr, `deleted ${host}/${s.repo}@${s.doomed.digest}\n`);
      assert.equal(await client.headManifest(s.repo, s.doomed.digest), undefined);
      assert.equal(await client.headManifest(s.repo, 'doomed'), undefined);

      const [again, quiet] = await Promise.all([cli('rm', `${host}/${s.repo}:doomed`), cli('rm', '--quiet', `${host}/${s.repo}@${s.indexDigest}`)]);
      expectCode(again, 1, 'rm of a deleted tag');
      assert.equal(again.stdout, '');
      assert.equal(again.stderr, `wharf rm: manifest ${host}/${s.repo}:doomed not found (404); try 'wharf tags ${host}/${s.repo}'\n`);
      expectCode(quiet, 0, 'rm -q @digest');
      assert.equal(quiet.stdout + quiet.stderr, '');
      assert.equal(await client.headManifest(s.repo, s.indexDigest), undefined);
    });

    test('manifest delete by digest; by tag where the registry allows it', async () => {
      const byTag = await cli('manifest', 'delete', `${host}/${s.repo}:v2`);
      if (name === 'wharf') {
        expectCode(byTag, 0, 'manifest delete :v2');
        assert.equal(byTag.stderr, `deleted ${host}/${s.repo}:v2\n`);
        assert.equal(await client.headManifest(s.repo, 'v2'), undefined);
        assert.equal((await client.headManifest(s.repo, 'v1'))?.digest, s.digest);
      } else {
        // Distribution 2.8 refuses to delete tags (400 DIGEST_INVALID); the message points at `wharf rm`.
        expectCode(byTag, 1, 'manifest delete by tag on Distribution');
        assert.ok(byTag.stderr.startsWith('wharf manifest delete: DELETE '), byTag.stderr);
        assert.ok(byTag.stderr.endsWith(`HTTP 400 (DIGEST_INVALID: provided digest did not match uploaded content); this registry does not delete tags: try 'wharf rm ${host}/${s.repo}:v2', which deletes the manifest by digest\n`), byTag.stderr);
      }
      const del = await cli('manifest', 'delete', '-q', `${host}/${s.repo}@${s.digest}`);
      expectCode(del, 0, 'manifest delete @digest');
      assert.equal(del.stdout + del.stderr, '');
      assert.equal(await client.headManifest(s.repo, 'v1'), undefined);
      const missing = await cli('manifest', 'delete', `${host}/${s.repo}@${s.digest}`);
      expectCode(missing, 1, 'manifest delete of a deleted manifest');
      assert.ok(missing.stderr.startsWith(`wharf manifest delete: manifest ${host}/${s.repo}@${s.digest} not found (404`), missing.stderr);
    });
  });
}
