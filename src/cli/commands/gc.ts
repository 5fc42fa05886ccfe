// `wharf gc`: one pass of garbage collection and upload purging against the storage and metadata a server uses
// (the same --config/--data/--storage/--metadata as serve), safe while that server runs and beside other
// `wharf gc` processes. --dry-run reports exactly what a real run would delete; --json prints the report.
import { Command, Option } from 'commander';
import type { Overrides } from '../../config/load.js';
import { addServerOptions } from '../server-options.js';

interface GcOptions extends Overrides {
  grace?: string;
  uploadMaxAge?: string;
  dryRun?: boolean;
  json?: boolean;
}

function mebibytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export function gcCommand(): Command {
  return addServerOptions(new Command('gc'))
    .description('reclaim blobs no manifest references and purge abandoned uploads (online: a server may be running)')
    .addOption(new Option('--grace <duration>', 'keep blobs and repository links younger than this (config gc.grace; default 1h; 0 allowed)'))
    .addOption(new Option('--upload-max-age <duration>', 'purge upload sessions older than this (config gc.uploadMaxAge; default 24h)'))
    .addOption(new Option('--dry-run', 'report what would be deleted, delete nothing'))
    .addOption(new Option('--json', 'print the report as JSON (digests, bytes reclaimed)'))
    .addHelpText(
      'after',
      '\nExamples:\n  wharf gc --data /var/lib/wharf --dry-run\n  wharf gc --config /etc/wharf/config.yaml --json\n  wharf gc --metadata postgres://wharf@db/wharf --storage s3://bucket/wharf --grace 2h\n',
    )
    .action(async (opts: GcOptions) => {
      const { grace, uploadMaxAge, dryRun, json, ...flags } = opts;
      const { loadConfig, ConfigError } = await import('../../config/load.js');
      const { parseDuration, formatDuration, DurationError } = await import('../../gc/duration.js');
      let config;
      let graceMs: number;
      let uploadMaxAgeMs: number;
      try {
        config = loadConfig(flags);
        graceMs = parseDuration(grace ?? config.gc.grace);
        uploadMaxAgeMs = parseDuration(uploadMaxAge ?? config.gc.uploadMaxAge);
      } catch (e) {
        if (e instanceof ConfigError || e instanceof DurationError) {
          process.stderr.write(`wharf gc: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      const { openAdminStores } = await import('../../admin/open.js');
      const { GarbageCollector } = await import('../../gc/collector.js');
      const { purgeUploads } = await import('../../gc/upload-purger.js');
      const stores = await openAdminStores(config);
      const { storage, metadata } = stores.registry;
      try {
        const uploads = await purgeUploads(storage, metadata, { maxAgeMs: uploadMaxAgeMs, dryRun: dryRun ?? false });
        const blobs = await new GarbageCollector(storage, metadata).collect({ graceMs, dryRun: dryRun ?? false });
        if (json) {
          process.stdout.write(
            JSON.stringify({
              dryRun: dryRun ?? false,
              grace: formatDuration(graceMs),
              uploadMaxAge: formatDuration(uploadMaxAgeMs),
              links: blobs.links.map((l) => ({ repository: l.repository, digest: l.digest, size: l.size })),
              blobs: blobs.blobs,
              bytesReclaimed: blobs.bytesReclaimed,
              uploads: uploads.uploads.map((u) => ({ id: u.id, repository: u.repository, createdAt: new Date(u.createdAt).toISOString() })),
              orphanedUploadBytes: uploads.orphans,
              uploadBytesReclaimed: uploads.bytes,
            }) + '\n',
          );
          return;
        }
        const verb = dryRun ? 'would delete' : 'deleted';
        const lines = [
          ...blobs.blobs.map((b) => `blob ${b.digest} (${mebibytes(b.size)})`),
          ...blobs.links.map((l) => `link ${l.repository}@${l.digest}`),
          ...uploads.uploads.map((u) => `upload ${u.id} in ${u.repository} (started ${new Date(u.createdAt).toISOString()})`),
          ...uploads.orphans.map((id) => `upload bytes ${id} (no session)`),
        ];
        for (const line of lines) process.stdout.write(`${dryRun ? 'would delete ' : 'deleted '}${line}\n`);
        process.stdout.write(
          `${dryRun ? 'dry run: ' : ''}${verb} ${blobs.blobs.length} blob(s), ${mebibytes(blobs.bytesReclaimed)}; ` +
            `${blobs.links.length} unreferenced repository link(s); ` +
            `${uploads.uploads.length + uploads.orphans.length} abandoned upload(s), ${mebibytes(uploads.bytes)} ` +
            `(grace ${formatDuration(graceMs)}, uploads older than ${formatDuration(uploadMaxAgeMs)})\n`,
        );
      } finally {
        await stores.close();
      }
    });
}
