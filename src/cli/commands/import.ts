// `wharf import --from-distribution DIR`: index a CNCF Distribution storage tree into Wharf's storage and
// metadata (src/admin/import-distribution.ts), with progress on a terminal and a summary (or --json).
// Exit 0 when everything was imported, 1 when something was skipped (the summary says what and why), 2 on usage.
import { Command, Option } from 'commander';
import type { Overrides } from '../../config/load.js';
import { addServerOptions } from '../server-options.js';
import type { ImportProgress, ImportSummary } from '../../admin/import-distribution.js';
import { formatBytes } from '../progress.js';
import { statusLine } from '../status-line.js';

interface ImportOptions extends Overrides {
  fromDistribution: string;
  json?: boolean;
  quiet?: boolean;
  link?: boolean;
  copy?: boolean;
}

export function formatImportSummary(s: ImportSummary): string {
  const lines = [
    `imported from ${s.source}: ${s.repositories} repositories`,
    `  blobs:       ${s.blobs.imported} new (${s.blobs.linked} hard-linked, ${s.blobs.copied} copied, ${formatBytes(s.bytes)}), ${s.blobs.existing} already present`,
    `  layer links: ${s.layerLinks} new${s.danglingLayerLinks > 0 ? `, ${s.danglingLayerLinks} without data in the source (left by Distribution's garbage collection; not imported)` : ''}`,
    `  manifests:   ${s.manifests.imported} new, ${s.manifests.existing} already present`,
    `  tags:        ${s.tags.imported} new or moved, ${s.tags.existing} already present`,
    `  skipped:     ${s.skipped.length}`,
  ];
  for (const k of s.skipped) lines.push(`    ${k.kind} ${k.name}${k.repository ? ` in ${k.repository}` : ''}: ${k.reason}`);
  return lines.join('\n') + '\n';
}

export function importCommand(): Command {
  const cmd = addServerOptions(new Command('import'))
    .description("index another registry's storage into Wharf (blobs copied or hard-linked, manifests and tags recorded as by a push)")
    .requiredOption('--from-distribution <dir>', "CNCF Distribution's storage rootdirectory (holding docker/registry/v2), e.g. /var/lib/docker-registry")
    .addOption(new Option('--link', 'hard-link every blob (fails unless Wharf storage is a directory on the same filesystem)').conflicts('copy'))
    .addOption(new Option('--copy', 'copy every blob, even where a hard link is possible'))
    .option('--json', 'print the summary as JSON')
    .option('-q, --quiet', 'no progress line')
    .exitOverride()
    .addHelpText(
      'after',
      '\nBlobs are hard-linked when Wharf stores files on the same filesystem, otherwise copied; every blob is re-hashed.\n' +
        'Running it again imports only what is new; stop Distribution first (or make it read-only).\n\n' +
        'Examples:\n  wharf import --from-distribution /var/lib/docker-registry --data /var/lib/wharf\n' +
        '  wharf import --from-distribution /srv/registry --config /etc/wharf/config.yaml --json\n',
    )
    .action(async (opts: ImportOptions) => {
      const { ConfigError } = await import('../../config/load.js');
      const { openFromOverrides } = await import('../../admin/open.js');
      const { importFromDistribution, ImportError } = await import('../../admin/import-distribution.js');
      let opened;
      try {
        opened = await openFromOverrides(opts);
      } catch (e) {
        process.stderr.write(`wharf import: ${(e as Error).message}\n`);
        process.exitCode = e instanceof ConfigError ? 2 : 1;
        return;
      }
      const { stores } = opened;
      const line = process.stderr.isTTY && !opts.json && !opts.quiet ? statusLine(process.stderr) : undefined;
      let summary: ImportSummary;
      try {
        summary = await importFromDistribution({
          source: opts.fromDistribution,
          registry: stores.registry,
          localRoot: stores.localRoot,
          mode: opts.link ? 'link' : opts.copy ? 'copy' : 'auto',
          ...(line && {
            onProgress: (p: ImportProgress) =>
              line.update(`importing ${p.repository} (${p.repositoriesDone}/${p.repositoriesTotal} repositories) ${p.blobs} blobs, ${formatBytes(p.bytes)}`),
          }),
        });
      } catch (e) {
        line?.done();
        process.stderr.write(`wharf import: ${(e as Error).message}\n`);
        process.exitCode = e instanceof ImportError ? 2 : 1;
        return;
      } finally {
        await stores.close();
      }
      line?.done();
      process.stdout.write(opts.json ? JSON.stringify(summary) + '\n' : formatImportSummary(summary));
      process.exitCode = summary.skipped.length > 0 ? 1 : 0;
    });
  return cmd;
}
