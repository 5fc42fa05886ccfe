// The progress renderer of the transfer verbs, fed TransferEvents by hand: bars on a (fake) terminal,
// plain lines with --progress elsewhere, nothing on a non-terminal by default or with --quiet / --json.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { progressFor, formatBytes, shortDigest, BarProgress, LineProgress, type ProgressStream } from '../../src/cli/progress.js';
import type { TransferEvent } from '../../src/client/ops/events.js';

function fakeStream(isTTY: boolean): ProgressStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, columns: 120, write: (c: string) => (chunks.push(String(c)), true), text: () => chunks.join('') };
}

const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'ab'.repeat(32)}`, size: 3 * 1024 * 1024 };
const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'cd'.repeat(32)}`, size: 512 };
const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'ef'.repeat(32)}`, size: 400 };
const events: TransferEvent[] = [
  { type: 'image-start', source: 'oci:./dir', target: '127.0.0.1:5000/app', reference: 'v1' },
  { type: 'blob-start', descriptor: layer },
  { type: 'blob-progress', descriptor: layer, bytes: 1024 * 1024 },
  { type: 'blob-progress', descriptor: layer, bytes: 3 * 1024 * 1024 },
  { type: 'blob-done', descriptor: layer, existed: false, mounted: false },
  { type: 'blob-done', descriptor: config, existed: true, mounted: false },
  { type: 'manifest-done', descriptor: manifest, tag: 'v1' },
  { type: 'image-done', source: 'oci:./dir', target: '127.0.0.1:5000/app', reference: 'v1' },
];

describe('progress', () => {
  test('formatting helpers', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MiB');
    assert.equal(shortDigest(layer.digest), 'abababababab');
  });

  test('which renderer: bars on a terminal, lines with --progress, nothing otherwise', () => {
    const tty = fakeStream(true);
    const pipe = fakeStream(false);
    const bars = progressFor({}, tty);
    assert.ok(bars instanceof BarProgress, 'bars on a terminal');
    bars.stop();
    assert.ok(progressFor({ progress: true }, pipe) instanceof LineProgress, 'lines on a pipe with --progress');
    assert.equal(progressFor({}, pipe), undefined);
    assert.equal(progressFor({ quiet: true }, tty), undefined);
    assert.equal(progressFor({ json: true }, tty), undefined);
    assert.equal(progressFor({ json: true, progress: true }, pipe), undefined);
    assert.equal(pipe.text(), '', 'nothing written to the pipe');
  });

  test('bars: per blob and overall, sizes and bytes/s, one line per finished blob', () => {
    const tty = fakeStream(true);
    let clock = 1_000_000;
    const p = new BarProgress(tty, () => clock);
    for (const e of events) {
      clock += 500;
      p.onEvent(e);
    }
    p.stop();
    p.stop();
    p.onEvent(events[1]!); // after stop: ignored
    const out = tty.text();
    assert.ok(out.includes('abababababab  ') && out.includes('3.0 MiB  copied'), `a line for the copied layer: ${JSON.stringify(out)}`);
    assert.ok(out.includes('cdcdcdcdcdcd') && out.includes('already there'), 'a line for the config that was there');
    assert.ok(out.includes('efefefefefef  manifest (tag v1)'), 'a line for the manifest');
    assert.ok(/total\s+[█░]{20}\s+100% 3\.0 MiB\/3\.0 MiB [\d.]+ (KiB|MiB)\/s 2\/2 blobs/.test(out), `the overall bar: ${JSON.stringify(out)}`);

    // Stopped mid-blob (a failed transfer): the blob's bar shows where it got to.
    const mid = fakeStream(true);
    const q = new BarProgress(mid, () => (clock += 1000));
    for (const e of events.slice(0, 3)) q.onEvent(e);
    q.stop();
    const partial = mid.text();
    assert.ok(/abababababab\s+[█░]{20}\s+33% 1\.0 MiB\/3\.0 MiB [\d.]+ (KiB|MiB)\/s/.test(partial), `the layer bar: ${JSON.stringify(partial)}`);
    assert.ok(/total\s+[█░]{20}\s+33% 1\.0 MiB\/3\.0 MiB [\d.]+ (KiB|MiB)\/s 0\/1 blobs/.test(partial), `the overall bar: ${JSON.stringify(partial)}`);
  });

  test('lines: one per finished blob, manifest and image start', () => {
    const pipe = fakeStream(false);
    const p = new LineProgress(pipe);
    for (const e of events) p.onEvent(e);
    p.stop();
    assert.equal(
      pipe.text(),
      [
        'image oci:./dir -> 127.0.0.1:5000/app v1',
        `blob ${layer.digest} 3.0 MiB copied`,
        `blob ${config.digest} 512 B already there`,
        `manifest ${manifest.digest} tag v1`,
        '',
      ].join('\n'),
    );
  });
});
