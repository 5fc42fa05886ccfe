// The example admission hook (examples/admission-hook/server.js) as a real process in front of `wharf serve`
// configured from a file: image pushes without the source label or over the size limit are refused with the
// hook's reason — seen by RegistryClient and by skopeo — and a labelled image passes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient, DeniedError } from '../../src/client/index.js';
import { MediaType } from '../../src/oci/index.js';
import { freePort, projectRoot, removeDir, spawnWharf, tempDir, type SpawnedRegistry } from '../helpers/processes.js';
import { pushImage, randomData, sha256, uniqueRepo, type Image } from '../client/helpers.js';

const run = promisify(execFile);
const label = 'org.opencontainers.image.source';

function image(labels: Record<string, string>, layerBytes = 1024): Image {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: labels }, rootfs: { type: 'layers', diff_ids: [] } }));
  const layers = [randomData(layerBytes)];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
    }),
  );
  return { config, layers, manifest, digest: sha256(manifest) };
}

/** An OCI image layout holding one image, tagged `latest`, for skopeo to copy from. */
function writeLayout(dir: string, img: Image): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  for (const b of [img.config, ...img.layers, img.manifest]) writeFileSync(join(blobs, sha256(b).slice(7)), b);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: MediaType.ociManifest, digest: img.digest, size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
    }),
  );
}

async function waitForLine(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} from the hook within ${timeoutMs} ms: ${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the hook exited with ${code}: ${out}`));
    });
  });
}

describe('examples/admission-hook in front of wharf serve', () => {
  let dir: string;
  let hook: ChildProcess;
  let wharf: SpawnedRegistry;
  let client: RegistryClient;

  before(async () => {
    dir = tempDir('wharf-admission-example-');
    const port = await freePort();
    hook = spawn(process.execPath, [join(projectRoot, 'examples', 'admission-hook', 'server.js')], {
      env: { ...process.env, PORT: String(port), ADMISSION_TOKEN: 's3cret', MAX_IMAGE_BYTES: '100000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForLine(hook, /listening on/, 10000);
    const config = join(dir, 'wharf.yaml');
    writeFileSync(config, `admission:\n  url: http://127.0.0.1:${port}/admit\n  timeoutSeconds: 5\n  headers:\n    Authorization: Bearer s3cret\n`);
    wharf = await spawnWharf({ data: join(dir, 'data'), args: ['--config', config] });
    client = new RegistryClient(wharf.host);
  });
  after(async () => {
    await client?.close();
    await wharf?.kill();
    hook?.kill('SIGKILL');
    removeDir(dir);
  });

  test('an image without the source label is refused with the hook\'s reason', async () => {
    const repo = uniqueRepo('hook');
    const e = await pushImage(client, repo, image({}), 'v1').then(
      () => assert.fail('the push should be refused'),
      (err: Error) => err,
    );
    assert.ok(e instanceof DeniedError, `DeniedError, got ${e.message}`);
    assert.match(e.message, new RegExp(`denied by the admission hook: ${repo}: images must carry the label ${label.replace(/\./g, '\\.')}`));
  });

  test('an image over MAX_IMAGE_BYTES is refused; a labelled small one is stored', async () => {
    const repo = uniqueRepo('hook');
    const big = await pushImage(client, repo, image({ [label]: 'https://example.com/src' }, 200_000), 'big').then(
      () => assert.fail('the push should be refused'),
      (err: Error) => err,
    );
    assert.match(big.message, /more than the 0\.1 MiB allowed/);
    const ok = image({ [label]: 'https://example.com/src' });
    assert.equal(await pushImage(client, repo, ok, 'v1'), ok.digest);
    assert.equal((await client.getManifest(repo, 'v1')).digest, ok.digest);
  });

  test('skopeo copy of an unlabelled image fails and prints the hook\'s reason', async () => {
    const layout = join(dir, 'layout');
    writeLayout(layout, image({}));
    const repo = uniqueRepo('hook');
    const result = await run('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${wharf.host}/${repo}:v1`], { timeout: 60000 }).then(
      () => assert.fail('skopeo should fail'),
      (e: { code?: number; stderr?: string }) => e,
    );
    assert.notEqual(result.code, 0);
    assert.match(result.stderr ?? '', /denied by the admission hook: .*images must carry the label org\.opencontainers\.image\.source/);
  });
});
