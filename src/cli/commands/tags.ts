// `wharf tags HOST/REPO`: the tags of a repository (RegistryClient.listTags), one per line or as JSON.
import type { Command } from 'commander';
import { verb, runVerb, parseRef, printLines, printJson, type CommonOptions } from '../context.js';

export function tagsCommand(): Command {
  return verb('tags', 'list the tags of a repository, one per line in the order the registry gives (every page, following Link)', {
    json: true,
    examples: ['wharf tags 127.0.0.1:5000/demo/app', 'wharf tags --json ghcr.io/org/app', 'wharf tags --insecure registry.lan:5000/team/app'],
  })
    .argument('<repository>', 'HOST/REPO (no tag or digest)')
    .action(async (input: string, opts: CommonOptions) => {
      await runVerb('tags', opts, async (ctx) => {
        const ref = parseRef(input, { tag: 'forbidden', digest: 'forbidden' });
        ctx.subject = { kind: 'repository', ref };
        const client = await ctx.client(ref.registry);
        const tags = await client.listTags(ref.repository).collect();
        if (opts.json) printJson({ name: ref.repository, tags });
        else printLines(tags);
      });
    });
}
