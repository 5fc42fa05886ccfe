// The client library must not depend on the server: src/client/**/*.ts may import only src/client, src/oci,
// node built-ins and its own npm dependencies, and what it reaches in src/oci must stay inside src/oci.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { projectRoot } from '../helpers/processes.js';

const clientDir = join(projectRoot, 'src', 'client');
const ociDir = join(projectRoot, 'src', 'oci');
/** npm packages the client may use. */
// undici (HTTP), tar-stream (OCI archives), yaml (mirror lists): the client's only packages; none of them is server code.
const allowedPackages = new Set(['undici', 'tar-stream', 'yaml']);

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier in a source: static imports and re-exports (also `import type`), side-effect imports, import(). */
export function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (let m = re.exec(code); m; m = re.exec(code)) found.push(m[1]!);
  return found;
}

function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir + sep);
}

/** Problems with the imports of `file`, allowed to reach `allowedDirs`; follows relative imports transitively. */
function check(file: string, allowedDirs: string[], seen: Set<string>, problems: string[]): void {
  if (seen.has(file)) return;
  seen.add(file);
  for (const spec of specifiers(readFileSync(file, 'utf8'))) {
    const where = relative(projectRoot, file);
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      if (!allowedDirs.some((d) => inside(d, target))) {
        problems.push(`${where} imports ${spec} (${relative(projectRoot, target)})`);
        continue;
      }
      // What src/oci pulls in must stay in src/oci.
      check(target, inside(ociDir, target) ? [ociDir] : allowedDirs, seen, problems);
    } else if (spec.startsWith('node:')) {
      continue;
    } else {
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (!allowedPackages.has(pkg) || inside(ociDir, file)) problems.push(`${where} imports package ${spec}`);
    }
  }
}

test('src/client imports nothing outside src/client and src/oci', () => {
  const files = walk(clientDir);
  assert.ok(files.length >= 5, `found ${files.length} client files`);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of files) check(f, [clientDir, ociDir], seen, problems);
  assert.ok([...seen].some((f) => inside(ociDir, f)), 'the scan reached src/oci');
  assert.deepEqual(problems, []);
});

test('the scanner sees every kind of import', () => {
  const src = `import a from '../http/app.js';
import type { B } from "../registry/index.js";
export { c } from '../storage/index.js';
export * from '../metadata/index.js';
import '../config/load.js';
const d = await import('../server.js');
// import commented from '../cli/main.js';
/* import blocked from '../cli/run.js'; */`;
  assert.deepEqual(specifiers(src).sort(), ['../config/load.js', '../http/app.js', '../metadata/index.js', '../registry/index.js', '../server.js', '../storage/index.js']);
});
