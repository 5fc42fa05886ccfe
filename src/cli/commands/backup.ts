// `wharf backup --to FILE`: a consistent copy of the embedded SQLite metadata database, safe while the
// registry runs (src/admin/backup.ts). PostgreSQL is refused with a pointer to pg_dump.
import { Command } from 'commander';
import type { Overrides } from '../../config/load.js';
import { addServerOptions } from '../server-options.js';
import { formatBytes } from '../progress.js';

interface BackupOptions extends Overrides {
  to: string;
  force?: boolean;
  json?: boolean;
}

export function backupCommand(): Command {
  return addServerOptions(new Command('backup'))
    .description('copy the SQLite metadata database consistently while the registry runs (then copy the blobs; see docs/operations.md)')
    .requiredOption('--to <file>', 'where to write the copy (refused if it exists, unless --force)')
    .option('--force', 'replace an existing file')
    .option('--json', 'print {from, to, bytes, rows, schemaVersion} as JSON')
    .exitOverride()
    .addHelpText(
      'after',
      '\nBack up the database first, then the blobs directory: blobs are written before the rows that name them.\n\n' +
        'Examples:\n  wharf backup --data /var/lib/wharf --to /backup/wharf-$(date +%F).db\n  wharf backup --config /etc/wharf/config.yaml --to /backup/wharf.db --force\n',
    )
    .action(async (opts: BackupOptions) => {
      const { loadConfig, ConfigError } = await import('../../config/load.js');
      const { backupSqlite, BackupError } = await import('../../admin/backup.js');
      let metadata: string;
      try {
        metadata = loadConfig(opts).metadata;
      } catch (e) {
        process.stderr.write(`wharf backup: ${(e as Error).message}\n`);
        process.exitCode = e instanceof ConfigError ? 2 : 1;
        return;
      }
      try {
        const r = await backupSqlite(metadata, opts.to, { force: opts.force === true });
        process.stdout.write(
          opts.json
            ? JSON.stringify(r) + '\n'
            : `backed up ${r.from} to ${r.to} (${formatBytes(r.bytes)}, schema ${r.schemaVersion}): ${r.rows.repositories} repositories, ${r.rows.manifests} manifests, ${r.rows.tags} tags, ${r.rows.blobs} blobs\n`,
        );
      } catch (e) {
        process.stderr.write(`wharf backup: ${(e as Error).message}\n`);
        process.exitCode = e instanceof BackupError ? 2 : 1;
      }
    });
}
