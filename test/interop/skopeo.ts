// skopeo wrappers: a private policy/registries config, plain-http loopback registries, raw manifest fetches.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runExpectingFailure, type CommandError, type RunResult } from './run.js';
import { writeContainersConfig } from './containers-config.js';

/** `docker://host/repo:tag` or `docker://host/repo@sha256:…`. */
export function dockerRef(host: string, repo: string, tagOrDigest: string): string {
  const sep = tagOrDigest.includes(':') ? '@' : ':';
  return `docker://${host}/${repo}${sep}${tagOrDigest}`;
}

export function ociRef(layout: string, ref: string): string {
  return `oci:${layout}:${ref}`;
}

export function dirRef(dir: string): string {
  return `dir:${dir}`;
}

/** Runs skopeo with its own config files, so the host's /etc/containers does not matter. */
export class Skopeo {
  private readonly flags: string[];
  private readonly env: Record<string, string>;

  constructor(private readonly configDir: string) {
    const config = writeContainersConfig(configDir);
    this.flags = ['--policy', config.policy, '--registries.d', config.registriesD, '--tmpdir', config.tmp];
    this.env = config.env;
  }

  private async skopeo(args: string[]): Promise<RunResult> {
    return run('skopeo', [...this.flags, ...args], { timeoutMs: 60_000, env: this.env });
  }

  /** `skopeo copy`; returns the digest of the manifest written to `dest` (from --digestfile). */
  async copy(src: string, dest: string, flags: string[] = []): Promise<string> {
    const digestFile = join(this.configDir, `digest-${process.hrtime.bigint()}`);
    const tls = [
      ...(src.startsWith('docker://') ? ['--src-tls-verify=false'] : []),
      ...(dest.startsWith('docker://') ? ['--dest-tls-verify=false'] : []),
    ];
    await this.skopeo(['copy', '--retry-times', '0', ...tls, '--digestfile', digestFile, ...flags, src, dest]);
    return readFileSync(digestFile, 'utf8').trim();
  }

  /** The manifest bytes exactly as the registry serves them. */
  async inspectRaw(ref: string): Promise<Buffer> {
    return (await this.skopeo(['inspect', '--raw', '--tls-verify=false', ref])).stdoutBytes;
  }

  /** The image config blob bytes. */
  async inspectConfig(ref: string): Promise<Buffer> {
    return (await this.skopeo(['inspect', '--config', '--raw', '--tls-verify=false', ref])).stdoutBytes;
  }

  private async skopeoFails(args: string[]): Promise<CommandError> {
    return runExpectingFailure('skopeo', [...this.flags, ...args], { env: this.env });
  }

  /** Expects `skopeo inspect --raw` to fail and returns the error (to check the message). */
  async inspectRawFails(ref: string): Promise<CommandError> {
    return this.skopeoFails(['inspect', '--raw', '--tls-verify=false', '--retry-times', '0', ref]);
  }

  /** Expects `skopeo list-tags` to fail and returns the error. */
  async listTagsFails(host: string, repo: string): Promise<CommandError> {
    return this.skopeoFails(['list-tags', '--tls-verify=false', `docker://${host}/${repo}`]);
  }

  /** `skopeo list-tags docker://host/repo`, sorted. */
  async listTags(host: string, repo: string): Promise<string[]> {
    const { stdout } = await this.skopeo(['list-tags', '--tls-verify=false', `docker://${host}/${repo}`]);
    const parsed = JSON.parse(stdout) as { Repository: string; Tags: string[] | null };
    return [...(parsed.Tags ?? [])].sort();
  }

  async delete(ref: string): Promise<void> {
    await this.skopeo(['delete', '--tls-verify=false', ref]);
  }
}
