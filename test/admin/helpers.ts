// Shared pieces of the admin command tests (import, fsck, backup): running `wharf` with a clean environment,
// a fixture of images pushed with the client library (OCI, Docker schema2, indexes, a referrer, shared and
// nested repositories) and a check that a registry serves exactly that fixture, byte for byte.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { runCli, type CliResult } from '../cli/helpers.js';
import { buildImage, pushImage, readAll, sha256, type Image } from '../client/helpers.js';
import { MediaType } from '../../src/oci/index.js';
import type { RegistryClient } from '../../src/client/index.js';

/** `wharf ARGS` with no WHARF_* variables from the environment the tests run in. */
export function runWharf(args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, WHARF_LOG_LEVEL: 'warn' };
  for (const k of ['WHARF_CONFIG', 'WHARF_DATA', 'WHARF_STORAGE', 'WHARF_METADATA', 'WHARF_LISTEN', 'WHARF_READ_ONLY']) delete env[k];
  return runCli(args, env);
}

/** What one repository of the fixture holds. */
export interface RepoContent {
  tags: Map<string, string>;
  manifests: Map<string, Buffer>;
  blobs: Map<string, Buffer>;
}

export type Fixture = Map<string, RepoContent>;

function repoOf(f: Fixture, name: string): RepoContent {
  let r = f.get(name);
  if (!r) {
    r = { tags: new Map(), manifests: new Map(), blobs: new Map() };
    f.set(name, r);
  }
  return r;
}

/** A Docker schema2 image (Docker media types throughout), as `docker push` writes it. */
export function buildDockerImage(layers: Buffer[] = [randomBytes(3000)]): Image {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(4).toString('hex') }));
  const manifest = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: MediaType.dockerConfig, size: config.length, digest: sha256(config) },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.length, digest: sha256(l) })),
      },
      null,
      3,
    ),
  );
  return { config, layers, manifest, digest: sha256(manifest) };
}

function indexOf(mediaType: string, childType: string, children: { image: Image; architecture: string }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c) => ({ mediaType: childType, digest: c.image.digest, size: c.image.manifest.length, platform: { os: 'linux', architecture: c.architecture } })),
    }),
  );
}

/** Pushes an image and records it (and its tag) in the fixture. */
export async function pushRecorded(client: RegistryClient, f: Fixture, repo: string, image: Image, tags: string[] = []): Promise<void> {
  await pushImage(client, repo, image, tags[0]);
  for (const t of tags.slice(1)) await client.putManifest(repo, t, image.manifest);
  const r = repoOf(f, repo);
  r.manifests.set(image.digest, image.manifest);
  r.blobs.set(sha256(image.config), image.config);
  for (const l of image.layers) r.blobs.set(sha256(l), l);
  for (const t of tags) r.tags.set(t, image.digest);
}

async function pushIndexRecorded(client: RegistryClient, f: Fixture, repo: string, body: Buffer, tag: string): Promise<string> {
  const { digest } = await client.putManifest(repo, tag, body);
  const r = repoOf(f, repo);
  r.manifests.set(digest, body);
  r.tags.set(tag, digest);
  return digest;
}

/**
 * The images the import tests push to Distribution: an OCI image with two tags and a large layer, an untagged
 * image, a multi-arch OCI index, a Docker schema2 image and a Docker manifest list, a referrer (subject) of the
 * first image, a layer shared between repositories, a nested repository name.
 */
export async function pushFixture(client: RegistryClient): Promise<{ fixture: Fixture; subject: string; referrer: string }> {
  const f: Fixture = new Map();
  const shared = randomBytes(50_000);
  const web = buildImage({ layers: [shared, randomBytes(2 * 1024 * 1024)] });
  await pushRecorded(client, f, 'app/web', web, ['v1', 'latest']);
  await pushRecorded(client, f, 'app/web', buildImage(), []);
  const referrer = buildImage({ subject: { digest: web.digest, size: web.manifest.length, mediaType: MediaType.ociManifest }, artifactType: 'application/vnd.example.sbom' });
  await pushRecorded(client, f, 'app/web', referrer, []);

  const amd = buildImage();
  const arm = buildImage();
  await pushRecorded(client, f, 'app/multi', amd);
  await pushRecorded(client, f, 'app/multi', arm);
  await pushIndexRecorded(client, f, 'app/multi', indexOf(MediaType.ociIndex, MediaType.ociManifest, [{ image: amd, architecture: 'amd64' }, { image: arm, architecture: 'arm64' }]), 'latest');

  const tool = buildDockerImage([shared, randomBytes(10_000)]);
  const toolArm = buildDockerImage();
  await pushRecorded(client, f, 'legacy/tool', tool, ['1.0']);
  await pushRecorded(client, f, 'legacy/tool', toolArm, []);
  await pushIndexRecorded(client, f, 'legacy/tool', indexOf(MediaType.dockerManifestList, MediaType.dockerManifest, [{ image: tool, architecture: 'amd64' }, { image: toolArm, architecture: 'arm64' }]), 'multi');

  await pushRecorded(client, f, 'team/a/b/deep', buildImage(), ['stable']);
  return { fixture: f, subject: web.digest, referrer: referrer.digest };
}

/** Asserts that `client` serves exactly the fixture: tags, manifests and blobs, byte for byte. */
export async function assertServes(client: RegistryClient, fixture: Fixture): Promise<void> {
  for (const [repo, content] of fixture) {
    const tags = await client.listTags(repo).collect();
    assert.deepEqual([...tags].sort(), [...content.tags.keys()].sort(), `tags of ${repo}`);
    for (const [tag, digest] of content.tags) {
      const m = await client.getManifest(repo, tag);
      assert.equal(m.digest, digest, `${repo}:${tag} resolves to the pushed digest`);
    }
    for (const [digest, body] of content.manifests) {
      const m = await client.getManifest(repo, digest);
      assert.ok(m.bytes.equals(body), `manifest ${repo}@${digest} is byte-identical`);
    }
    for (const [digest, bytes] of content.blobs) {
      const got = await readAll(await client.getBlob(repo, digest));
      assert.ok(got.equals(bytes), `blob ${repo}@${digest} is byte-identical (${got.length} of ${bytes.length} bytes)`);
    }
  }
}
