// The `plugins` key of the configuration: npm package names or paths of plugin modules, loaded at start.
// Paths (./x, ../x, /x) in the file are relative to the file, like every other path there.
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

export const pluginsSchema = z
  .array(z.string().min(1))
  .default([])
  .describe('Plugins loaded at start (docs/extending.md): npm package names, or paths (./dir, ../file.js, /abs) relative to the config file. Each provides storage drivers, metadata stores, auth providers or event sinks; an invalid one stops the start.');

/** Whether a plugin entry is a path (resolved against the config file) rather than a package name. */
export function isPluginPath(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || isAbsolute(spec);
}

/** Resolves the path entries of a raw (unvalidated) `plugins` list against the directory of the config file. */
export function resolvePluginPaths(plugins: unknown, base: string): unknown {
  if (!Array.isArray(plugins)) return plugins;
  return plugins.map((p: unknown) => (typeof p === 'string' && isPluginPath(p) && !isAbsolute(p) ? resolve(base, p) : p));
}
