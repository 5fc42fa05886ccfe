// `wharf migrate`: apply the metadata store's pending schema migrations and report the schema version.
// `wharf serve` applies them on start too; this runs them ahead of a rollout (or checks that nothing is pending)
// without starting a server. Several processes may run it at once: PostgreSQL migrations hold an advisory lock,
// SQLite ones run in a write transaction.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { Overrides } from '../../config/load.js';

interface MigrateOptions extends Overrides {
  json?: boolean;
}

interface MigrateReport {
  metadata: string;
  before: number;
  after: number;
  applied: number[];
}

/** Schema version of an SQLite file: the highest applied migration, 0 for a missing or empty file. */
async function sqliteVersion(file: string): Promise<number> {
  if (file === ':memory:' || !existsSync(file)) return 0;
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (!table) return 0;
    const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
    return row.v ?? 0;
  } finally {
    db.close();
  }
}

async function migrate(metadata: string): Promise<MigrateReport> {
  if (metadata.startsWith('postgres://') || metadata.startsWith('postgresql://')) {
    const { PostgresMetadataStore } = await import('../../metadata/postgres.js');
    const store = await PostgresMetadataStore.open(metadata);
    await store.close();
    return { metadata: store.location, ...store.schema };
  }
  if (metadata.startsWith('sqlite:')) {
    const file = metadata.slice('sqlite:'.length);
    const before = await sqliteVersion(file);
    const { openMetadata } = await import('../../metadata/index.js');
    const store = await openMetadata(metadata);
    await store.close();
    const after = await sqliteVersion(file);
    const applied = Array.from({ length: after - before }, (_, i) => before + i + 1);
    return { metadata, before, after, applied };
  }
  // Anything else gets openMetadata's own message about supported URLs.
  const { openMetadata } = await import('../../metadata/index.js');
  await (await openMetadata(metadata)).close();
  throw new Error(`cannot report the schema version of ${metadata}`);
}

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('apply pending metadata schema migrations (serve also does on start) and print the schema version')
    .option('-c, --config <file>', 'YAML configuration file (env WHARF_CONFIG)')
    .option('-d, --data <dir>', 'data directory of the embedded default, metadata in DIR/wharf.db (env WHARF_DATA; default ./data)')
    .option('--metadata <url>', 'metadata store: sqlite:PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB (env WHARF_METADATA)')
    .option('--json', 'print {metadata, before, after, applied} as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  wharf migrate --metadata postgres://wharf@db.internal/wharf\n  wharf migrate --config /etc/wharf/config.yaml --json\n  wharf migrate --data /var/lib/wharf\n',
    )
    .action(async (opts: MigrateOptions) => {
      const { loadConfig, ConfigError } = await import('../../config/load.js');
      let metadata: string;
      try {
        metadata = loadConfig(opts).metadata;
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`wharf migrate: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      let report: MigrateReport;
      try {
        report = await migrate(metadata);
      } catch (e) {
        process.stderr.write(`wharf migrate: ${(e as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(report) + '\n');
      } else if (report.applied.length === 0) {
        process.stdout.write(`${report.metadata}: schema version ${report.after}, up to date\n`);
      } else {
        process.stdout.write(`${report.metadata}: schema version ${report.before} -> ${report.after} (applied ${report.applied.join(', ')})\n`);
      }
    });
}
