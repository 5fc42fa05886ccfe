// `wharf retention`: applies the retention rules of the configuration (lifecycle.retention) to the storage and
// metadata a server uses (the same --config/--data/--storage/--metadata as serve), through the registry's normal
// delete path; safe while that server runs. --dry-run reports exactly what a real run would delete. Blobs are
// reclaimed afterwards by garbage collection (`wharf gc`, or the schedule in serve).
import { Command, Option } from 'commander';
import type { Overrides } from '../../config/load.js';
import { addServerOptions } from '../server-options.js';

interface RetentionCliOptions extends Overrides {
  dryRun?: boolean;
  json?: boolean;
  repository?: string[];
}

export function retentionCommand(): Command {
  return addServerOptions(new Command('retention'))
    .description('delete the tags and manifests the retention rules (config lifecycle.retention) do not keep; GC reclaims the blobs later')
    .addOption(new Option('--dry-run', 'report what would be deleted, delete nothing'))
    .addOption(new Option('--json', 'print the report as JSON'))
    .addOption(new Option('--repository <name...>', 'only these repositories (default: every repository a rule names)'))
    .addHelpText('after', '\nExamples:\n  wharf retention --config /etc/wharf/config.yaml --dry-run\n  wharf retention --config config.yaml --json --repository team/app\n')
    .action(async (opts: RetentionCliOptions) => {
      const { dryRun, json, repository, ...flags } = opts;
      const { loadConfig, ConfigError } = await import('../../config/load.js');
      let config;
      try {
        config = loadConfig(flags);
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`wharf retention: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      if (config.lifecycle.retention.length === 0) process.stderr.write('wharf retention: the configuration has no lifecycle.retention rules; nothing to do\n');
      const { openAdminStores } = await import('../../admin/open.js');
      const stores = await openAdminStores(config);
      try {
        const report = await stores.registry.retention.run({ dryRun: dryRun ?? false, ...(repository && { repositories: repository }) });
        if (json) {
          process.stdout.write(JSON.stringify(report) + '\n');
          return;
        }
        const verb = report.dryRun ? 'would delete' : 'deleted';
        for (const r of report.repositories) {
          for (const t of r.deletedTags) process.stdout.write(`${verb} tag ${r.repository}:${t}\n`);
          for (const m of r.deletedManifests) {
            const why = m.reason === 'untagged' ? 'untagged' : `tags ${m.tags.join(', ')}`;
            process.stdout.write(`${verb} manifest ${r.repository}@${m.digest} (${why})\n`);
          }
        }
        process.stdout.write(`${report.dryRun ? 'dry run: ' : ''}${verb} ${report.deletedTags} tags and ${report.deletedManifests} manifests in ${report.repositories.length} repositories; run wharf gc to reclaim their blobs\n`);
      } finally {
        await stores.close();
      }
    });
}
