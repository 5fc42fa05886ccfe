// What the operations write, read by a real client: skopeo copies an index made by createIndex and an artifact
// made by pushArtifact out of Wharf into an OCI layout, byte for byte, and the operations read them back there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createIndex, inspect, openLayout, pullArtifact, pushArtifact, RegistryClient, RegistryStore } from '../../src/client/index.js';
import { pushPlatformImage } from './ops-places.js';
import { randomData, removeDir, startWharf, tempDir, uniqueRepo, type Target } from './helpers.js';

const run = promisify(execFile);

async function skopeo(args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

let target: Target;
let client: RegistryClient;
let dir: string;

before(async () => {
  target = await startWharf();
  client = new RegistryClient(target.host, { credentials: false });
  dir = tempDir('wharf-ops-interop-');
});

after(async () => {
  await client?.close();
  await target?.close();
  removeDir(dir);
});

test('skopeo reads an index made by createIndex and copies it with every platform', async () => {
  const repo = uniqueRepo('ops');
  const store = new RegistryStore(client, repo);
  await pushPlatformImage(store, { architecture: 'amd64', tag: 'amd64' });
  await pushPlatformImage(store, { architecture: 'arm64', variant: 'v8', tag: 'arm64' });
  const index = await createIndex(store, { tag: 'multi', manifests: ['amd64', 'arm64'] });

  const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${target.host}/${repo}:multi`]);
  assert.ok(Buffer.from(raw).equals((await store.resolve('multi')).bytes), 'skopeo sees the exact index bytes');
  const arm = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${target.host}/${repo}:multi`]));
  assert.equal(arm.Architecture, 'arm64');

  const layoutDir = join(dir, 'index-layout');
  // skopeo would gzip the uncompressed test layers for an oci: destination; --preserve-digests keeps them as they are.
  await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${target.host}/${repo}:multi`, `oci:${layoutDir}:multi`]);
  const layout = await openLayout(layoutDir);
  const r = await inspect(layout, 'multi');
  assert.equal(r.digest, index.digest);
  assert.deepEqual(r.platforms.map((p) => `${p.platform?.os}/${p.platform?.architecture}`), ['linux/amd64', 'linux/arm64']);
});

test('skopeo copies an artifact made by pushArtifact; pullArtifact reads it from the layout byte-identical', async () => {
  const repo = uniqueRepo('ops');
  const store = new RegistryStore(client, repo);
  const src = join(dir, 'artifact-src');
  mkdirSync(src);
  const big = randomData(3 * 1024 * 1024);
  writeFileSync(join(src, 'big.bin'), big);
  writeFileSync(join(src, 'notes.txt'), 'notes\n');
  const pushed = await pushArtifact(store, { files: [{ path: join(src, 'big.bin') }, { path: join(src, 'notes.txt'), mediaType: 'text/plain' }], artifactType: 'application/vnd.example.interop', tag: 'art' });

  const layoutDir = join(dir, 'artifact-layout');
  await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', `docker://${target.host}/${repo}:art`, `oci:${layoutDir}:art`]);
  const layout = await openLayout(layoutDir);
  assert.equal((await layout.resolve('art')).digest, pushed.digest, 'skopeo kept the manifest bytes');
  const out = join(dir, 'artifact-out');
  const pulled = await pullArtifact(layout, 'art', out);
  assert.deepEqual(pulled.files, [join(out, 'big.bin'), join(out, 'notes.txt')]);
  assert.ok(readFileSync(join(out, 'big.bin')).equals(big), 'big.bin is identical');
  assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'notes\n');
});
