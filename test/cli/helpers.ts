// Runs the `wharf` CLI as a child process (from the sources, through tsx) and seeds registries with the
// client library. Used by the test/cli suites against Wharf and the reference registry.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, tempDir, removeDir, wharfCommand } from '../helpers/processes.js';
import { MediaType } from '../../src/oci/index.js';
import type { RegistryClient } from '../../src/client/index.js';
import { buildImage, pushImage, sha256, type Image } from '../client/helpers.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes (for `manifest get` and `blob get`). */
  raw: Buffer;
}

/**
 * An isolated environment for the CLI: docker/podman auth files come only from `authDir` (empty unless a
 * test writes a config.json there), never from the user's home.
 */
export function cliEnv(authDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DOCKER_CONFIG: authDir,
    REGISTRY_AUTH_FILE: join(authDir, 'auth.json'),
    XDG_RUNTIME_DIR: authDir,
    XDG_CONFIG_HOME: authDir,
  };
}

/** Runs `wharf <args>` and collects its exit code and output (killed after 60 s: a loaded machine is slow to start tsx). `input` is piped to stdin. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: { input?: string | Buffer } = {}): Promise<CliResult> {
  const { cmd, argv } = wharfCommand(args);
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, argv, { cwd: projectRoot, env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (opts.input !== undefined) proc.stdin!.end(opts.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    proc.stdout!.on('data', (d: Buffer) => out.push(d));
    proc.stderr!.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.once('close', (code) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out);
      resolve({ code, stdout: raw.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), raw });
    });
  });
}

/** A docker config.json with `auths` for one host. */
export function writeDockerConfig(dir: string, host: string, username: string, password: string): void {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth } } }));
}

export interface Seeded {
  repo: string;
  other: string;
  image: Image;
  /** The digest of the image tagged v1 and v2. */
  digest: string;
  /** The index tagged `multi`, over two platform images. */
  indexDigest: string;
  index: Buffer;
  /** Image `gone`, for the delete tests. */
  doomed: Image;
}

/** Pushes, with the library: `repo` with tags v1, v2 (one image), multi (an index), doomed; and `other`. */
export async function seed(client: RegistryClient, prefix: string): Promise<Seeded> {
  const repo = `${prefix}/app`;
  const other = `${prefix}/tools`;
  const image = buildImage();
  const digest = await pushImage(client, repo, image, 'v1');
  await client.putManifest(repo, 'v2', image.manifest);
  const amd = buildImage();
  const arm = buildImage();
  await pushImage(client, repo, amd);
  await pushImage(client, repo, arm);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaType.ociManifest, digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    }),
  );
  const indexDigest = (await client.putManifest(repo, 'multi', index)).digest;
  const doomed = buildImage();
  await pushImage(client, repo, doomed, 'doomed');
  await pushImage(client, other, buildImage(), 'latest');
  return { repo, other, image, digest, indexDigest, index, doomed };
}

/** An image whose config names a platform (for index and --platform tests). */
export function buildPlatformImage(os: string, architecture: string, variant?: string): Image {
  const config = Buffer.from(JSON.stringify({ architecture, os, ...(variant ? { variant } : {}), rootfs: { type: 'layers', diff_ids: [] }, n: Math.random().toString(36).slice(2) }));
  const layer = Buffer.from(`layer of ${os}/${architecture} ${Math.random()}`);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { config, layers: [layer], manifest, digest: sha256(manifest) };
}

export { tempDir, removeDir, sha256, buildImage, pushImage };
