// The content-moving verbs of the `wharf` CLI against one registry, as child processes: cp, push, pull,
// inspect, blob put, manifest put, tag, artifact push|pull, attach, referrers, index create|add|remove,
// mirror — each with its --json output, its missing-thing failure (exit 1) and its usage errors (exit 2).
// Shared by transfer-wharf.test.ts and transfer-reference.test.ts.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import type { Target } from '../client/helpers.js';
import { cliEnv, runCli, seed, tempDir, removeDir, sha256, buildPlatformImage, pushImage, type Seeded, type CliResult } from './helpers.js';

function expectCode(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, stdout: ${r.stdout.slice(0, 500)} stderr: ${r.stderr}`);
}

function json<T = Record<string, unknown>>(r: CliResult, what: string): T {
  assert.equal(r.stdout.split('\n').length, 2, `${what}: one line of JSON: ${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

export function transferSuite(name: 'wharf' | 'reference', start: () => Promise<Target>): void {
  describe(`wharf transfer verbs against ${name}`, () => {
    let target: Target;
    let client: RegistryClient;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let s: Seeded;
    let host: string;
    const amd = buildPlatformImage('linux', 'amd64');
    const arm = buildPlatformImage('linux', 'arm64', 'v8');
    const s390 = buildPlatformImage('linux', 's390x');
    const cli = (...args: string[]) => runCli(args, env);

    before(async () => {
      dir = tempDir('wharf-cli-transfer-');
      env = cliEnv(dir);
      target = await start();
      host = target.host;
      client = new RegistryClient(host, { credentials: false, retryBaseDelayMs: 10 });
      s = await seed(client, 'xfer');
      await pushImage(client, 'xfer/plat', amd, 'amd64');
      await pushImage(client, 'xfer/plat', arm, 'arm64');
      await pushImage(client, 'xfer/plat', s390, 's390x');
    });

    after(async () => {
      await client?.close();
      await target?.close();
      if (dir) removeDir(dir);
    });

    test('pull to a layout, push it back, cp to an archive and a platform; inspect; progress only when asked', async () => {
      const layout = join(dir, 'layout');
      const pull = await cli('pull', '--json', `${host}/${s.repo}:v1`, layout);
      expectCode(pull, 0, 'pull --json');
      const pulled = json(pull, 'pull');
      assert.deepEqual(
        Object.keys(pulled),
        ['source', 'target', 'reference', 'digest', 'mediaType', 'size', 'blobsCopied', 'blobsSkipped', 'blobsMounted', 'bytesCopied', 'manifests', 'referrers'],
      );
      assert.equal(pulled.digest, s.digest);
      assert.equal(pulled.blobsCopied, 2);
      assert.equal(pulled.reference, 'v1');
      assert.equal(pull.stderr, '', 'no progress on a pipe, no summary with --json');
      const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
      assert.equal(index.manifests[0]?.digest, s.digest);
      assert.equal(index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'], 'v1');

      const archive = join(dir, 'app.tar');
      const [push, pushProgress, toArchive, platform, allPlatforms, quiet, pullPlatform] = await Promise.all([
        cli('push', layout, `${host}/xfer/pushed:v1`),
        cli('push', '--progress', `oci:${layout}:v1`, `${host}/xfer/pushed:again`),
        cli('cp', `${host}/${s.repo}:multi`, `oci-archive:${archive}:multi`),
        cli('cp', '--platform', 'linux/arm64', `${host}/xfer/plat:arm64`, `${host}/xfer/one:arm`),
        cli('cp', '--all-platforms', '--concurrency', '2', `${host}/${s.repo}:multi`, `${host}/xfer/all:multi`),
        cli('cp', '-q', `${host}/${s.repo}@${s.digest}`, `${host}/xfer/quiet:v1`),
        cli('pull', '--platform', 'linux/arm64', `${host}/${s.repo}:multi`, `oci:${join(dir, 'arm')}:arm`),
      ]);
      const armChild = (JSON.parse(s.index.toString()) as { manifests: { digest: string }[] }).manifests[1]!.digest;
      expectCode(push, 0, 'push DIR REF');
      assert.equal(push.stdout, `${s.digest}\n`, 'push prints the digest');
      assert.match(push.stderr, new RegExp(`^copied oci:${layout}:v1 to ${host}/xfer/pushed:v1: \\d blobs? copied \\(.*\\), \\d already there, \\d mounted, 1 manifest\\n$`));
      assert.ok((await client.getManifest('xfer/pushed', 'v1')).bytes.equals(s.image.manifest), 'pushed byte-identical');
      expectCode(pushProgress, 0, 'push --progress');
      assert.ok(pushProgress.stderr.includes(`manifest ${s.digest} tag again\n`), `progress lines with --progress: ${pushProgress.stderr}`);
      assert.ok(/^image oci:.* -> .*xfer\/pushed v1\n/.test(pushProgress.stderr), pushProgress.stderr);
      assert.ok(!pushProgress.stderr.includes('\x1b['), 'no terminal escapes on a pipe');
      expectCode(toArchive, 0, 'cp to oci-archive');
      assert.equal(toArchive.stdout, `${s.indexDigest}\n`);
      assert.ok(existsSync(archive), 'the archive was written on close');
      expectCode(platform, 0, 'cp --platform of a single image of that platform');
      assert.equal(platform.stdout, `${arm.digest}\n`);
      expectCode(allPlatforms, 0, 'cp --all-platforms');
      assert.equal(allPlatforms.stdout, `${s.indexDigest}\n`);
      assert.equal((await client.headManifest('xfer/all', 'multi'))?.digest, s.indexDigest);
      expectCode(quiet, 0, 'cp -q by digest');
      assert.equal(quiet.stdout, `${s.digest}\n`, 'the digest is data: printed even with -q');
      assert.equal(quiet.stderr, '');
      expectCode(pullPlatform, 0, 'pull --platform of an index');
      assert.equal(pullPlatform.stdout, `${armChild}\n`, 'the arm64 child, not the index');
      const armIndex = JSON.parse(readFileSync(join(dir, 'arm', 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
      assert.deepEqual(armIndex.manifests.map((m) => [m.digest, m.annotations?.['org.opencontainers.image.ref.name']]), [[armChild, 'arm']]);

      const [fromArchive, inspectImage, inspectIndex, inspectPlatform, inspectText, missing, wrongPlatform] = await Promise.all([
        cli('cp', '--json', `oci-archive:${archive}`, `${host}/xfer/from-archive:m`),
        cli('inspect', '--json', `${host}/${s.repo}:v1`),
        cli('inspect', '--json', `oci-archive:${archive}:multi`),
        cli('inspect', '--json', '--platform', 'linux/amd64', `${host}/${s.repo}:multi`),
        cli('inspect', `${host}/${s.repo}:multi`),
        cli('cp', `${host}/${s.repo}:nope`, `oci:${join(dir, 'never')}`),
        cli('inspect', '--platform', 'windows/amd64', `${host}/${s.repo}:multi`),
      ]);
      expectCode(fromArchive, 0, 'cp from an archive with one image, no ref');
      assert.equal(json(fromArchive, 'cp --json').digest, s.indexDigest);
      expectCode(inspectImage, 0, 'inspect --json image');
      const img = json<{ digest: string; mediaType: string; size: number; config: { digest: string; platform?: { os: string } }; layers: { digest: string; size: number }[]; platforms: unknown[] }>(inspectImage, 'inspect');
      assert.deepEqual(Object.keys(img).slice(0, 6), ['digest', 'mediaType', 'size', 'config', 'layers', 'platforms']);
      assert.equal(img.digest, s.digest);
      assert.equal(img.size, s.image.manifest.length);
      assert.equal(img.config.digest, sha256(s.image.config));
      assert.equal(img.config.platform?.os, 'linux');
      assert.deepEqual(img.layers.map((l) => l.digest), [sha256(s.image.layers[0]!)]);
      assert.deepEqual(img.platforms, []);
      expectCode(inspectIndex, 0, 'inspect --json index in an archive');
      const idx = json<{ digest: string; config: unknown; platforms: { digest: string; platform: { architecture: string } }[] }>(inspectIndex, 'inspect index');
      assert.equal(idx.digest, s.indexDigest);
      assert.equal(idx.config, null);
      assert.deepEqual(idx.platforms.map((p) => p.platform.architecture), ['amd64', 'arm64']);
      expectCode(inspectPlatform, 0, 'inspect --platform');
      const child = json<{ digest: string; index: { digest: string } }>(inspectPlatform, 'inspect --platform');
      assert.equal(child.index.digest, s.indexDigest);
      assert.notEqual(child.digest, s.indexDigest);
      expectCode(inspectText, 0, 'inspect (human)');
      assert.ok(inspectText.stdout.startsWith(`Reference:    ${host}/${s.repo}:multi\nDigest:       ${s.indexDigest}\nMedia type:   application/vnd.oci.image.index.v1+json\n`), inspectText.stdout);
      assert.match(inspectText.stdout, /\nPlatforms \(2\):\n {2}PLATFORM +DIGEST +SIZE +MEDIA TYPE\n {2}linux\/amd64 +sha256:[0-9a-f]{64} +\d+ B +application\/vnd\.oci\.image\.manifest\.v1\+json\n {2}linux\/arm64 /);
      expectCode(missing, 1, 'cp of a missing tag');
      assert.equal(missing.stderr, `wharf cp: manifest ${host}/${s.repo}:nope not found (404 MANIFEST_UNKNOWN); try 'wharf tags ${host}/${s.repo}'\n`);
      assert.ok(!existsSync(join(dir, 'never')), 'no target layout is created for a missing source');
      expectCode(wrongPlatform, 1, 'inspect of a platform the index lacks');
      assert.ok(wrongPlatform.stderr.includes('no manifest for platform windows/amd64 (available: linux/amd64, linux/arm64)'), wrongPlatform.stderr);
    });

    test('blob put, manifest put (file and stdin), tag', async () => {
      const file = join(dir, 'blob.bin');
      const bytes = Buffer.from(`a blob for ${name} ${Date.now()}`);
      writeFileSync(file, bytes);
      const manifestFile = join(dir, 'manifest.json');
      writeFileSync(manifestFile, s.image.manifest);
      const [put, putJson, putStdin, mput, mputStdin, missingFile] = await Promise.all([
        cli('blob', 'put', `${host}/${s.repo}`, file),
        cli('blob', 'put', '--json', `${host}/xfer/blobs`, file),
        runCli(['blob', 'put', `${host}/xfer/stdin`, '-'], env, { input: bytes }),
        cli('manifest', 'put', `${host}/${s.repo}:put-file`, manifestFile),
        runCli(['manifest', 'put', '--json', `${host}/${s.repo}:put-stdin`, '-'], env, { input: s.image.manifest }),
        cli('blob', 'put', `${host}/${s.repo}`, join(dir, 'no-such-file')),
      ]);
      expectCode(put, 0, 'blob put FILE');
      assert.equal(put.stdout, `${sha256(bytes)}\n`);
      assert.equal(put.stderr, `uploaded ${bytes.length} bytes to ${host}/${s.repo}\n`);
      expectCode(putJson, 0, 'blob put --json');
      assert.deepEqual(json(putJson, 'blob put'), { digest: sha256(bytes), size: bytes.length, existed: false, mounted: false });
      expectCode(putStdin, 0, 'blob put -');
      assert.equal(putStdin.stdout, `${sha256(bytes)}\n`);
      assert.equal((await client.headBlob('xfer/stdin', sha256(bytes)))?.size, bytes.length);
      expectCode(mput, 0, 'manifest put FILE');
      assert.equal(mput.stdout, `${s.digest}\n`);
      expectCode(mputStdin, 0, 'manifest put -');
      assert.deepEqual(json(mputStdin, 'manifest put'), { digest: s.digest, size: s.image.manifest.length, tags: ['put-stdin'], subject: null });
      assert.equal((await client.headManifest(s.repo, 'put-file'))?.digest, s.digest);
      expectCode(missingFile, 1, 'blob put of a missing file');
      assert.equal(missingFile.stderr, `wharf blob put: cannot read ${join(dir, 'no-such-file')}: ENOENT\n`);

      const [tag, tagJson, tagMissing, badTag] = await Promise.all([
        cli('tag', `${host}/${s.repo}:v1`, 'stable', 'prod'),
        cli('tag', '--json', `${host}/${s.repo}@${s.indexDigest}`, 'multi-copy'),
        cli('tag', `${host}/${s.repo}:nope`, 'x'),
        cli('tag', `${host}/${s.repo}:v1`, 'bad tag!'),
      ]);
      expectCode(tag, 0, 'tag');
      assert.equal(tag.stdout, `${s.digest}\n`);
      assert.equal(tag.stderr, `tagged ${host}/${s.repo}@${s.digest} as stable, prod\n`);
      for (const t of ['stable', 'prod']) assert.equal((await client.headManifest(s.repo, t))?.digest, s.digest);
      expectCode(tagJson, 0, 'tag --json');
      assert.deepEqual(json(tagJson, 'tag'), { digest: s.indexDigest, mediaType: 'application/vnd.oci.image.index.v1+json', size: s.index.length, tags: ['multi-copy'] });
      expectCode(tagMissing, 1, 'tag of a missing tag');
      assert.equal(tagMissing.stderr, `wharf tag: manifest ${host}/${s.repo}:nope not found (404 MANIFEST_UNKNOWN); try 'wharf tags ${host}/${s.repo}'\n`);
      expectCode(badTag, 1, 'tag with an invalid new tag');
      assert.ok(badTag.stderr.startsWith('wharf tag: invalid tag "bad tag!"'), badTag.stderr);
    });

    test('artifact push and pull, attach, referrers', async () => {
      const sbom = join(dir, 'sbom.json');
      const notes = join(dir, 'notes.txt');
      writeFileSync(sbom, '{"packages":[]}');
      writeFileSync(notes, `notes for ${name}\n`);
      const push = await cli('artifact', 'push', '--json', `${host}/xfer/art:v1`, `${sbom}:application/spdx+json`, notes, '--artifact-type', 'application/vnd.example.bundle', '--annotation', 'team=infra');
      expectCode(push, 0, 'artifact push');
      const pushed = json<{ digest: string; artifactType: string; tag: string; files: string[] }>(push, 'artifact push');
      assert.equal(pushed.artifactType, 'application/vnd.example.bundle');
      assert.deepEqual(pushed.files, ['sbom.json', 'notes.txt']);
      const manifest = JSON.parse((await client.getManifest('xfer/art', 'v1')).bytes.toString()) as { artifactType: string; annotations: Record<string, string>; layers: { mediaType: string }[] };
      assert.equal(manifest.artifactType, 'application/vnd.example.bundle');
      assert.equal(manifest.annotations.team, 'infra');
      assert.deepEqual(manifest.layers.map((l) => l.mediaType), ['application/spdx+json', 'application/octet-stream']);

      const out = join(dir, 'art-out');
      // The two attaches run one after the other: on a registry without the referrers API (Distribution 2.8)
      // each rewrites the fallback tag `sha256-<hex>`, and two at once would race (the spec leaves it so).
      const [pull, attach] = await Promise.all([
        cli('artifact', 'pull', '--json', `${host}/xfer/art:v1`, '-o', out),
        cli('attach', '--progress', `${host}/${s.repo}:v1`, '--artifact-type', 'application/vnd.example.sbom', sbom),
      ]);
      const attach2 = await cli('attach', '--json', `${host}/${s.repo}:v1`, '--artifact-type', 'application/vnd.example.sig', notes);
      expectCode(pull, 0, 'artifact pull');
      const pulled = json<{ digest: string; files: string[] }>(pull, 'artifact pull');
      assert.equal(pulled.digest, pushed.digest);
      assert.deepEqual(pulled.files, [join(out, 'sbom.json'), join(out, 'notes.txt')]);
      assert.equal(readFileSync(join(out, 'sbom.json'), 'utf8'), '{"packages":[]}');
      assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), `notes for ${name}\n`);
      expectCode(attach, 0, 'attach');
      expectCode(attach2, 0, 'attach --json');
      const sbomDigest = attach.stdout.trim();
      assert.ok(attach.stderr.includes(`manifest ${sbomDigest}\n`) && attach.stderr.includes(`blob ${sha256('{"packages":[]}')} 15 B `), `attach --progress prints lines: ${attach.stderr}`);
      const sigDigest = json<{ digest: string }>(attach2, 'attach').digest;

      const [again, list, listJson, filtered] = await Promise.all([
        cli('artifact', 'pull', `${host}/xfer/art:v1`, '-o', out),
        cli('referrers', `${host}/${s.repo}:v1`),
        cli('referrers', '--json', `${host}/${s.repo}@${s.digest}`),
        cli('referrers', '--artifact-type', 'application/vnd.example.sig', `${host}/${s.repo}:v1`),
      ]);
      expectCode(again, 1, 'artifact pull over existing files');
      assert.equal(again.stderr, `wharf artifact pull: ${join(out, 'sbom.json')} exists; nothing was written (add --overwrite to replace it, or -o another directory)\n`);
      expectCode(list, 0, 'referrers');
      const expected = [`${sbomDigest} application/vnd.example.sbom`, `${sigDigest} application/vnd.example.sig`].sort();
      assert.equal(list.stdout, expected.join('\n') + '\n');
      expectCode(listJson, 0, 'referrers --json');
      const doc = json<{ subject: { digest: string }; referrers: { digest: string; artifactType: string }[] }>(listJson, 'referrers');
      assert.equal(doc.subject.digest, s.digest);
      assert.deepEqual(doc.referrers.map((r) => r.digest).sort(), [sbomDigest, sigDigest].sort());
      expectCode(filtered, 0, 'referrers --artifact-type');
      assert.equal(filtered.stdout, `${sigDigest} application/vnd.example.sig\n`);

      // cp --referrers: the image and both artifacts that refer to it.
      const withReferrers = await cli('cp', '--json', '--referrers', `${host}/${s.repo}:v1`, `oci:${join(dir, 'with-referrers')}:v1`);
      expectCode(withReferrers, 0, 'cp --referrers');
      const copied = json<{ digest: string; referrers: number; manifests: number }>(withReferrers, 'cp --referrers');
      assert.deepEqual([copied.digest, copied.referrers, copied.manifests], [s.digest, 2, 3]);
      const listed = await cli('referrers', `oci:${join(dir, 'with-referrers')}:v1`);
      expectCode(listed, 0, 'referrers in the layout');
      assert.equal(listed.stdout, list.stdout, 'the same referrers in the layout');
    });

    test('index create, add and remove; mirror with a summary, up-to-date on the second run, exit 1 on a failure', async () => {
      const create = await cli('index', 'create', '--json', `${host}/xfer/plat:multi`, 'amd64', `${host}/xfer/plat:arm64`, '--annotation', 'org.opencontainers.image.version=1');
      expectCode(create, 0, 'index create');
      const created = json<{ digest: string; mediaType: string; tag: string }>(create, 'index create');
      assert.equal(created.tag, 'multi');
      const add = await cli('index', 'add', `${host}/xfer/plat:multi`, `${host}/xfer/plat@${s390.digest}`);
      expectCode(add, 0, 'index add');
      const afterAdd = JSON.parse((await client.getManifest('xfer/plat', 'multi')).bytes.toString()) as { manifests: { digest: string; platform: { architecture: string } }[]; annotations: Record<string, string> };
      assert.deepEqual(afterAdd.manifests.map((m) => m.platform.architecture), ['amd64', 'arm64', 's390x']);
      assert.equal(afterAdd.annotations['org.opencontainers.image.version'], '1');
      const [remove, noWhat, otherRepo] = await Promise.all([
        cli('index', 'remove', '--json', `${host}/xfer/plat:multi`, '--platform', 'linux/s390x', '--digest', amd.digest),
        cli('index', 'remove', `${host}/xfer/plat:multi`),
        cli('index', 'create', `${host}/xfer/plat:bad`, `${host}/${s.repo}:v1`),
      ]);
      expectCode(remove, 0, 'index remove');
      const removed = json<{ digest: string }>(remove, 'index remove');
      const afterRemove = JSON.parse((await client.getManifest('xfer/plat', 'multi')).bytes.toString()) as { manifests: { digest: string }[] };
      assert.deepEqual(afterRemove.manifests.map((m) => m.digest), [arm.digest]);
      assert.equal((await client.headManifest('xfer/plat', 'multi'))?.digest, removed.digest);
      expectCode(noWhat, 2, 'index remove without --digest or --platform');
      assert.equal(noWhat.stderr, "wharf index remove: say what to remove: --digest DIGEST or --platform OS/ARCH (repeatable)\n(run 'wharf index remove --help' for usage and examples)\n");
      expectCode(otherRepo, 2, 'index create over another repository');

      const good = join(dir, 'mirror.yaml');
      writeFileSync(good, `concurrency: 2\nmirrors:\n  - source: ${host}/${s.repo}\n    target: ${host}/xfer/mirror\n    tags: [v1, multi]\n`);
      const bad = join(dir, 'mirror-bad.yaml');
      writeFileSync(bad, `mirrors:\n  - source: ${host}/${s.repo}\n    target: ${host}/xfer/mirror2\n    tags: [v1, nope]\n`);
      const first = await cli('mirror', good);
      expectCode(first, 0, 'mirror');
      const rows = first.stdout.split('\n');
      assert.match(rows[0]!, /^SOURCE +TARGET +STATUS +DIGEST +COPIED$/);
      assert.match(rows[1]!, new RegExp(`^${host}/${s.repo}:v1 +${host}/xfer/mirror:v1 +copied +${s.digest} +\\d+ blobs`));
      assert.match(rows[2]!, new RegExp(`^${host}/${s.repo}:multi +${host}/xfer/mirror:multi +copied +${s.indexDigest} `));
      assert.match(first.stderr, /^2 copied, 0 up to date, 0 failed; \d+ blobs copied \(.*\), \d+ mounted\n$/);
      const [second, failing, dry] = await Promise.all([cli('mirror', '--json', good), cli('mirror', bad), cli('mirror', '--dry-run', bad)]);
      expectCode(second, 0, 'mirror again');
      const summary = json<{ images: { status: string }[]; copied: number; upToDate: number; failed: number }>(second, 'mirror --json');
      assert.deepEqual([summary.copied, summary.upToDate, summary.failed], [0, 2, 0]);
      assert.deepEqual(summary.images.map((i) => i.status), ['up-to-date', 'up-to-date']);
      expectCode(failing, 1, 'mirror with a missing tag');
      assert.match(failing.stdout.split('\n')[2]!, new RegExp(`^${host}/${s.repo}:nope +${host}/xfer/mirror2:nope +failed +- +-$`));
      assert.ok(failing.stderr.includes(`wharf mirror: ${host}/${s.repo}:nope: `), failing.stderr);
      assert.equal((await client.headManifest('xfer/mirror2', 'v1'))?.digest, s.digest, 'the other image was copied');
      expectCode(dry, 0, 'mirror --dry-run');
      assert.match(dry.stdout, new RegExp(`^SOURCE +TARGET +TAGS\n${host}/${s.repo} +${host}/xfer/mirror2 +v1,nope\n$`));
    });
  });
}
