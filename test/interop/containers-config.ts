// Private config files for the containers/image tools (skopeo, podman, buildah), so the host's
// /etc/containers, ~/.config/containers and auth files never change what the tests do.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContainersConfig {
  /** Signature policy that accepts anything (nothing is signed in these tests). */
  policy: string;
  /** Directory for registries.d (signature lookaside config): empty. */
  registriesD: string;
  /** Scratch directory for big temporary files. */
  tmp: string;
  /** Environment that points the tools at the files above. */
  env: Record<string, string>;
}

/** Creates `dir` with the config files; `storage` (graph root and run root) is only needed by podman and buildah. */
export function writeContainersConfig(dir: string, storage?: { root: string; runroot: string }): ContainersConfig {
  const registriesD = join(dir, 'registries.d');
  const tmp = join(dir, 'tmp');
  mkdirSync(registriesD, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  writeFileSync(join(dir, 'registries.conf'), '');
  writeFileSync(join(dir, 'containers.conf'), '');
  writeFileSync(join(dir, 'auth.json'), JSON.stringify({ auths: {} }));
  const env: Record<string, string> = {
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    TMPDIR: tmp,
  };
  if (storage) {
    const conf = `[storage]\ndriver = "vfs"\ngraphroot = "${storage.root}"\nrunroot = "${storage.runroot}"\n`;
    writeFileSync(join(dir, 'storage.conf'), conf);
    env.CONTAINERS_STORAGE_CONF = join(dir, 'storage.conf');
  }
  return { policy, registriesD, tmp, env };
}
