// An OCI image layout in one tar file (`oci-archive:FILE`, as `skopeo copy … oci-archive:FILE:TAG` writes it)
// as a ContentStore. The archive is worked on as a layout in a private temp directory (under TMPDIR):
// - read mode extracts the tar there (streamed entry by entry, gzip-compressed archives too) and serves it;
//   pushes are refused. Entries that could write outside the directory (absolute names, `..`, links, devices)
//   fail the open before anything is served.
// - write mode starts from an empty layout and, on close(), writes the tar to a temp file next to FILE, fsyncs
//   it and renames it over FILE (an existing archive is replaced, as skopeo does). Nothing appears at FILE
//   before close(); discard() drops the work without writing.
// close() (and discard()) remove the temp directory; one left open when the process exits is removed then.
import { createReadStream, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Descriptor } from '../oci/index.js';
import type { ContentKind, ContentOptions, ContentStore, ManifestBytes, PushBlobOptions, PushBlobResult, PushManifestOptions, ReferrersFilter } from './content.js';
import { ClientError } from './errors.js';
import { openLayout, syncDir, tempName, writeAll, type OciLayoutStore } from './layout.js';

export type ArchiveMode = 'read' | 'write';

/** A fixed timestamp for every entry, so the same content always gives the same archive bytes. */
const entryTime = new Date(0);

/** Temp directories of archives not yet closed; removed at process exit (a caller that forgot close()). */
const openWorkDirs = new Set<string>();
let exitHookInstalled = false;

function trackWorkDir(dir: string): void {
  openWorkDirs.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of openWorkDirs) rmSync(d, { recursive: true, force: true });
  });
}

async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  openWorkDirs.delete(dir);
}

function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The path segments of a tar entry name inside the extraction directory; a ClientError for names that could
 * leave it. Returns [] for the archive's root (`./`).
 */
export function safeEntrySegments(name: string, archive: string): string[] {
  const refuse = (why: string) => new ClientError(`${archive}: refusing tar entry ${JSON.stringify(name.slice(0, 300))}: ${why}`);
  if (name.includes('\0')) throw refuse('NUL in the name');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\')) throw refuse('absolute or non-POSIX path');
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse('".." in the path');
  return segments;
}

/** Extracts the tar (or gzipped tar) `file` into the empty directory `dest`, refusing anything but files and directories. */
async function extractArchive(file: string, dest: string): Promise<void> {
  let head: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      head = Buffer.alloc(2);
      await fh.read(head, 0, 2, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (errorCode(e) === 'ENOENT') throw new ClientError(`${file} does not exist (expected an OCI archive, a tar of an OCI image layout)`);
    throw e;
  }
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  const extract = tar.extract();
  const input = createReadStream(file);
  const feeding = gzipped ? pipeline(input, createGunzip(), extract) : pipeline(input, extract);
  feeding.catch(() => undefined); // its failure also ends the loop below, which reports it
  const root = resolve(dest);
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const segments = safeEntrySegments(name, file);
      const target = resolve(root, ...segments);
      if (target !== root && !target.startsWith(root + sep)) throw new ClientError(`${file}: refusing tar entry ${JSON.stringify(name)}: outside the archive`);
      if (type === 'directory') {
        await mkdir(target, { recursive: true });
        entry.resume();
      } else if (type === 'file' || type === 'contiguous-file') {
        if (target === root) throw new ClientError(`${file}: refusing tar entry ${JSON.stringify(name)}: a file with no name`);
        await mkdir(dirname(target), { recursive: true });
        // 'wx': never through something already there (a duplicate entry is refused, not followed).
        await pipeline(entry, await open(target, 'wx', 0o644).then((fh) => fh.createWriteStream()));
      } else if ((type as string) === 'pax-global-header') {
        entry.resume();
      } else {
        throw new ClientError(`${file}: refusing tar entry ${JSON.stringify(name)} of type ${type ?? 'unknown'}: an OCI archive holds only files and directories`);
      }
    }
    await feeding;
  } catch (e) {
    extract.destroy();
    input.destroy();
    if (e instanceof ClientError) throw e;
    throw new ClientError(`${file}: cannot read it as a tar archive: ${(e as Error).message}`, { cause: e });
  }
}

/** The layout's files in archive order: oci-layout, index.json, then blobs/ (directories before their files, sorted). */
async function layoutEntries(dir: string): Promise<{ name: string; path: string; directory: boolean }[]> {
  const out: { name: string; path: string; directory: boolean }[] = [];
  for (const top of ['oci-layout', 'index.json']) out.push({ name: top, path: join(dir, top), directory: false });
  const walk = async (rel: string): Promise<void> => {
    out.push({ name: `${rel}/`, path: join(dir, rel), directory: true });
    const names = (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of names) {
      if (d.name.startsWith('.')) continue;
      if (d.isDirectory()) await walk(`${rel}/${d.name}`);
      else if (d.isFile()) out.push({ name: `${rel}/${d.name}`, path: join(dir, rel, d.name), directory: false });
    }
  };
  await walk('blobs');
  return out;
}

/** Writes the layout `dir` as a tar at `file`: temp file beside it, fsync, rename, fsync the directory. */
async function writeArchive(dir: string, file: string): Promise<void> {
  const entries = await layoutEntries(dir);
  const tmp = join(dirname(file), tempName(`.${basename(file)}.tmp-`));
  let renamed = false;
  try {
    const fh: FileHandle = await open(tmp, 'wx', 0o644);
    try {
      const pack = tar.pack();
      const producing = (async () => {
        for (const e of entries) {
          if (e.directory) {
            await new Promise<void>((res, rej) => pack.entry({ name: e.name, type: 'directory', mode: 0o755, mtime: entryTime }, (err) => (err ? rej(err) : res())));
            continue;
          }
          const { size } = await stat(e.path);
          const sink = pack.entry({ name: e.name, type: 'file', size, mode: 0o644, mtime: entryTime });
          await pipeline(createReadStream(e.path), sink);
        }
        pack.finalize();
      })();
      producing.catch((err: unknown) => pack.destroy(err as Error));
      for await (const chunk of pack as AsyncIterable<Buffer>) await writeAll(fh, chunk);
      await producing;
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    renamed = true;
    await syncDir(dirname(file));
  } finally {
    if (!renamed) await rm(tmp, { force: true });
  }
}

export class OciArchiveStore implements ContentStore {
  readonly kind: ContentKind = 'archive';
  readonly name: string;
  readonly file: string;
  readonly mode: ArchiveMode;
  private readonly layout: OciLayoutStore;
  /** The private temp directory holding the layout (removed by close() and discard()). */
  readonly workDir: string;
  private finished = false;

  /** Use openArchive(). */
  constructor(file: string, mode: ArchiveMode, layout: OciLayoutStore, workDir: string) {
    this.file = file;
    this.mode = mode;
    this.name = `oci-archive:${file}`;
    this.layout = layout;
    this.workDir = workDir;
  }

  private writable(): void {
    if (this.mode !== 'write') throw new ClientError(`${this.name} is open for reading: it cannot be written to`);
    if (this.finished) throw new ClientError(`${this.name} is closed`);
  }

  private readable(): void {
    if (this.finished) throw new ClientError(`${this.name} is closed`);
  }

  async resolve(reference: string, opts?: ContentOptions): Promise<ManifestBytes> {
    this.readable();
    return this.layout.resolve(reference, opts);
  }

  async fetchManifest(descriptor: Descriptor, opts?: ContentOptions): Promise<ManifestBytes> {
    this.readable();
    return this.layout.fetchManifest(descriptor, opts);
  }

  async fetchBlob(descriptor: Descriptor, opts?: ContentOptions): Promise<Readable> {
    this.readable();
    return this.layout.fetchBlob(descriptor, opts);
  }

  async referrers(digest: string, opts?: ReferrersFilter): Promise<Descriptor[]> {
    this.readable();
    return this.layout.referrers(digest, opts);
  }

  async tags(opts?: ContentOptions): Promise<string[]> {
    this.readable();
    return this.layout.tags(opts);
  }

  async hasBlob(descriptor: Descriptor, opts?: ContentOptions): Promise<boolean> {
    this.readable();
    return this.layout.hasBlob(descriptor, opts);
  }

  async hasManifest(descriptor: Descriptor, opts?: ContentOptions): Promise<boolean> {
    this.readable();
    return this.layout.hasManifest(descriptor, opts);
  }

  async pushBlob(descriptor: Descriptor, open: (offset: number) => Promise<Readable>, opts?: PushBlobOptions): Promise<PushBlobResult> {
    this.writable();
    return this.layout.pushBlob(descriptor, open, opts);
  }

  async pushManifest(manifest: ManifestBytes, opts: PushManifestOptions): Promise<void> {
    this.writable();
    return this.layout.pushManifest(manifest, opts);
  }

  /** Write mode: writes FILE (atomically). Both modes: removes the temp directory. A second call does nothing. */
  async close(opts: ContentOptions = {}): Promise<void> {
    if (this.finished) return;
    try {
      opts.signal?.throwIfAborted();
      if (this.mode === 'write') {
        await this.layout.close(opts);
        await writeArchive(this.workDir, this.file);
      }
    } finally {
      this.finished = true;
      await removeWorkDir(this.workDir);
    }
  }

  /** Drops everything without writing FILE (write mode) and removes the temp directory. */
  async discard(): Promise<void> {
    this.finished = true;
    await removeWorkDir(this.workDir);
  }
}

/**
 * Opens the OCI archive `file`: `read` extracts it to a private temp directory (a ClientError for anything
 * that is not a tar of a layout, or holds unsafe entries); `write` prepares a new one, written by close().
 */
export async function openArchive(file: string, opts: { mode: ArchiveMode }): Promise<OciArchiveStore> {
  if (opts.mode !== 'read' && opts.mode !== 'write') throw new ClientError(`openArchive: mode must be 'read' or 'write'`);
  if (opts.mode === 'write') {
    let parentOk = false;
    try {
      parentOk = (await stat(dirname(resolve(file)))).isDirectory();
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') throw e;
    }
    if (!parentOk) throw new ClientError(`${file}: its directory ${dirname(resolve(file))} does not exist`);
    const existing = await stat(file).catch(() => undefined);
    if (existing?.isDirectory()) throw new ClientError(`${file} is a directory; an OCI archive is a tar file (use oci:${file} for a layout directory)`);
  }
  const workDir = await mkdtemp(join(tmpdir(), 'wharf-oci-archive-'));
  trackWorkDir(workDir);
  try {
    if (opts.mode === 'read') {
      await extractArchive(file, workDir);
      const layout = await openLayout(workDir, { name: `oci-archive:${file}` }).catch((e: unknown) => {
        throw new ClientError(`${file} is not an OCI archive: ${(e as Error).message.replace(workDir, '<archive>')}`, { cause: e });
      });
      return new OciArchiveStore(file, 'read', layout, workDir);
    }
    const layout = await openLayout(workDir, { create: true, name: `oci-archive:${file}` });
    return new OciArchiveStore(file, 'write', layout, workDir);
  } catch (e) {
    await removeWorkDir(workDir);
    throw e;
  }
}
