// Retention rules through the registry domain (no HTTP): keep the last N tags by push time, keep tags by
// pattern, delete old untagged manifests; never delete what a kept tag, a kept index or a kept subject holds;
// the dry run reports exactly what the real run then deletes; immutable tags are kept; the tag history records
// the deletions.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Registry } from '../../src/registry/index.js';
import { openStorage } from '../../src/storage/index.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite.js';
import type { LifecycleInput } from '../../src/registry/lifecycle.js';
import { keptTags } from '../../src/registry/retention.js';
import { LifecyclePolicies } from '../../src/registry/lifecycle.js';
import { tempDir, removeDir } from '../helpers/processes.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const ociIndex = 'application/vnd.oci.image.index.v1+json';
const day = 86_400_000;

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

async function registryWith(lifecycle: LifecycleInput): Promise<Registry> {
  const dir = tempDir('wharf-retention-');
  dirs.push(dir);
  return new Registry(await openStorage('memory:'), new SqliteMetadataStore(join(dir, 'wharf.db')), { lifecycle });
}

/** Pushes an image manifest (over one fresh linked config blob) and returns its digest and bytes. */
async function image(r: Registry, repo: string, tags: string[] = [], subject?: { digest: string; size: number }): Promise<{ digest: string; body: Buffer }> {
  const config = randomBytes(16);
  await r.metadata.linkBlob(repo, { digest: sha(config), size: config.length });
  const m: Record<string, unknown> = { schemaVersion: 2, mediaType: ociManifest, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [] };
  if (subject) m.subject = { mediaType: ociManifest, ...subject };
  const body = Buffer.from(JSON.stringify(m));
  const [first, ...rest] = tags;
  const { digest } = await r.manifests.put(repo, first ?? sha(body), body, ociManifest, rest);
  return { digest, body };
}

async function index(r: Registry, repo: string, tag: string, children: { digest: string; body: Buffer }[]): Promise<string> {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: ociIndex, manifests: children.map((c) => ({ mediaType: ociManifest, digest: c.digest, size: c.body.length, platform: { os: 'linux', architecture: 'amd64' } })) }));
  return (await r.manifests.put(repo, tag, body, ociIndex)).digest;
}

async function tagsOf(r: Registry, repo: string): Promise<string[]> {
  return r.metadata.listTags(repo, { limit: 1000 });
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 15));

describe('retention', () => {
  test('keep the last N by push time (not by name) plus patterns; dry run equals the real run', async () => {
    const r = await registryWith({ retention: [{ repositories: ['ret/**'], keepLast: 3, keepTags: ['release-*'] }] });
    const repo = 'ret/app';
    const zz = await image(r, repo, ['zz-oldest']);
    await tick();
    const rel = await image(r, repo, ['release-1']);
    await tick();
    const aa = await image(r, repo, ['aa']);
    await tick();
    const mid = await image(r, repo, ['mid']);
    await tick();
    const shared = await image(r, repo, ['b-newest', 'old-alias']);
    // Kept: the three most recently pushed tags (b-newest, old-alias, mid), and release-1 by its pattern.
    const dry = await r.retention.run({ dryRun: true });
    assert.equal(dry.dryRun, true);
    const plan = dry.repositories[0]!;
    assert.deepEqual(plan.deletedManifests.map((m) => m.digest).sort(), [zz.digest, aa.digest].sort(), 'the two oldest unmatched tags go with their manifests');
    assert.ok(plan.deletedManifests.every((m) => m.reason === 'tags dropped' && m.tags.length === 1), 'reason and tags reported');
    assert.deepEqual(plan.deletedTags, [], 'no tag deleted on its own');
    assert.deepEqual(await tagsOf(r, repo), ['aa', 'b-newest', 'mid', 'old-alias', 'release-1', 'zz-oldest'], 'the dry run changed nothing');

    const real = await r.retention.run();
    assert.deepEqual({ ...real, dryRun: true }, dry, 'the real run did exactly what the dry run said');
    assert.deepEqual(await tagsOf(r, repo), ['b-newest', 'mid', 'old-alias', 'release-1']);
    assert.equal(await r.metadata.getManifest(repo, zz.digest), undefined);
    assert.equal(await r.metadata.getManifest(repo, aa.digest), undefined);
    assert.ok(await r.metadata.getManifest(repo, rel.digest), 'a pattern keeps release-1 although it is old');
    assert.ok(await r.metadata.getManifest(repo, mid.digest) && (await r.metadata.getManifest(repo, shared.digest)), 'the newest stay');
    const history = await r.metadata.tagHistory(repo, 'zz-oldest', { limit: 5 });
    assert.equal(history[0]?.newDigest, undefined, 'the deletion is in the tag history');
    const again = await r.retention.run();
    assert.equal(again.deletedManifests + again.deletedTags, 0, 'a second run finds nothing more');
  });

  test('index children, referrers of kept manifests and young untagged manifests are kept', async () => {
    const r = await registryWith({
      retention: [
        { repositories: ['keep/young'], deleteUntaggedAfter: '3650d' },
        { repositories: ['keep/**'], keepLast: 1, deleteUntaggedAfter: '1d' },
      ],
    });
    const repo = 'keep/app';
    const childA = await image(r, repo);
    const childB = await image(r, repo, ['child-tag']); // its own tag is dropped, the index still holds it
    await tick();
    const lonely = await image(r, repo); // untagged, referenced by nothing
    const dropped = await image(r, repo, ['dropped']);
    const droppedSig = await image(r, repo, [], { digest: dropped.digest, size: dropped.body.length });
    await tick();
    const idx = await index(r, repo, 'multi', [childA, childB]);
    const sig = await image(r, repo, [], { digest: idx, size: 1 }); // a referrer of the kept index
    const young = await image(r, 'keep/young');

    const now = Date.now() + 2 * day;
    const dry = await r.retention.run({ dryRun: true, now });
    const real = await r.retention.run({ now });
    assert.deepEqual({ ...real, dryRun: true }, dry, 'dry run equals the real run');
    const app = real.repositories.find((x) => x.repository === repo)!;
    assert.deepEqual(app.deletedTags, ['child-tag'], 'a dropped tag on a manifest something kept holds: only the tag goes');
    assert.deepEqual(
      app.deletedManifests.map((m) => [m.digest, m.reason]).sort(),
      [
        [lonely.digest, 'untagged'],
        [dropped.digest, 'tags dropped'],
        [droppedSig.digest, 'untagged'],
      ].sort(),
    );
    for (const kept of [childA.digest, childB.digest, idx, sig.digest]) assert.ok(await r.metadata.getManifest(repo, kept), `${kept} is kept`);
    for (const gone of [lonely.digest, dropped.digest, droppedSig.digest]) assert.equal(await r.metadata.getManifest(repo, gone), undefined, `${gone} is deleted`);
    assert.deepEqual(await tagsOf(r, repo), ['multi']);
    assert.ok(await r.metadata.getManifest('keep/young', young.digest), 'a rule with a long deleteUntaggedAfter keeps a young untagged manifest');
    assert.equal(real.repositories.find((x) => x.repository === 'keep/young')?.deletedManifests.length, 0);
  });

  test('immutable tags are kept whatever keepLast says; repositories without a rule are untouched', async () => {
    const r = await registryWith({
      immutableTags: [{ repositories: ['imm/**'], tags: ['v*'] }],
      retention: [{ repositories: ['imm/**'], keepLast: 0 }],
    });
    const v = await image(r, 'imm/app', ['v1']);
    const other = await image(r, 'imm/app', ['nightly']);
    const free = await image(r, 'norule/app', ['x']);
    const report = await r.retention.run();
    assert.deepEqual(report.repositories.map((x) => x.repository), ['imm/app']);
    assert.deepEqual(await tagsOf(r, 'imm/app'), ['v1']);
    assert.ok(await r.metadata.getManifest('imm/app', v.digest), 'the immutable tag holds its manifest');
    assert.equal(await r.metadata.getManifest('imm/app', other.digest), undefined);
    assert.ok(await r.metadata.getManifest('norule/app', free.digest), 'no rule, no deletion');
  });

  test('a push between the plan and the deletions is respected: a newly tagged manifest stays', async () => {
    const r = await registryWith({ retention: [{ repositories: ['race/**'], keepLast: 1 }] });
    const repo = 'race/app';
    const doomed = await image(r, repo, ['old']);
    await tick();
    const other = await image(r, repo, ['older-too']);
    await tick();
    await image(r, repo, ['new']);
    // Right after the plan has read the manifests, a client tags `doomed` again.
    const store = r.metadata;
    const listManifests = store.listManifests!.bind(store);
    let pushed = false;
    store.listManifests = async (...args) => {
      const page = await listManifests(...args);
      if (!pushed) {
        pushed = true;
        await r.manifests.put(repo, 'rescued', doomed.body, ociManifest);
      }
      return page;
    };
    const report = await r.retention.run();
    const done = report.repositories[0]!;
    assert.deepEqual(done.deletedManifests.map((m) => m.digest), [other.digest], 'only the manifest nobody re-tagged was deleted');
    assert.ok(await r.metadata.getManifest(repo, doomed.digest), 'the re-tagged manifest stays');
    assert.deepEqual(await tagsOf(r, repo), ['new', 'old', 'rescued'], 'its tags stay with it');
    assert.equal(done.keptManifests, 2);
  });

  test('keptTags: ties in push time break by name; no keepLast keeps only the patterns', () => {
    const rule = new LifecyclePolicies({ retention: [{ repositories: ['**'], keepLast: 2 }] }).retentionFor('x')!;
    const tags = [
      { name: 'b', digest: 'd', updatedAt: 5 },
      { name: 'a', digest: 'd', updatedAt: 5 },
      { name: 'c', digest: 'd', updatedAt: 9 },
      { name: 'old', digest: 'd', updatedAt: 1 },
    ];
    assert.deepEqual([...keptTags(rule, tags, () => false)].sort(), ['a', 'c']);
    const patterns = new LifecyclePolicies({ retention: [{ repositories: ['**'], keepTags: ['o*'] }] }).retentionFor('x')!;
    assert.deepEqual([...keptTags(patterns, tags, () => false)], ['old']);
  });
});
