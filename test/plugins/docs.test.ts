// docs/extending.md shows the extension interfaces exactly as the sources declare them: each block below is
// cut from its source file and must appear verbatim in the document (regenerate the block when it fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../helpers/processes.js';

/** The declaration `export (interface|type|class) NAME` with the doc comment above it, as in the file. */
function declaration(file: string, name: string): string {
  const lines = readFileSync(join(projectRoot, file), 'utf8').split('\n');
  const at = lines.findIndex((l) => new RegExp(`^export (interface|type|class) ${name}\\b`).test(l));
  assert.ok(at >= 0, `${file} declares ${name}`);
  let start = at;
  while (start > 0 && /^(\/\*\*| \*|\/\/)/.test(lines[start - 1]!)) start--;
  if (lines[at]!.startsWith('export type') && lines[at]!.trimEnd().endsWith(';')) return lines.slice(start, at + 1).join('\n');
  let end = at;
  while (end < lines.length && lines[end] !== '}' && lines[end] !== '};') end++;
  return lines.slice(start, end + 1).join('\n');
}

const shown: [string, string[]][] = [
  ['src/plugins/api.ts', ['StorageDriverFactory', 'MetadataStoreFactory', 'PluginAPI', 'PluginObject', 'AuthProvider', 'EventSink', 'PluginEvent']],
  ['src/storage/driver.ts', ['Opts', 'FileInfo', 'ByteRange', 'FileWriter', 'DriverCapabilities', 'StorageDriver', 'StorageErrorKind', 'StorageError']],
  ['src/events/model.ts', ['CloudEvent', 'CloudEventData']],
];

const doc = readFileSync(join(projectRoot, 'docs', 'extending.md'), 'utf8');

for (const [file, names] of shown) {
  for (const name of names) {
    test(`docs/extending.md shows ${name} as ${file} declares it`, () => {
      const text = declaration(file, name);
      assert.ok(doc.includes(text), `docs/extending.md lacks the current declaration of ${name}:\n${text}`);
    });
  }
}

test('docs/extending.md names the admission config keys the schema has', async () => {
  const { admissionSchema } = await import('../../src/admission/config.js');
  for (const key of Object.keys(admissionSchema.shape)) assert.ok(doc.includes(`  ${key}:`), `admission.${key} appears in the example configuration`);
});
