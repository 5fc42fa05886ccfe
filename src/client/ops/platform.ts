// Platforms (`linux/arm64/v8`): parsing what a user typed, normalising the names the way containerd does
// (aarch64 → arm64, x86_64 → amd64, arm64 without a variant is v8, arm without one is v7), and picking the
// child of an index that matches. Pure: no I/O.
import type { Descriptor, Platform } from '../../oci/index.js';
import { ClientError } from '../errors.js';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** No child of an index matches the platform asked for; `available` lists what the index has. */
export class PlatformNotFoundError extends ClientError {
  readonly wanted: string;
  readonly available: string[];
  constructor(wanted: PlatformSpec, available: string[], where: string) {
    const list = available.length ? available.join(', ') : 'none';
    super(`${where}: no manifest for platform ${formatPlatform(wanted)} (available: ${list})`);
    this.wanted = formatPlatform(wanted);
    this.available = available;
  }
}

const component = /^[a-z0-9][a-z0-9._-]*$/;

/** `os/architecture[/variant]`, e.g. `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`. Names are lower-cased. */
export function parsePlatform(input: string): PlatformSpec {
  const parts = input.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !component.test(p))) {
    throw new ClientError(`invalid platform ${JSON.stringify(input)}: expected os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const spec: PlatformSpec = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2] !== undefined) spec.variant = parts[2];
  return spec;
}

/** `os/architecture[/variant]` as written (not normalised). */
export function formatPlatform(p: PlatformSpec | Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** containerd's normalisation: canonical architecture names and the default variant of each architecture. */
export function normalizePlatform(p: PlatformSpec | Platform): { os: string; architecture: string; variant: string } {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (architecture) {
    case 'i386':
      architecture = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '' || variant === '8' || variant === 'v8.0') variant = 'v8';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  return { os, architecture, variant };
}

/**
 * Whether `candidate` (a descriptor's or a config's platform) is what `spec` asks for. OS and architecture
 * must be equal after normalising; variants must be equal when the spec's architecture has one (amd64 and
 * others without a variant match any variant).
 */
export function matchesPlatform(candidate: PlatformSpec | Platform, spec: PlatformSpec): boolean {
  const c = normalizePlatform(candidate);
  const s = normalizePlatform(spec);
  if (c.os !== s.os || c.architecture !== s.architecture) return false;
  return s.variant === '' || c.variant === s.variant;
}

/**
 * The child of an index for `spec`: an exact variant match first, else the first match in index order.
 * PlatformNotFoundError (listing the index's platforms) when none matches.
 */
export function selectPlatform(index: readonly Descriptor[] | { manifests: readonly Descriptor[] }, spec: PlatformSpec, where = 'index'): Descriptor {
  const children = Array.isArray(index) ? (index as readonly Descriptor[]) : (index as { manifests: readonly Descriptor[] }).manifests;
  const candidates = children.filter((d) => d.platform !== undefined && matchesPlatform(d.platform, spec));
  const wanted = normalizePlatform(spec);
  const exact = candidates.find((d) => normalizePlatform(d.platform!).variant === wanted.variant);
  const chosen = exact ?? candidates[0];
  if (!chosen) {
    const available = [...new Set(children.filter((d) => d.platform !== undefined).map((d) => formatPlatform(d.platform!)))];
    throw new PlatformNotFoundError(spec, available, where);
  }
  return chosen;
}

/**
 * The children of an index that match any of `specs`, in index order. Throws PlatformNotFoundError for a
 * spec that matches nothing, so a typo does not silently mirror less.
 */
export function filterPlatforms(children: readonly Descriptor[], specs: readonly PlatformSpec[], where = 'index'): Descriptor[] {
  for (const spec of specs) selectPlatform(children, spec, where);
  return children.filter((d) => d.platform !== undefined && specs.some((s) => matchesPlatform(d.platform!, s)));
}
