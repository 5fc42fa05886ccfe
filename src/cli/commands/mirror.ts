// `wharf mirror FILE.yaml` (ops/mirror.ts `parseMirrorConfig` + `mirror`): copy the repositories and tags a
// YAML file lists (docs/mirror.md) from their sources to their targets, skipping what is up to date, and
// print a summary table. Exit 1 when any image failed (the others are still copied).
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { verb, runVerb, printJson, printLines, info, parseCount, UsageError, FailedError, type CommonOptions } from '../context.js';
import { progressFor, formatBytes } from '../progress.js';
import { table } from './inspect.js';
import type { MirrorConfig, MirrorEntry } from '../../client/ops/mirror.js';

function selection(e: MirrorEntry): string {
  const tags = e.tags ? e.tags.join(',') : e.tagPattern ? `/${e.tagPattern.source}/` : 'all tags';
  const platforms = e.platforms ? ` platforms ${e.platforms.map((p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`).join(',')}` : '';
  return `${tags}${platforms}${e.referrers ? ' +referrers' : ''}`;
}

function planRows(config: MirrorConfig): string[] {
  return table([['SOURCE', 'TARGET', 'TAGS'], ...config.mirrors.map((e) => [e.source, e.target, selection(e)])]);
}

export function mirrorCommand(): Command {
  return verb('mirror', 'copy the repositories and tags a YAML file lists into other registries, skipping what is up to date', {
    json: true,
    examples: ['wharf mirror examples/mirror/mirror.yaml', 'wharf mirror mirror.yaml --dry-run', 'wharf mirror --json --concurrency 8 mirror.yaml > summary.json'],
  })
    .argument('<file>', 'the mirror file (YAML, see docs/mirror.md)')
    .addOption(new Option('--dry-run', 'check the file and print what it would mirror; copy nothing'))
    .addOption(new Option('--concurrency <n>', "blobs moved at once per image (default: the file's concurrency, else 4)"))
    .addOption(new Option('--progress', 'print progress lines even when stderr is not a terminal'))
    .action(async (file: string, opts: CommonOptions & { dryRun?: boolean; concurrency?: string; progress?: boolean }) => {
      await runVerb('mirror', opts, async (ctx) => {
        const concurrency = parseCount(opts.concurrency, '--concurrency');
        const { parseMirrorConfig, mirror, MirrorConfigError } = await import('../../client/ops/mirror.js');
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (e) {
          throw new FailedError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        let config: MirrorConfig;
        try {
          config = parseMirrorConfig(text);
        } catch (e) {
          if (e instanceof MirrorConfigError) throw new UsageError(`${file}: ${e.message}`);
          throw e;
        }
        if (opts.dryRun) {
          if (opts.json) return printJson({ concurrency: concurrency ?? config.concurrency, mirrors: config.mirrors.map((e) => ({ source: e.source, target: e.target, selection: selection(e) })) });
          return printLines(planRows(config));
        }
        const progress = progressFor(opts);
        let summary;
        try {
          summary = await mirror(config, {
            clientFor: await ctx.clientFactory(),
            ...(concurrency !== undefined ? { concurrency } : {}),
            ...(progress ? { onEvent: (e) => progress.onEvent(e) } : {}),
          });
        } finally {
          progress?.stop();
        }
        if (opts.json) printJson(summary);
        else {
          const rows = [['SOURCE', 'TARGET', 'STATUS', 'DIGEST', 'COPIED']];
          for (const r of summary.images) rows.push([r.source, r.target, r.status, r.digest ?? '-', r.status === 'copied' ? `${r.blobsCopied} blobs (${formatBytes(r.bytesCopied)}), ${r.blobsMounted} mounted` : '-']);
          printLines(table(rows));
          info(opts, `${summary.copied} copied, ${summary.upToDate} up to date, ${summary.failed} failed; ${summary.blobsCopied} blobs copied (${formatBytes(summary.bytesCopied)}), ${summary.blobsMounted} mounted`);
        }
        if (summary.failed > 0) {
          for (const r of summary.images.filter((i) => i.status === 'failed')) process.stderr.write(`wharf mirror: ${r.source}: ${r.error ?? 'failed'}\n`);
          process.exitCode = 1;
        }
      });
    });
}
