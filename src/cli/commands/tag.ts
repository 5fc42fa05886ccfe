// `wharf tag REF NEWTAG...` (ops/tag.ts `tag`): point more tags at the manifest a reference resolves to, in the
// same repository (or layout), without moving any blob.
import type { Command } from 'commander';
import { verb, runVerb, printJson, printLines, info, type CommonOptions } from '../context.js';
import { tagHistoryCommand, tagRollbackCommand } from './tag-history.js';

export function tagCommand(): Command {
  return verb('tag', 'point one or more new tags at the manifest a tag or digest resolves to (same repository or layout)', {
    json: true,
    examples: [
      'wharf tag 127.0.0.1:5000/demo/app:v1.2.3 v1.2 v1 latest',
      'wharf tag 127.0.0.1:5000/demo/app@sha256:… stable',
      'wharf tag oci:./layout:v1 latest',
      'wharf tag history 127.0.0.1:5000/demo/app:latest      # Wharf registries: the moves of a tag',
      'wharf tag rollback 127.0.0.1:5000/demo/app:latest sha256:…',
    ],
  })
    .usage('[options] <reference> <tags...>\n       wharf tag history|rollback [options] <reference> …  (Wharf registries)')
    .addCommand(tagHistoryCommand())
    .addCommand(tagRollbackCommand())
    .argument('<reference>', 'HOST/REPO[:TAG|@DIGEST] or oci:DIR:REF (tag default: latest)')
    .argument('<tags...>', 'new tags (not references: they go in the same repository)')
    .action(async (input: string, tags: string[], opts: CommonOptions) => {
      await runVerb('tag', opts, async (ctx) => {
        const { tag } = await import('../../client/ops/tag.js');
        const { store, reference } = await ctx.openStore(input, 'any');
        const descriptor = await tag(store, reference, tags);
        await store.close();
        if (opts.json) return printJson({ digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size, tags });
        printLines([descriptor.digest]);
        info(opts, `tagged ${store.name}@${descriptor.digest} as ${tags.join(', ')}`);
      });
    });
}
