// OciArchiveStore on real files: writing an archive (atomically, on close only), reading it back (plain and
// gzipped), refusing writes in read mode, temp directories removed, and hostile archives (`..`, absolute
// paths, links, devices, garbage) refused without writing anything outside the temp directory; temp
// directories of archives left open are removed at process exit.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { MediaType, type Descriptor } from '../../src/oci/index.js';
import { ClientError, openArchive, openLayout, type ContentSink } from '../../src/client/index.js';
import { buildImage, readAll, removeDir, sha256, tempDir, type Image } from './helpers.js';
import { projectRoot } from '../helpers/processes.js';

function blobDescriptor(data: Buffer, mediaType = 'application/octet-stream'): Descriptor {
  return { mediaType, digest: sha256(data), size: data.length };
}

async function pushImage(sink: ContentSink, image: Image, tag: string): Promise<void> {
  for (const b of [image.config, ...image.layers]) await sink.pushBlob(blobDescriptor(b), async () => Readable.from([b]));
  await sink.pushManifest({ digest: image.digest, mediaType: MediaType.ociManifest, bytes: image.manifest }, { root: true, tag });
}

interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  body?: Buffer | string;
  linkname?: string;
}

/** A tar file made of exactly these entries (for hostile archives). */
async function writeTar(path: string, entries: TarEntry[]): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const body = e.body === undefined ? undefined : Buffer.from(e.body);
    await new Promise<void>((res, rej) =>
      pack.entry(
        { name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), ...(body ? { size: body.length } : {}) },
        body ?? Buffer.alloc(0),
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  pack.finalize();
  await collecting;
  writeFileSync(path, Buffer.concat(chunks));
}

/** Entry names of a tar file, in order. */
async function tarNames(path: string): Promise<string[]> {
  const extract = tar.extract();
  Readable.from([readFileSync(path)]).pipe(extract);
  const names: string[] = [];
  for await (const entry of extract) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names;
}

const layoutEntries = [
  { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
  { name: 'index.json', body: '{"schemaVersion":2,"manifests":[]}' },
  { name: 'blobs/', type: 'directory' as const },
];

describe('OciArchiveStore', () => {
  let work: string;
  before(() => {
    work = tempDir('wharf-archive-');
  });
  after(() => removeDir(work));

  test('write mode: nothing at FILE until close(); then a tar of the layout; the temp directory is gone', async () => {
    const file = join(work, 'image.tar');
    const store = await openArchive(file, { mode: 'write' });
    assert.equal(store.kind, 'archive');
    assert.equal(store.name, `oci-archive:${file}`);
    const image = buildImage({ layers: [Buffer.alloc(100_000, 9)] });
    await pushImage(store, image, 'v1');
    assert.equal(existsSync(file), false);
    assert.equal((await store.resolve('v1')).digest, image.digest);
    await store.close();
    assert.equal(existsSync(store.workDir), false);
    assert.deepEqual(readdirSync(work), ['image.tar']);
    const names = await tarNames(file);
    assert.deepEqual(names.slice(0, 4), ['oci-layout', 'index.json', 'blobs/', 'blobs/sha256/']);
    assert.deepEqual(names.slice(4), [image.config, image.layers[0]!, image.manifest].map((b) => `blobs/sha256/${sha256(b).slice(7)}`).sort());
    await store.close(); // a second close does nothing
    await assert.rejects(store.resolve('v1'), /is closed/);
  });

  test('read mode serves what write mode wrote, byte for byte; pushes are refused', async (t) => {
    const file = join(work, 'rt.tar');
    const writer = await openArchive(file, { mode: 'write' });
    const image = buildImage();
    await pushImage(writer, image, 'v1');
    await writer.close();
    const reader = await openArchive(file, { mode: 'read' });
    t.after(() => reader.close());
    assert.deepEqual(await reader.tags(), ['v1']);
    const m = await reader.resolve('v1');
    assert.deepEqual(m.bytes, image.manifest);
    assert.deepEqual(await readAll(await reader.fetchBlob(blobDescriptor(image.layers[0]!))), image.layers[0]);
    assert.equal(await reader.hasBlob(blobDescriptor(image.config)), true);
    await assert.rejects(reader.pushBlob(blobDescriptor(Buffer.from('x')), async () => Readable.from([Buffer.from('x')])), /open for reading/);
    await assert.rejects(reader.pushManifest(m, { root: true, tag: 'x' }), /open for reading/);
    await reader.close();
    assert.equal(existsSync(reader.workDir), false);
    assert.deepEqual(readdirSync(work).filter((n) => n.startsWith('.')), []);
  });

  test('the same content gives the same archive bytes; writing again replaces the file', async () => {
    const image = buildImage();
    const files = [join(work, 'same-1.tar'), join(work, 'same-2.tar')];
    for (const f of files) {
      const w = await openArchive(f, { mode: 'write' });
      await pushImage(w, image, 'v1');
      await w.close();
    }
    assert.deepEqual(readFileSync(files[0]!), readFileSync(files[1]!));
    const other = buildImage();
    const w = await openArchive(files[0]!, { mode: 'write' });
    await pushImage(w, other, 'v2');
    await w.close();
    const r = await openArchive(files[0]!, { mode: 'read' });
    assert.deepEqual(await r.tags(), ['v2']);
    await r.close();
  });

  test('discard() writes nothing and removes the temp directory', async () => {
    const file = join(work, 'discarded.tar');
    const w = await openArchive(file, { mode: 'write' });
    await pushImage(w, buildImage(), 'v1');
    await w.discard();
    assert.equal(existsSync(file), false);
    assert.equal(existsSync(w.workDir), false);
    await w.close();
    assert.equal(existsSync(file), false);
  });

  test('an archive left open is cleaned up when the process exits', async () => {
    const file = join(work, 'left-open.tar');
    const w = await openArchive(file, { mode: 'write' });
    await pushImage(w, buildImage(), 'v1');
    await w.close();
    const script = [
      `import { openArchive } from ${JSON.stringify(join(projectRoot, 'src', 'client', 'layout-archive.ts'))};`,
      `const r = await openArchive(${JSON.stringify(file)}, { mode: 'read' });`,
      `const w = await openArchive(${JSON.stringify(join(work, 'never-written.tar'))}, { mode: 'write' });`,
      `console.log(JSON.stringify([r.workDir, w.workDir]));`,
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, encoding: 'utf8', timeout: 60_000 });
    assert.equal(child.status, 0, child.stderr);
    const dirs = JSON.parse(child.stdout.trim().split('\n').pop()!) as string[];
    assert.equal(dirs.length, 2);
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed at exit`);
    assert.equal(existsSync(join(work, 'never-written.tar')), false);
  });

  test('gzip-compressed archives and ./-prefixed names are read', async () => {
    const plain = join(work, 'plain.tar');
    const image = buildImage();
    const dir = join(work, 'src-layout');
    const layout = await openLayout(dir, { create: true });
    await pushImage(layout, image, 'gz');
    const entries: TarEntry[] = [
      { name: './', type: 'directory' },
      { name: './oci-layout', body: readFileSync(join(dir, 'oci-layout')) },
      { name: './index.json', body: readFileSync(join(dir, 'index.json')) },
      ...[image.config, image.layers[0]!, image.manifest].map((b) => ({ name: `./blobs/sha256/${sha256(b).slice(7)}`, body: b })),
    ];
    await writeTar(plain, entries);
    const gz = join(work, 'image.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(plain)));
    for (const f of [plain, gz]) {
      const r = await openArchive(f, { mode: 'read' });
      assert.deepEqual((await r.resolve('gz')).bytes, image.manifest, f);
      await r.close();
    }
  });

  test('missing files, directories and non-archives are clear errors', async () => {
    await assert.rejects(openArchive(join(work, 'missing.tar'), { mode: 'read' }), (e: Error) => e instanceof ClientError && /does not exist/.test(e.message));
    await assert.rejects(openArchive(join(work, 'no', 'such', 'dir.tar'), { mode: 'write' }), (e: Error) => e instanceof ClientError && /does not exist/.test(e.message));
    await assert.rejects(openArchive(work, { mode: 'write' }), (e: Error) => e instanceof ClientError && /is a directory/.test(e.message));
    const garbage = join(work, 'garbage.tar');
    writeFileSync(garbage, Buffer.alloc(5000, 0x41));
    await assert.rejects(openArchive(garbage, { mode: 'read' }), (e: Error) => e instanceof ClientError && /cannot read it as a tar archive/.test(e.message));
    const notLayout = join(work, 'not-layout.tar');
    await writeTar(notLayout, [{ name: 'hello.txt', body: 'hi' }]);
    await assert.rejects(openArchive(notLayout, { mode: 'read' }), (e: Error) => e instanceof ClientError && /is not an OCI archive/.test(e.message));
  });

  test('hostile entries are refused and nothing lands outside the temp directory', async () => {
    const victim = join(work, 'victim');
    const cases: [string, TarEntry][] = [
      ['dotdot', { name: '../victim', body: 'pwned' }],
      ['nested-dotdot', { name: 'blobs/../../victim', body: 'pwned' }],
      ['absolute', { name: victim, body: 'pwned' }],
      ['symlink', { name: 'blobs/link', type: 'symlink', linkname: victim }],
      ['hardlink', { name: 'blobs/hard', type: 'link', linkname: 'oci-layout' }],
      ['device', { name: 'blobs/dev', type: 'character-device' }],
      ['fifo', { name: 'blobs/fifo', type: 'fifo' }],
    ];
    for (const [label, entry] of cases) {
      const file = join(work, `hostile-${label}.tar`);
      await writeTar(file, [...layoutEntries, entry]);
      await assert.rejects(
        openArchive(file, { mode: 'read' }),
        (e: Error) => e instanceof ClientError && /refusing tar entry/.test(e.message),
        label,
      );
      assert.equal(existsSync(victim), false, `${label}: nothing written outside`);
    }
    // a file entry that would write through a symlink planted by an earlier entry never gets that far
    const planted = join(work, 'hostile-planted.tar');
    await writeTar(planted, [...layoutEntries, { name: 'blobs/sha256', type: 'symlink', linkname: work }, { name: 'blobs/sha256/victim', body: 'pwned' }]);
    await assert.rejects(openArchive(planted, { mode: 'read' }), /refusing tar entry/);
    assert.equal(existsSync(join(work, 'victim')), false, 'nothing written through a symlink');
    const duplicate = join(work, 'hostile-duplicate.tar');
    await writeTar(duplicate, [...layoutEntries, { name: 'index.json', body: '{}' }]);
    await assert.rejects(openArchive(duplicate, { mode: 'read' }), ClientError);
  });
});
