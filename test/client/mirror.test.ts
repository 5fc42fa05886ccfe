// mirror: the YAML format (checks and their line numbers) and runs from Wharf to the reference registry with a
// tag list, a tag pattern, a platform subset, referrers and an entry that fails; a second run is up-to-date.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType, MemoryStore, RegistryClient, type Descriptor } from '../../src/client/index.js';
import { registryClients } from '../../src/client/locations.js';
import { RegistryStore } from '../../src/client/remote-store.js';
import { copy } from '../../src/client/ops/copy.js';
import { MirrorConfigError, mirror, parseMirrorConfig, type MirrorImageResult } from '../../src/client/ops/mirror.js';
import type { TransferEvent } from '../../src/client/ops/events.js';
import { projectRoot } from '../helpers/processes.js';
import { randomData, sha256, startReference, startWharf, type Target } from './helpers.js';

interface Built {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

async function putBlob(store: MemoryStore, b: Buffer, mediaType = 'application/octet-stream'): Promise<Descriptor> {
  const d = { mediaType, digest: sha256(b), size: b.length };
  await store.pushBlob(d, async () => Readable.from([b]));
  return d;
}

async function putManifest(store: MemoryStore, doc: object, mediaType: string, push: { root: boolean; tag?: string }): Promise<Built> {
  const bytes = Buffer.from(JSON.stringify(doc));
  const m = { digest: sha256(bytes), mediaType, bytes };
  await store.pushManifest(m, push);
  return m;
}

async function image(store: MemoryStore, platform: { os: string; architecture: string; variant?: string }, extra: Record<string, unknown> = {}): Promise<Built> {
  const config = await putBlob(store, Buffer.from(JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() })), MediaType.ociConfig);
  const layer = await putBlob(store, randomData(1500), 'application/vnd.oci.image.layer.v1.tar');
  return putManifest(store, { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer], ...extra }, MediaType.ociManifest, { root: false });
}

const platforms = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 's390x' },
];

/** A three-platform index tagged `tag`; returns it and its children. */
async function multiArch(store: MemoryStore, tag: string): Promise<{ index: Built; children: Built[] }> {
  const children: Built[] = [];
  for (const p of platforms) children.push(await image(store, p));
  const manifests = children.map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: c.bytes.length, platform: platforms[i]! }));
  const index = await putManifest(store, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }, MediaType.ociIndex, { root: true, tag });
  return { index, children };
}

describe('parseMirrorConfig', () => {
  test('the example file parses', () => {
    const config = parseMirrorConfig(readFileSync(join(projectRoot, 'examples', 'mirror', 'mirror.yaml'), 'utf8'));
    assert.ok(config.mirrors.length >= 2, `${config.mirrors.length} entries`);
  });

  test('defaults, docker:// prefixes, patterns and platforms', () => {
    const config = parseMirrorConfig(`
mirrors:
  - source: docker://localhost:5000/app
    target: localhost:6000/mirror/app
    tagPattern: "^v\\\\d+$"
    platforms: [linux/arm64, linux/amd64]
`);
    assert.equal(config.concurrency, 4);
    const [entry] = config.mirrors;
    assert.equal(entry!.source, 'localhost:5000/app');
    assert.equal(entry!.referrers, false);
    assert.ok(entry!.tagPattern!.test('v12') && !entry!.tagPattern!.test('v1-rc'), 'the pattern is a RegExp');
    assert.deepEqual(entry!.platforms, [
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'amd64' },
    ]);
  });

  test('problems are listed with their lines', () => {
    const text = [
      'concurrency: 2', // 1
      'mirrors:', // 2
      '  - source: localhost:5000/app', // 3
      '    target: localhost:6000/app', // 4
      '  - source: localhost:5000/app:v1', // 5
      '    target: localhost:6000/app', // 6
      '    tags: [v1]', // 7
      '  - source: localhost:5000/b', // 8
      '    target: localhost:6000/b', // 9
      '    tagPattern: "(" ', // 10
      '    platform: linux/amd64', // 11
    ].join('\n');
    assert.throws(
      () => parseMirrorConfig(text),
      (e: unknown) => {
        assert.ok(e instanceof MirrorConfigError, `MirrorConfigError, got ${String(e)}`);
        const message = (e as Error).message;
        assert.match(message, /line 3: mirrors\.0: give exactly one of tags/);
        assert.match(message, /line 5: mirrors\.1\.source: "localhost:5000\/app:v1" names a tag or digest/);
        assert.match(message, /line 10: mirrors\.2\.tagPattern: not a regular expression/);
        assert.match(message, /line 11: mirrors\.2\.platform: unknown key/);
        return true;
      },
    );
  });

  test('bad YAML, a bad platform, an empty list', () => {
    assert.throws(() => parseMirrorConfig('mirrors: [\n'), /not valid YAML/);
    assert.throws(() => parseMirrorConfig('mirrors:\n  - {source: a.io/x, target: b.io/y, allTags: true, platforms: [linux]}\n'), /line 2: mirrors\.0\.platforms\.0: invalid platform "linux"/);
    assert.throws(() => parseMirrorConfig('mirrors: []\n'), /mirrors/);
  });
});

describe('mirror from Wharf to the reference registry', () => {
  let wharf: Target;
  let reference: Target;
  let clients: ReturnType<typeof registryClients>;
  let app: { index: Built; children: Built[] };
  let appV2: { index: Built; children: Built[] };
  const toolDigests: Record<string, string> = {};
  let signature: Built;

  before(async () => {
    wharf = await startWharf();
    reference = await startReference();
    clients = registryClients({ credentials: false });
    const mem = new MemoryStore();
    app = await multiArch(mem, 'v1');
    appV2 = await multiArch(mem, 'v2');
    await image(mem, platforms[0]!).then((m) => mem.pushManifest(m, { root: true, tag: 'dev' }));
    for (const tag of ['v1', 'v2', 'v10-rc', 'latest']) {
      const m = await image(mem, platforms[0]!);
      await mem.pushManifest(m, { root: true, tag: `tool-${tag}` });
      toolDigests[tag] = m.digest;
    }
    const empty = await putBlob(mem, Buffer.from('{}'), MediaType.ociEmpty);
    const sigLayer = await putBlob(mem, Buffer.from('signature'), 'application/vnd.example.sig');
    const subject = { mediaType: MediaType.ociManifest, digest: toolDigests.v1!, size: (await mem.resolve(toolDigests.v1!)).bytes.length };
    signature = await putManifest(mem, { schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: 'application/vnd.example.sig', config: empty, layers: [sigLayer], subject }, MediaType.ociManifest, { root: true });
    const wc = clients.clientFor(wharf.host);
    for (const tag of ['v1', 'v2', 'dev']) await copy(mem, tag, new RegistryStore(wc, 'src/app'));
    for (const tag of ['v1', 'v2', 'v10-rc', 'latest']) await copy(mem, `tool-${tag}`, new RegistryStore(wc, 'src/tools'), { tag, referrers: true });
  });

  after(async () => {
    await clients?.close();
    await wharf?.close();
    await reference?.close();
  });

  const yaml = () => `
concurrency: 3
mirrors:
  - source: ${wharf.host}/src/app
    target: ${reference.host}/mirror/app
    tags: [v1, v2]
  - source: ${wharf.host}/src/tools
    target: ${reference.host}/mirror/tools
    tagPattern: "^v\\\\d+$"
    referrers: true
  - source: ${wharf.host}/src/missing
    target: ${reference.host}/mirror/missing
    tags: [v1]
  - source: ${wharf.host}/src/app
    target: ${reference.host}/mirror/app-arm
    tags: [v1]
    platforms: [linux/arm64]
  - source: ${wharf.host}/src/app
    target: ${reference.host}/mirror/app-two
    tags: [v2]
    platforms: [linux/s390x, linux/amd64]
  - source: ${wharf.host}/src/nothing-here
    target: ${reference.host}/mirror/nothing
    allTags: true
`;

  const row = (images: MirrorImageResult[], target: string, tag: string | undefined) => {
    const found = images.find((r) => r.target === `${reference.host}/mirror/${target}${tag !== undefined ? `:${tag}` : ''}`);
    assert.ok(found, `a result for ${target}:${tag}: ${JSON.stringify(images.map((r) => r.target))}`);
    return found!;
  };

  test('first run copies what the file says and records the failures', async () => {
    const events: TransferEvent[] = [];
    const summary = await mirror(parseMirrorConfig(yaml()), { clientFor: clients.clientFor, onEvent: (e) => events.push(e) });
    const rows = summary.images;
    assert.deepEqual(
      rows.map((r) => `${r.target.slice(reference.host.length + 1)} ${r.status}`),
      [
        'mirror/app:v1 copied',
        'mirror/app:v2 copied',
        'mirror/tools:v1 copied',
        'mirror/tools:v2 copied',
        'mirror/missing:v1 failed',
        'mirror/app-arm:v1 copied',
        'mirror/app-two:v2 copied',
        'mirror/nothing failed',
      ],
    );
    assert.equal(summary.copied, 6);
    assert.equal(summary.failed, 2);
    assert.equal(summary.upToDate, 0);
    assert.ok(summary.blobsCopied > 0 && summary.bytesCopied > 0, `blobs ${summary.blobsCopied}, bytes ${summary.bytesCopied}`);
    assert.match(row(rows, 'missing', 'v1').error ?? '', /tag v1 not found|NAME_UNKNOWN|MANIFEST_UNKNOWN/);
    assert.equal(row(rows, 'nothing', undefined).tag, undefined);
    assert.equal(row(rows, 'app', 'v1').digest, app.index.digest);
    assert.equal(row(rows, 'app-arm', 'v1').digest, app.children[1]!.digest, 'one platform: its own manifest');
    assert.equal(events.filter((e) => e.type === 'image-start').length, 7, 'an image-start per tag tried');

    const rc = new RegistryClient(reference.url, { credentials: false });
    try {
      assert.ok((await rc.getManifest('mirror/app', 'v2')).bytes.equals(appV2.index.bytes), 'index byte-identical');
      assert.deepEqual((await rc.listTags('mirror/tools').collect()).filter((t) => !t.startsWith('sha256-')).sort(), ['v1', 'v2']);
      const refs = await new RegistryStore(rc, 'mirror/tools').referrers(toolDigests.v1!);
      assert.deepEqual(refs.map((d) => d.digest), [signature.digest], 'the signature came along');
      const two = await rc.getManifest('mirror/app-two', 'v2');
      assert.equal(two.digest, row(rows, 'app-two', 'v2').digest);
      const doc = JSON.parse(two.bytes.toString()) as { manifests: Descriptor[] };
      assert.deepEqual(doc.manifests.map((d) => d.platform!.architecture), ['amd64', 's390x'], 'a new index of the platforms asked for, in index order');
    } finally {
      await rc.close();
    }
  });

  test('second run: everything that was copied is up-to-date', async () => {
    const summary = await mirror(parseMirrorConfig(yaml()), { clientFor: clients.clientFor });
    assert.equal(summary.upToDate, 6);
    assert.equal(summary.copied, 0);
    assert.equal(summary.failed, 2);
    assert.equal(summary.blobsCopied, 0);
  });

  test('a moved tag is copied again; the others stay up-to-date', async () => {
    const wc = clients.clientFor(wharf.host);
    await copy(new RegistryStore(wc, 'src/app'), 'v2', new RegistryStore(wc, 'src/app'), { tag: 'v1' });
    const config = parseMirrorConfig(yaml());
    const summary = await mirror({ ...config, mirrors: config.mirrors.slice(0, 1) }, { clientFor: clients.clientFor, concurrency: 1 });
    assert.deepEqual(
      summary.images.map((r) => r.status),
      ['copied', 'up-to-date'],
    );
    assert.equal(summary.images[0]!.digest, appV2.index.digest);
    assert.equal(summary.blobsCopied, 0, 'the blobs were there already');
  });
});
