// The status line of the admin commands (src/cli/status-line.ts): rewritten in place, throttled, cut to the
// terminal's width (80 when unknown), cleared at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusLine } from '../../src/cli/status-line.js';

function fakeTerminal(columns: number): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { columns, isTTY: true, write: (s: string) => written.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

test('status line: throttled to ten updates a second, cut to the width, cleared', () => {
  let now = 1000;
  const { stream, written } = fakeTerminal(30);
  const line = statusLine(stream, () => now);
  line.update('first update that is longer than the terminal');
  line.update('dropped: within 100 ms');
  now += 100;
  line.update('second');
  line.done();
  assert.deepEqual(written, [`\r${'first update that is longer th'.slice(0, 29)}`, `\r${'second'.padEnd(29)}`, `\r${' '.repeat(29)}\r`]);
  line.done();
  assert.equal(written.length, 3, 'nothing more to clear');
});

test('status line: a terminal of unknown width counts as 80 columns; nothing shown, nothing cleared', () => {
  const { stream, written } = fakeTerminal(0);
  const line = statusLine(stream, () => 5000);
  line.done();
  assert.equal(written.length, 0, 'nothing cleared before anything was shown');
  line.update('x');
  assert.equal(written[0]!.length, 80, 'carriage return and 79 columns');
});
