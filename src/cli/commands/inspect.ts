// `wharf inspect REF` (ops/inspect.ts `inspect`): what a reference names — digest, media type, size, the
// platforms of an index, the config and layers of an image — as a readable summary or as JSON.
import { Command, Option } from 'commander';
import { verb, runVerb, printJson, parsePlatformArg, UsageError, type CommonOptions } from '../context.js';
import { formatBytes } from '../progress.js';
import type { InspectResult } from '../../client/ops/inspect.js';

function platformText(p: { os: string; architecture: string; variant?: string; 'os.version'?: string } | undefined): string {
  if (!p) return '-';
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}${p['os.version'] ? ` (${p['os.version']})` : ''}`;
}

/** Rows as columns, padded to the widest cell, two spaces apart. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** The human view of an InspectResult. */
export function inspectText(name: string, r: InspectResult): string[] {
  const out: string[] = [];
  const field = (k: string, v: string) => out.push(`${(k + ':').padEnd(14)}${v}`);
  field('Reference', name);
  if (r.index) field('Index', `${r.index.digest} (this is its ${platformText(r.config?.platform)} image)`);
  field('Digest', r.digest);
  field('Media type', r.mediaType);
  field('Size', `${r.size} B`);
  if (r.artifactType) field('Artifact type', r.artifactType);
  if (r.subject) field('Subject', r.subject.digest);
  if (r.config) {
    field('Config', `${r.config.digest} (${formatBytes(r.config.size)})`);
    if (r.config.platform) field('Platform', platformText(r.config.platform));
    if (r.config.created) field('Created', r.config.created);
  }
  for (const [k, v] of Object.entries(r.annotations ?? {})) field('Annotation', `${k}=${v}`);
  if (r.kind === 'index') {
    out.push('', `Platforms (${r.platforms.length}):`);
    if (r.platforms.length) {
      const rows = [['  PLATFORM', 'DIGEST', 'SIZE', 'MEDIA TYPE']];
      for (const p of r.platforms) rows.push([`  ${p.platform ? platformText(p.platform) : p.artifactType ?? '-'}`, p.digest, formatBytes(p.size), p.mediaType]);
      out.push(...table(rows));
    }
  } else {
    out.push('', `Layers (${r.layers.length}, ${formatBytes(r.layersSize)}):`);
    if (r.layers.length) {
      const rows = [['  DIGEST', 'SIZE', 'MEDIA TYPE']];
      for (const l of r.layers) rows.push([`  ${l.digest}`, formatBytes(l.size), l.mediaType]);
      out.push(...table(rows));
    }
  }
  return out;
}

export function inspectCommand(): Command {
  return verb('inspect', 'show what a reference names: digest, media type, size, platforms, config and layers (reads no layer)', {
    json: true,
    examples: [
      'wharf inspect 127.0.0.1:5000/demo/app:v1',
      'wharf inspect 127.0.0.1:5000/demo/app:multi --platform linux/arm64',
      'wharf inspect --json oci:./layout:v1 | jq .layers',
    ],
  })
    .argument('<reference>', 'HOST/REPO[:TAG|@DIGEST] (tag default: latest), oci:DIR[:REF] or oci-archive:FILE[:REF]')
    .addOption(new Option('--platform <os/arch[/variant]>', 'for an index: inspect the image for this platform'))
    .action(async (input: string, opts: CommonOptions & { platform?: string }) => {
      await runVerb('inspect', opts, async (ctx) => {
        const platform = opts.platform !== undefined ? await parsePlatformArg(opts.platform) : undefined;
        const { inspect } = await import('../../client/ops/inspect.js');
        const loc = await ctx.open(input, 'source');
        let reference = loc.reference;
        if (reference === undefined) {
          // A layout or archive without a ref: its only tagged image.
          const tags = await loc.store.tags();
          if (tags.length !== 1) throw new UsageError(`${JSON.stringify(input)} names no image${tags.length ? ` (tags: ${tags.slice(0, 10).join(', ')})` : ''}; give ${input}:TAG`);
          reference = tags[0]!;
        }
        const r = await inspect(loc.store, reference, platform ? { platform } : {});
        if (opts.json) {
          const { digest, mediaType, size, config, layers, platforms, ...rest } = r;
          printJson({ digest, mediaType, size, config: config ?? null, layers, platforms, ...rest });
          return;
        }
        const shown = `${loc.store.name}${loc.kind === 'registry' && reference.includes(':') ? '@' : ':'}${reference}`;
        process.stdout.write(inspectText(shown, r).join('\n') + '\n');
      });
    });
}
