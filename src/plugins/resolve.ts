// Where a plugin entry of the configuration lives: a path (a module file, or a package directory), or a
// package name looked up in node_modules from the working directory upwards, then next to Wharf itself.
// A package's entry module is its package.json "exports" ("." with the import, node, default or require
// condition), else its "main", else index.js — what `import('name')` would load.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPluginPath } from './config.js';

export class PluginNotFoundError extends Error {
  override name = 'PluginNotFoundError';
}

/** The module file to import for a plugin entry; PluginNotFoundError says why there is none. */
export function resolvePlugin(entry: string, cwd: string): string {
  if (isPluginPath(entry)) {
    const target = resolve(cwd, entry); // absolute already when it came from a config file
    if (!existsSync(target)) throw new PluginNotFoundError(`no file or directory ${target}`);
    return statSync(target).isDirectory() ? packageEntry(target) : target;
  }
  const dir = findPackage(entry, cwd);
  if (dir) return packageEntry(dir);
  try {
    // Subpaths (name/sub) and CommonJS resolution rules.
    return createRequire(join(cwd, 'package.json')).resolve(entry);
  } catch {
    // not under the working directory
  }
  try {
    const url = import.meta.resolve(entry);
    if (url.startsWith('file:')) return fileURLToPath(url);
  } catch {
    // not next to Wharf either
  }
  throw new PluginNotFoundError(`no package of that name in node_modules from ${cwd} or next to Wharf (npm install it, or give a path starting with ./)`);
}

/** node_modules/NAME with a package.json, from `from` upwards. */
function findPackage(name: string, from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The entry module of a package directory. */
function packageEntry(dir: string): string {
  let pkg: { exports?: unknown; main?: unknown } = {};
  const manifest = join(dir, 'package.json');
  if (existsSync(manifest)) {
    try {
      pkg = JSON.parse(readFileSync(manifest, 'utf8')) as typeof pkg;
    } catch (e) {
      throw new PluginNotFoundError(`${manifest} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const exported = exportTarget(pkg.exports);
  const target = exported ?? (typeof pkg.main === 'string' ? pkg.main : 'index.js');
  const file = resolve(dir, target);
  if (existsSync(file) && statSync(file).isFile()) return file;
  try {
    // "main": "lib" or "lib/index" (CommonJS-style extension and directory lookup).
    return createRequire(join(dir, 'package.json')).resolve(file);
  } catch {
    throw new PluginNotFoundError(`${dir}: its entry module ${target} (package.json ${exported ? '"exports"' : pkg.main ? '"main"' : 'default index.js'}) does not exist`);
  }
}

/** The "." target of a package.json "exports" value, for import() (conditions import, node, default, require). */
function exportTarget(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (Array.isArray(exports)) {
    for (const e of exports) {
      const t = exportTarget(e);
      if (t) return t;
    }
    return undefined;
  }
  if (typeof exports !== 'object' || exports === null) return undefined;
  const map = exports as Record<string, unknown>;
  if ('.' in map) return exportTarget(map['.']);
  for (const condition of ['import', 'node', 'default', 'require']) {
    if (condition in map) {
      const t = exportTarget(map[condition]);
      if (t) return t;
    }
  }
  return undefined;
}
