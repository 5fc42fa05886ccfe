// podman and buildah on a private, daemonless vfs storage under a temp dir (never the system's /var/lib/containers).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './run.js';
import { writeContainersConfig, type ContainersConfig } from './containers-config.js';

/** What podman knows about a local image. */
export interface LocalImage {
  /** Image ID = config digest (sha256:…). */
  id: string;
  /** Digest of the manifest it was pulled or pushed with, if any. */
  digest: string;
  /** Uncompressed layer digests (rootfs diff_ids). */
  diffIds: string[];
}

/** The fields of `podman image inspect` output that the tests use. */
interface PodmanImageInspect {
  Id: string;
  Digest: string;
  RootFS: { Layers: string[] };
}

/** A containers-storage root used by both podman and buildah. */
export class ContainerStorage {
  private readonly config: ContainersConfig;
  private readonly storageFlags: string[];

  /** Short-lived state (locks, sockets): podman refuses a runroot longer than 50 characters, so not under `dir`. */
  private readonly runroot: string;

  constructor(readonly dir: string) {
    const root = join(dir, 'root');
    const runroot = mkdtempSync('/tmp/wharf-run-');
    this.runroot = runroot;
    this.config = writeContainersConfig(join(dir, 'config'), { root, runroot });
    this.storageFlags = ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs'];
  }

  private async podman(args: string[]): Promise<string> {
    const flags = [...this.storageFlags, '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'];
    return (await run('podman', [...flags, ...args], { timeoutMs: 60_000, env: this.config.env })).stdout.trim();
  }

  private async buildah(args: string[]): Promise<string> {
    return (await run('buildah', [...this.storageFlags, ...args], { timeoutMs: 60_000, env: this.config.env })).stdout.trim();
  }

  /** Commits a new image `name` = `base` + one layer holding `files` (relative path → content). */
  async addLayer(base: string, name: string, files: Record<string, string>): Promise<void> {
    const src = join(this.dir, 'src', name.replace(/[^\w.-]/g, '_'));
    const container = await this.buildah(['from', '--signature-policy', this.config.policy, '--pull=never', base]);
    for (const [path, content] of Object.entries(files)) {
      const file = join(src, path);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, content);
      await this.buildah(['copy', container, file, '/' + path]);
    }
    await this.buildah(['config', '--cmd', '/' + Object.keys(files)[0], '--label', `wharf.test.image=${name}`, container]);
    await this.buildah(['commit', '--signature-policy', this.config.policy, '--format', 'oci', '--rm', container, name]);
  }

  /** `podman push`; returns the digest of the manifest it wrote (from --digestfile). */
  async push(image: string, dest: string): Promise<string> {
    const digestFile = join(this.dir, `digest-${process.hrtime.bigint()}`);
    await this.podman(['push', '--tls-verify=false', '--signature-policy', this.config.policy, '--digestfile', digestFile, image, dest]);
    return readFileSync(digestFile, 'utf8').trim();
  }

  /** `podman pull`; returns the image ID podman prints. */
  async pull(ref: string): Promise<string> {
    return this.podman(['pull', '--quiet', '--tls-verify=false', '--signature-policy', this.config.policy, ref]);
  }

  async inspect(image: string): Promise<LocalImage> {
    const [info] = JSON.parse(await this.podman(['image', 'inspect', image])) as PodmanImageInspect[];
    if (!info) throw new Error(`podman image inspect ${image} returned nothing`);
    return { id: 'sha256:' + info.Id, digest: info.Digest, diffIds: info.RootFS.Layers };
  }

  /** Removes the run root; the caller removes `dir`. */
  removeRunroot(): void {
    rmSync(this.runroot, { recursive: true, force: true });
  }
}
