// The registries every interop scenario runs against: Wharf and the reference (CNCF Distribution 2.8).
import { after, before } from 'node:test';
import { removeDir, spawnReference, spawnWharf, tempDir, type SpawnedRegistry } from '../helpers/processes.js';

export type RegistryName = 'wharf' | 'reference';

export interface RegistryKind {
  name: RegistryName;
  start(data: string): Promise<SpawnedRegistry>;
}

const ALL: RegistryKind[] = [
  { name: 'wharf', start: (data) => spawnWharf({ data }) },
  { name: 'reference', start: (data) => spawnReference({ data }) },
];

/**
 * Both registries by default. WHARF_INTEROP_REGISTRIES=reference (or =wharf) narrows the run while
 * developing; CI leaves it unset so every scenario runs against both.
 */
export function registries(): RegistryKind[] {
  const only = process.env.WHARF_INTEROP_REGISTRIES?.split(',').map((s) => s.trim());
  if (!only) return ALL;
  const picked = ALL.filter((r) => only.includes(r.name));
  if (picked.length === 0) throw new Error(`WHARF_INTEROP_REGISTRIES=${only.join(',')} names no registry (wharf, reference)`);
  return picked;
}

/** SIGTERM, and SIGKILL if the process is still there after `graceMs`. */
async function stopRegistry(registry: SpawnedRegistry, graceMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), graceMs)));
  const outcome = await Promise.race([registry.stop(), grace]);
  clearTimeout(timer);
  if (outcome === 'timeout') await registry.kill();
}

/**
 * Wharf logs only warnings and errors in tests; show them (the tail) so failures can be traced to requests.
 * The reference logs every expected 404 as an error, so its output is left out.
 */
function reportOutput(name: RegistryName, output: string): void {
  const text = output.trim();
  if (name === 'wharf' && text) process.stderr.write(`--- ${name} registry output (last 4000 chars) ---\n${text.slice(-4000)}\n`);
}

/** A registry started in before() and stopped (data removed) in after() of the enclosing describe. */
export interface RegistryHandle {
  readonly name: RegistryName;
  /** The running registry; throws if called before the before() hook ran. */
  get(): SpawnedRegistry;
}

export function useRegistry(kind: RegistryKind): RegistryHandle {
  let data: string | undefined;
  let registry: SpawnedRegistry | undefined;
  before(async () => {
    data = tempDir(`wharf-interop-${kind.name}-`);
    registry = await kind.start(data);
  }, { timeout: 30_000 });
  after(async () => {
    if (registry) {
      await stopRegistry(registry);
      reportOutput(kind.name, registry.output());
    }
    if (data) removeDir(data);
  }, { timeout: 30_000 });
  return {
    name: kind.name,
    get() {
      if (!registry) throw new Error(`${kind.name} registry is not running`);
      return registry;
    },
  };
}

/** A temp directory created in before() and removed in after() of the enclosing describe (or file). */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  before(() => {
    dir = tempDir(prefix);
  });
  after(() => {
    if (dir) removeDir(dir);
  });
  return () => {
    if (!dir) throw new Error('temp dir used before its before() hook ran');
    return dir;
  };
}
