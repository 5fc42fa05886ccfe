// `wharf fsck`: check that the metadata store and the storage agree (src/admin/fsck.ts), read-only.
// Exit 0 when nothing is wrong (orphaned bytes are information, not a problem), 1 on errors, 2 on usage.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Overrides } from '../../config/load.js';
import { addServerOptions } from '../server-options.js';
import type { FsckReport } from '../../admin/fsck.js';
import { formatBytes } from '../progress.js';
import { statusLine } from '../status-line.js';

interface FsckOptions extends Overrides {
  sample?: number;
  full?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Lines of information (orphans) shown before the rest are only counted; --json lists them all. */
const maxInfoLines = 20;

function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a fraction between 0 and 1, e.g. 0.05');
  return n;
}

export function formatFsckReport(r: FsckReport): string {
  const lines: string[] = [];
  let infos = 0;
  for (const f of r.findings) {
    if (f.severity === 'info' && ++infos > maxInfoLines) continue;
    lines.push(`${f.severity.padEnd(7)} ${f.kind} ${f.digest}${f.repository ? ` in ${f.repository}` : ''}: ${f.message}`);
  }
  if (infos > maxInfoLines) lines.push(`info    … ${infos - maxInfoLines} more (--json lists them all)`);
  lines.push(
    `${r.blobs.rows} blob rows, ${r.blobs.stored} blobs in storage, ${r.blobs.rehashed} re-hashed (${formatBytes(r.blobs.bytesRehashed)}, sample ${r.sample}); ` +
      `${r.manifests.checked} manifests in ${r.manifests.repositories} repositories`,
  );
  lines.push(`${r.ok ? 'ok' : 'PROBLEMS FOUND'}: ${r.counts.error} errors, ${r.counts.warning} warnings, ${r.counts.info} info`);
  return lines.join('\n') + '\n';
}

export function fsckCommand(): Command {
  return addServerOptions(new Command('fsck'))
    .description('check the storage against the metadata: re-hash blobs, find rows without bytes and bytes without rows (read-only)')
    .addOption(new Option('--sample <fraction>', 're-hash only this random fraction of the blobs (0 checks sizes only)').argParser(fraction).conflicts('full'))
    .option('--full', 're-hash every blob (the default)')
    .option('--json', 'print the report as JSON')
    .option('-q, --quiet', 'print only the summary lines')
    .exitOverride()
    .addHelpText(
      'after',
      '\nSafe while the registry runs. Exit status: 0 clean (orphans are only reported), 1 problems found.\n\n' +
        'Examples:\n  wharf fsck --data /var/lib/wharf\n  wharf fsck --config /etc/wharf/config.yaml --sample 0.05\n  wharf fsck --json > fsck.json\n',
    )
    .action(async (opts: FsckOptions) => {
      const { ConfigError } = await import('../../config/load.js');
      const { openFromOverrides } = await import('../../admin/open.js');
      const { fsck, FsckError } = await import('../../admin/fsck.js');
      let opened;
      try {
        opened = await openFromOverrides(opts);
      } catch (e) {
        process.stderr.write(`wharf fsck: ${(e as Error).message}\n`);
        process.exitCode = e instanceof ConfigError ? 2 : 1;
        return;
      }
      const { stores } = opened;
      let report: FsckReport;
      const line = process.stderr.isTTY && !opts.json && !opts.quiet ? statusLine(process.stderr) : undefined;
      try {
        report = await fsck({
          registry: stores.registry,
          sample: opts.full ? 1 : (opts.sample ?? 1),
          ...(line && {
            onProgress: (p) =>
              line.update(p.phase === 'storage' ? `listing storage: ${p.done} blobs` : `checking ${p.phase}: ${p.done} re-hashed, ${formatBytes(p.bytes)}`),
          }),
        });
      } catch (e) {
        line?.done();
        process.stderr.write(`wharf fsck: ${(e as Error).message}\n`);
        process.exitCode = e instanceof FsckError ? 2 : 1;
        return;
      } finally {
        await stores.close();
      }
      line?.done();
      if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
      else if (opts.quiet) process.stdout.write(formatFsckReport({ ...report, findings: [] }));
      else process.stdout.write(formatFsckReport(report));
      process.exitCode = report.ok ? 0 : 1;
    });
}
