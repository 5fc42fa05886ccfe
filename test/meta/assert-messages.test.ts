// Every assert.ok in the tests carries a message. Without one, a failing assert.ok makes node 20 rebuild the
// message from the source file; under tsx's source maps that can spin forever (seen here in the driver suite),
// and a synchronous spin cannot be stopped by a test timeout: CI would hang instead of failing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../helpers/processes.js';

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** True when the argument list has a comma outside brackets and strings. */
function hasTopLevelComma(args: string): boolean {
  let depth = 0;
  let quote: string | undefined;
  for (const ch of args) {
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) return true;
  }
  return false;
}

test('every assert.ok in the tests has a message', () => {
  const offenders: string[] = [];
  for (const file of files(join(projectRoot, 'test'))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const m = /^\s*assert(?:\.ok)?\((.*)\);\s*$/.exec(line);
        if (m && !hasTopLevelComma(m[1]!)) offenders.push(`${file.slice(projectRoot.length + 1)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, [], 'add a message to these assertions');
});
