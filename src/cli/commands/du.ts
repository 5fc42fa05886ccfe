// `wharf du HOST[/REPO]` (client/ops/history.ts): storage a Wharf registry's repositories use — per repository
// the logical, deduplicated and stored bytes and the quota, or every repository and the registry's totals.
import type { Command } from 'commander';
import { verb, runVerb, parseHost, parseRef, printJson, printLines, type CommonOptions } from '../context.js';
import { explained } from './tag-history.js';

function human(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function duCommand(): Command {
  return verb('du', 'show the storage used by a repository (or, as an admin, by every repository) of a Wharf registry', {
    json: true,
    examples: ['wharf du 127.0.0.1:5000/demo/app', 'wharf du 127.0.0.1:5000            # every repository (admins)', 'wharf du --json registry.lan:5000/team/app'],
  })
    .argument('<target>', 'HOST[:PORT] for every repository, or HOST/REPO for one')
    .action(async (input: string, opts: CommonOptions) => {
      await runVerb('du', opts, async (ctx) => {
        const ops = await import('../../client/ops/history.js');
        const oneRepository = input.replace(/^https?:\/\//, '').includes('/');
        if (oneRepository) {
          const ref = parseRef(input, { tag: 'forbidden', digest: 'forbidden' });
          ctx.subject = { kind: 'repository', ref };
          const u = await explained(ops.repositoryUsage(await ctx.client(ref.registry), ref.repository));
          if (opts.json) return printJson(u);
          const quota = u.quota ? `  quota ${human(u.quota.maxBytes)} (${Math.round((u.storedBytes / u.quota.maxBytes) * 100)}% used)` : '';
          printLines([`${human(u.storedBytes)} stored  ${human(u.uniqueBytes)} unique  ${human(u.logicalBytes)} logical  ${u.manifests} manifests  ${u.tags} tags  ${u.repository}${quota}`]);
          return;
        }
        const registry = parseHost(input);
        ctx.subject = { kind: 'repository', registry };
        const all = await explained(ops.registryUsage(await ctx.client(registry)));
        if (opts.json) return printJson(all);
        printLines([
          ...all.repositories.map((u) => `${human(u.storedBytes).padStart(10)}  ${human(u.uniqueBytes).padStart(10)}  ${human(u.logicalBytes).padStart(10)}  ${u.repository}`),
          `${human(all.total.uniqueBytes).padStart(10)}  total, each blob once (${all.total.blobs} blobs, ${all.total.manifests} manifests)`,
        ]);
      });
    });
}
