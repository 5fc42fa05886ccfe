// `wharf catalog HOST`: the repositories of a registry (RegistryClient.catalog), one per line or as JSON.
import type { Command } from 'commander';
import { verb, runVerb, parseHost, printLines, printJson, type CommonOptions } from '../context.js';

export function catalogCommand(): Command {
  return verb('catalog', 'list the repositories of a registry, one per line in the order the registry gives (every page, following Link)', {
    json: true,
    examples: ['wharf catalog 127.0.0.1:5000', 'wharf catalog --json localhost:5000', 'wharf catalog --insecure registry.lan:5000'],
  })
    .argument('<host>', 'HOST[:PORT] of the registry')
    .action(async (input: string, opts: CommonOptions) => {
      await runVerb('catalog', opts, async (ctx) => {
        const registry = parseHost(input);
        ctx.subject = { kind: 'catalog', registry };
        const client = await ctx.client(registry);
        const repositories = await client.catalog().collect();
        if (opts.json) printJson({ repositories });
        else printLines(repositories);
      });
    });
}
