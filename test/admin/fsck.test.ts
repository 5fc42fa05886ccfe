// `wharf fsck`: a clean store passes; bytes without a row are reported as information only; a deleted blob
// file is a row without bytes (and names the manifests that need it); a flipped byte is digest drift, found by
// a full re-hash and not by --sample 0; upload sessions and temporary files are not blobs. The library call
// samples the fraction it is asked to.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { RegistryClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/load.js';
import { openAdminStores } from '../../src/admin/open.js';
import { fsck, type FsckReport } from '../../src/admin/fsck.js';
import { removeDir, spawnWharf, tempDir } from '../helpers/processes.js';
import { buildImage, sha256 } from '../client/helpers.js';
import { pushRecorded, runWharf, type Fixture } from './helpers.js';

function blobFile(data: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(data, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

function flipFirstByte(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 0);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, 0);
  } finally {
    closeSync(fd);
  }
}

async function runFsck(data: string, extra: string[] = []): Promise<{ code: number | null; report: FsckReport; stderr: string }> {
  const r = await runWharf(['fsck', '--data', data, '--json', ...extra]);
  let report: FsckReport;
  try {
    report = JSON.parse(r.stdout) as FsckReport;
  } catch {
    throw new Error(`fsck did not print JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

function kinds(report: FsckReport): string[] {
  return report.findings.map((f) => `${f.severity} ${f.kind} ${f.digest}`).sort();
}

describe('wharf fsck', () => {
  const data = tempDir('wharf-fsck-');
  const fixture: Fixture = new Map();
  let layer: string;
  let manifest: string;

  before(async () => {
    const wharf = await spawnWharf({ data });
    const client = new RegistryClient(wharf.host);
    try {
      const image = buildImage({ layers: [randomBytes(100_000), randomBytes(5000)] });
      await pushRecorded(client, fixture, 'app/one', image, ['v1']);
      await pushRecorded(client, fixture, 'app/two', buildImage(), ['latest']);
      layer = sha256(image.layers[0]!);
      manifest = image.digest;
    } finally {
      await client.close();
      await wharf.stop();
    }
  });

  after(() => removeDir(data));

  test('a clean store passes, every blob re-hashed; the human report says ok', async () => {
    const { code, report } = await runFsck(data);
    assert.equal(code, 0, JSON.stringify(report.findings));
    assert.equal(report.ok, true, 'ok');
    assert.deepEqual(report.findings, [], 'nothing to report');
    assert.equal(report.blobs.rows, 5, 'two configs and three layers');
    assert.equal(report.blobs.rehashed, report.blobs.rows, 'the default re-hashes every blob');
    assert.equal(report.manifests.checked, 2, 'both manifests checked');
    const text = await runWharf(['fsck', '--data', data]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ok: 0 errors, 0 warnings, 0 info$/m, text.stdout);
  });

  test('bytes without a row are information, not a failure; uploads and temporary files are not blobs', async () => {
    const orphan = randomBytes(1234);
    const digest = sha256(orphan);
    const file = blobFile(data, digest);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, orphan);
    writeFileSync(`${blobFile(data, layer)}.tmp-0123456789ab`, 'half-written');
    mkdirSync(join(data, 'blobs', '_uploads', 'abc'), { recursive: true });
    writeFileSync(join(data, 'blobs', '_uploads', 'abc', 'data'), 'an upload in progress');
    try {
      const { code, report } = await runFsck(data);
      assert.equal(code, 0, 'orphans do not fail the check');
      assert.deepEqual(kinds(report), [`info blob-orphan ${digest}`], JSON.stringify(report.findings));
    } finally {
      rmSync(file);
      rmSync(`${blobFile(data, layer)}.tmp-0123456789ab`);
      rmSync(join(data, 'blobs', '_uploads'), { recursive: true });
    }
  });

  test('a flipped byte is digest drift: found by a full re-hash, not by --sample 0', async () => {
    flipFirstByte(blobFile(data, layer));
    try {
      const full = await runFsck(data, ['--full']);
      assert.equal(full.code, 1, 'drift fails the check');
      assert.deepEqual(kinds(full.report), [`error blob-digest-drift ${layer}`], JSON.stringify(full.report.findings));
      const sizesOnly = await runFsck(data, ['--sample', '0']);
      assert.equal(sizesOnly.code, 0, 'sizes still agree');
      assert.equal(sizesOnly.report.blobs.rehashed, 0, 'nothing re-hashed');
      const text = await runWharf(['fsck', '--data', data]);
      assert.equal(text.code, 1, 'exit 1');
      assert.match(text.stdout, new RegExp(`error +blob-digest-drift ${layer}: stored bytes hash to sha256:`), text.stdout);
      assert.match(text.stdout, /PROBLEMS FOUND: 1 errors/, text.stdout);
    } finally {
      flipFirstByte(blobFile(data, layer));
    }
  });

  test('a deleted blob file is a row without bytes, and the manifest that needs it is named', async () => {
    const file = blobFile(data, layer);
    const saved = Buffer.from(await import('node:fs/promises').then((fs) => fs.readFile(file)));
    rmSync(file);
    try {
      const { code, report } = await runFsck(data);
      assert.equal(code, 1, 'missing bytes fail the check');
      assert.deepEqual(kinds(report), [`error blob-missing ${layer}`, `error manifest-blob-missing ${manifest}`], JSON.stringify(report.findings));
      const needs = report.findings.find((f) => f.kind === 'manifest-blob-missing')!;
      assert.equal(needs.repository, 'app/one', 'the repository is named');
      assert.match(needs.message, new RegExp(layer), 'the missing blob is named');
    } finally {
      writeFileSync(file, saved);
    }
    assert.equal((await runFsck(data)).code, 0, 'clean again once restored');
  });

  test('--sample re-hashes about that fraction; bad fractions are usage errors', async () => {
    const stores = await openAdminStores(loadConfig({ data }, {}));
    try {
      let n = 0;
      const alternate = () => (n++ % 2 === 0 ? 0.1 : 0.9);
      const half = await fsck({ registry: stores.registry, sample: 0.5, random: alternate });
      assert.equal(half.blobs.rehashed, 3, 'every other blob of five');
      assert.equal(half.ok, true, 'clean');
    } finally {
      await stores.close();
    }
    const bad = await runWharf(['fsck', '--data', data, '--sample', '1.5']);
    assert.equal(bad.code, 2, bad.stderr);
    const both = await runWharf(['fsck', '--data', data, '--sample', '0.5', '--full']);
    assert.equal(both.code, 2, both.stderr);
  });
});
