// The GC race on the embedded default (SQLite + filesystem): see race-workload.ts. WHARF_GC_RACE_SECONDS sets
// how long the clients run (default 60).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runGcRace } from './race-workload.js';
import { tempDir, removeDir } from '../helpers/processes.js';

test('GC race on SQLite: 8 clients push, re-tag and delete while two wharf gc processes (and the server) collect with grace 0', async () => {
  const data = tempDir('wharf-gc-race-');
  try {
    const r = await runGcRace({ data, storeArgs: [], durationMs: Number(process.env.WHARF_GC_RACE_SECONDS ?? 60) * 1000 });
    console.log(`gc race (sqlite): ${JSON.stringify(r)}`);
    assert.ok(r.pushes > 0 && r.deletes > 0 && r.retags > 0, 'the clients did push, re-tag and delete');
    assert.ok(r.gcRuns >= 2, 'the collectors ran');
  } finally {
    removeDir(data);
  }
});
