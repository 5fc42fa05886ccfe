// `wharf backup`: a consistent copy of the embedded SQLite metadata database, taken while the registry runs.
// SQLite's online backup API (better-sqlite3's db.backup) copies the database page by page as of one moment;
// with WAL, writers keep going meanwhile. The copy is written beside the target, checked (integrity_check and
// row counts), made durable and renamed into place, so a failed backup never leaves a half-written file.
// PostgreSQL databases are backed up with pg_dump instead (docs/operations.md).
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';

export interface BackupReport {
  from: string;
  to: string;
  bytes: number;
  /** Rows in the backup, per table that matters for serving content. */
  rows: { repositories: number; blobs: number; manifests: number; tags: number };
  schemaVersion: number;
}

/** The most pages better-sqlite3 copies in one backup step. */
const allPages = 0x7fffffff;

export class BackupError extends Error {
  override name = 'BackupError';
}

/** The database file of a `sqlite:PATH` metadata URL; a clear refusal for anything else. */
export function sqliteFileOf(metadata: string): string {
  if (metadata.startsWith('postgres://') || metadata.startsWith('postgresql://')) {
    throw new BackupError('the metadata store is PostgreSQL: back it up with pg_dump (see docs/operations.md); wharf backup copies the embedded SQLite database only');
  }
  if (!metadata.startsWith('sqlite:')) throw new BackupError(`cannot back up metadata store ${JSON.stringify(metadata.split(':', 1)[0])}: only sqlite:PATH`);
  const file = metadata.slice('sqlite:'.length);
  if (file === ':memory:') throw new BackupError('an in-memory SQLite database (sqlite::memory:) has nothing to back up');
  return resolve(file);
}

async function fsync(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function count(db: Database.Database, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

export async function backupSqlite(metadata: string, to: string, options: { force?: boolean } = {}): Promise<BackupReport> {
  const from = sqliteFileOf(metadata);
  const target = resolve(to);
  if (target === from) throw new BackupError('the backup must not overwrite the database itself');
  if (!existsSync(from)) throw new BackupError(`no database at ${from}: is this the registry's configuration (--config, --data or --metadata)?`);
  if (existsSync(target) && !options.force) throw new BackupError(`${target} exists: choose another file or pass --force to replace it`);
  const temp = `${target}.partial-${randomBytes(4).toString('hex')}`;
  const source = new Database(from, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 10000');
    // All pages in one step: a step-wise copy restarts whenever the registry commits between two steps, which
    // on a busy registry could go on forever. One step reads one snapshot; with WAL, writers are not blocked.
    await source.backup(temp, { progress: () => allPages });
  } catch (e) {
    await rm(temp, { force: true });
    throw new Error(`backup of ${from} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    source.close();
  }
  let report: BackupReport;
  try {
    const copy = new Database(temp, { fileMustExist: true }); // read-write: a WAL-mode file opened read-only may leave -shm behind
    try {
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`the backup does not pass integrity_check: ${String(check)}`);
      report = {
        from,
        to: target,
        bytes: (await stat(temp)).size,
        rows: { repositories: count(copy, 'repositories'), blobs: count(copy, 'blobs'), manifests: count(copy, 'manifests'), tags: count(copy, 'tags') },
        schemaVersion: (copy.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0,
      };
    } finally {
      copy.close();
    }
    await fsync(temp);
    await rename(temp, target);
    await fsync(dirname(target));
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  return report;
}
