// `wharf import --from-distribution`: images pushed to the reference registry (CNCF Distribution, filesystem
// storage), which is then stopped; its rootdirectory imported into a fresh Wharf data directory; Wharf started
// on it serves every tag, manifest and blob byte for byte. Re-running imports nothing; a corrupt blob in the
// source is skipped and reported with what depends on it, a layer link without data is only counted; hard links and copies; an import killed part-way
// completes when run again. skopeo pulls the imported indexes whole.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync, readSync, writeFileSync, writeSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import { projectRoot, removeDir, spawnReference, spawnWharf, tempDir, wharfCommand } from '../helpers/processes.js';
import { buildImage, sha256 } from '../client/helpers.js';
import { Skopeo, dirRef, dockerRef } from '../interop/skopeo.js';
import { assertServes, pushFixture, pushRecorded, runWharf, type Fixture } from './helpers.js';
import type { ImportSummary } from '../../src/admin/import-distribution.js';

function distributionBlob(root: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

function flipFirstByte(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 0);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, 0);
  } finally {
    closeSync(fd);
  }
}

function parseSummary(stdout: string): ImportSummary {
  try {
    return JSON.parse(stdout) as ImportSummary;
  } catch {
    throw new Error(`import did not print JSON:\n${stdout}`);
  }
}

/** Starts Wharf on a data directory, runs `check` with a client, stops it. */
async function withWharf(data: string, check: (client: RegistryClient, host: string) => Promise<void>): Promise<void> {
  const wharf = await spawnWharf({ data });
  const client = new RegistryClient(wharf.host);
  try {
    await check(client, wharf.host);
  } finally {
    await client.close();
    await wharf.stop();
  }
}

describe('wharf import --from-distribution', () => {
  const work = tempDir('wharf-import-');
  const root = join(work, 'distribution', 'root');
  let fixture: Fixture;
  let subject: string;
  let referrer: string;
  let corruptLayer: string;
  let danglingLayer: string;

  before(async () => {
    const reference = await spawnReference({ data: join(work, 'distribution') });
    const client = new RegistryClient(reference.host);
    try {
      ({ fixture, subject, referrer } = await pushFixture(client));
      // An image whose (unshared) layer is corrupted on disk after the push.
      const broken = buildImage({ layers: [Buffer.from(`a layer that will rot ${Math.random()}`)] });
      const brokenFixture: Fixture = new Map();
      await pushRecorded(client, brokenFixture, 'broken', broken, ['1']);
      corruptLayer = sha256(broken.layers[0]!);
      await assertServes(client, fixture); // the fixture is what Distribution serves
    } finally {
      await client.close();
      await reference.stop();
    }
    flipFirstByte(distributionBlob(root, corruptLayer));
    // A layer link whose data Distribution's garbage collector deleted (it leaves the links behind).
    danglingLayer = sha256(`collected ${Math.random()}`);
    const linkDir = join(root, 'docker', 'registry', 'v2', 'repositories', 'app', 'web', '_layers', 'sha256', danglingLayer.slice(7));
    mkdirSync(linkDir, { recursive: true });
    writeFileSync(join(linkDir, 'link'), danglingLayer);
  });

  after(() => removeDir(work));

  test('imports every repository, tag, manifest and blob; Wharf serves them byte-identically; a re-run imports nothing', async () => {
    const data = join(work, 'wharf-auto');
    const first = await runWharf(['import', '--from-distribution', root, '--data', data, '--json']);
    assert.equal(first.code, 1, `exit 1 when something was skipped:\n${first.stderr}`);
    const s = parseSummary(first.stdout);
    assert.equal(s.repositories, 5, 'app/web, app/multi, legacy/tool, team/a/b/deep and broken');
    assert.equal(s.manifests.imported, [...fixture.values()].reduce((n, r) => n + r.manifests.size, 0), 'every good manifest imported');
    assert.equal(s.tags.imported, [...fixture.values()].reduce((n, r) => n + r.tags.size, 0), 'every good tag imported');
    assert.ok(s.blobs.imported > 0 && s.bytes > 2 * 1024 * 1024, `blobs and bytes counted: ${JSON.stringify(s.blobs)} ${s.bytes}`);
    assert.equal(s.blobs.linked, s.blobs.imported, 'same filesystem: every blob hard-linked');
    const skipped = s.skipped.map((k) => `${k.kind} ${k.repository} ${k.name}`).sort();
    assert.deepEqual(skipped, [`blob broken ${corruptLayer}`, 'manifest broken ' + s.skipped.find((k) => k.kind === 'manifest')?.name, 'tag broken 1'].sort(), JSON.stringify(s.skipped));
    assert.match(s.skipped.find((k) => k.kind === 'blob')!.reason, /corrupt/, 'the blob is reported as corrupt');
    assert.equal(s.danglingLayerLinks, 1, 'the layer link without data is counted, not skipped');
    const links = [...fixture.values()].reduce((n, r) => n + r.blobs.size, 0) + 1; // + the good config of broken
    assert.equal(s.layerLinks, links, 'one repository link per blob each repository holds');
    assert.match(s.skipped.find((k) => k.kind === 'manifest')!.reason, new RegExp(corruptLayer), 'the manifest names the blob it misses');

    // A hard link shares the inode with the source.
    const someBlob = [...fixture.get('app/web')!.blobs.keys()][0]!;
    const hex = someBlob.slice(7);
    assert.equal(statSync(join(data, 'blobs', 'sha256', hex.slice(0, 2), hex)).ino, statSync(distributionBlob(root, someBlob)).ino, 'blob hard-linked');

    await withWharf(data, async (client, host) => {
      await assertServes(client, fixture);
      const catalog = await client.catalog().collect();
      assert.deepEqual(catalog, [...fixture.keys()].sort(), 'the catalog lists the repositories with manifests');
      const refs = await client.referrers('app/web', subject);
      assert.deepEqual(refs.manifests.map((m) => m.digest), [referrer], 'the referrer is indexed by its subject');
      await assert.rejects(client.getManifest('broken', '1'), 'the tag of the corrupt image was not imported');
      // A real client pulls the imported indexes whole (every platform), digests unchanged.
      const skopeo = new Skopeo(join(work, 'skopeo'));
      for (const [repo, tag] of [['app/multi', 'latest'], ['legacy/tool', 'multi']] as const) {
        const dest = join(work, 'pulled', repo);
        mkdirSync(dest, { recursive: true });
        const digest = await skopeo.copy(dockerRef(host, repo, tag), dirRef(dest), ['--all']);
        assert.equal(digest, fixture.get(repo)!.tags.get(tag), `skopeo pulls ${repo}:${tag} with its pushed digest`);
      }
    });

    const again = await runWharf(['import', '--from-distribution', root, '--data', data, '--json']);
    const s2 = parseSummary(again.stdout);
    assert.deepEqual(
      { blobs: s2.blobs.imported, manifests: s2.manifests.imported, tags: s2.tags.imported, links: s2.layerLinks, bytes: s2.bytes },
      { blobs: 0, manifests: 0, tags: 0, links: 0, bytes: 0 },
      'a second run imports nothing',
    );
    assert.equal(s2.manifests.existing, s.manifests.imported, 'every manifest found present');
    assert.equal(s2.tags.existing, s.tags.imported, 'every tag found present');
    assert.equal(s2.skipped.length, 3, 'the corrupt content is still reported');

    const fsck = await runWharf(['fsck', '--data', data, '--json']);
    assert.equal(fsck.code, 0, `fsck passes on the imported data:\n${fsck.stdout}${fsck.stderr}`);
  });

  test('--copy copies (no shared inodes) and prints a readable summary', async () => {
    const data = join(work, 'wharf-copy');
    const r = await runWharf(['import', '--from-distribution', root, '--data', data, '--copy']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /imported from .*: 5 repositories/, r.stdout);
    assert.match(r.stdout, /blobs: +\d+ new \(0 hard-linked, \d+ copied/, r.stdout);
    assert.match(r.stdout, /blob sha256:[0-9a-f]{64} in broken: corrupt in the source/, r.stdout);
    assert.match(r.stdout, /layer links: \d+ new, 1 without data in the source/, r.stdout);
    assert.doesNotMatch(r.stdout, new RegExp(danglingLayer), 'the dangling link is not listed as skipped');
    const someBlob = [...fixture.get('legacy/tool')!.blobs.keys()][0]!;
    const hex = someBlob.slice(7);
    assert.notEqual(statSync(join(data, 'blobs', 'sha256', hex.slice(0, 2), hex)).ino, statSync(distributionBlob(root, someBlob)).ino, 'blob copied');
    await withWharf(data, (client) => assertServes(client, fixture));
  });

  test('an import killed part-way completes when run again', async () => {
    const data = join(work, 'wharf-killed');
    const { cmd, argv } = wharfCommand(['import', '--from-distribution', root, '--data', data, '--copy', '--json']);
    const proc = spawn(cmd, argv, { cwd: projectRoot, stdio: 'ignore' });
    // Kill it part-way: once a few blobs are stored (or after 20 s at most, or if it finished first).
    const blobDirs = join(data, 'blobs', 'sha256');
    const storedBlobs = () => {
      try {
        return readdirSync(blobDirs).reduce((n, d) => n + readdirSync(join(blobDirs, d)).filter((f) => !f.includes('.tmp-')).length, 0);
      } catch {
        return 0;
      }
    };
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && proc.exitCode === null && storedBlobs() < 3) await new Promise((r) => setTimeout(r, 5));
    const killedAfter = storedBlobs();
    proc.kill('SIGKILL');
    await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(undefined) : proc.once('exit', r)));
    const r = await runWharf(['import', '--from-distribution', root, '--data', data, '--json']);
    const s = parseSummary(r.stdout);
    assert.equal(s.skipped.length, 3, `only the corrupt image is skipped: ${JSON.stringify(s.skipped)}`);
    // At most one blob can be stored without its row (killed between the two): it is copied again.
    assert.ok(s.blobs.existing >= killedAfter - 1, `blobs stored before the kill are not copied again (${killedAfter} stored, ${JSON.stringify(s.blobs)})`);
    await withWharf(data, (client) => assertServes(client, fixture));
  });

  test('tag immutability applies as to a push: a re-import does not move an immutable tag, and says why', async () => {
    const data = join(work, 'wharf-immutable');
    mkdirSync(data, { recursive: true });
    const config = join(data, 'config.yaml');
    writeFileSync(config, `data: .\nlifecycle:\n  immutableTags:\n    - repositories: ['app/web']\n      tags: ['v1']\n`);
    const first = parseSummary((await runWharf(['import', '--from-distribution', root, '--config', config, '--json'])).stdout);
    assert.equal(first.tags.imported, [...fixture.values()].reduce((n, r) => n + r.tags.size, 0), 'every good tag imported');
    // Distribution moves v1 to another manifest of the repository; the import would move it too.
    const link = join(root, 'docker', 'registry', 'v2', 'repositories', 'app', 'web', '_manifests', 'tags', 'v1', 'current', 'link');
    const original = readFileSync(link, 'utf8');
    const other = [...fixture.get('app/web')!.manifests.keys()].find((d) => d !== fixture.get('app/web')!.tags.get('v1'))!;
    writeFileSync(link, other);
    try {
      const again = parseSummary((await runWharf(['import', '--from-distribution', root, '--config', config, '--json'])).stdout);
      const refused = again.skipped.find((k) => k.kind === 'tag' && k.repository === 'app/web');
      assert.equal(refused?.name, 'v1', `the move of v1 is refused: ${JSON.stringify(again.skipped)}`);
      assert.match(refused.reason, /immutable/i, refused.reason);
      assert.equal(again.tags.imported, 0, 'nothing moved');
    } finally {
      writeFileSync(link, original);
    }
  });

  test('clear errors: not a Distribution directory, --link onto object storage', async () => {
    const notDist = await runWharf(['import', '--from-distribution', work, '--data', join(work, 'unused')]);
    assert.equal(notDist.code, 2, notDist.stderr);
    assert.match(notDist.stderr, /not a Distribution storage directory/, notDist.stderr);
    const link = await runWharf(['import', '--from-distribution', root, '--data', join(work, 'unused'), '--storage', 'memory:', '--link']);
    assert.equal(link.code, 2, link.stderr);
    assert.match(link.stderr, /--link needs Wharf storage on the filesystem driver/, link.stderr);
    const both = await runWharf(['import', '--from-distribution', root, '--link', '--copy']);
    assert.equal(both.code, 2, 'usage error');
  });
});
