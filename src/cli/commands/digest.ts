// `wharf digest REF`: the digest a reference resolves to (RegistryClient.headManifest); for a multi-platform
// tag, the digest of the index.
import type { Command } from 'commander';
import { manifestReference } from '../../client/reference.js';
import { verb, runVerb, parseRef, printLines, manifestNotFound, type CommonOptions } from '../context.js';

export function digestCommand(): Command {
  return verb('digest', 'print the digest of the manifest (or index) a reference resolves to', {
    examples: ['wharf digest 127.0.0.1:5000/demo/app:latest', 'wharf digest ghcr.io/org/app:1.0', 'wharf digest 127.0.0.1:5000/demo/app   # the "latest" tag'],
  })
    .argument('<reference>', 'HOST/REPO[:TAG][@DIGEST] (tag default: latest)')
    .action(async (input: string, opts: CommonOptions) => {
      await runVerb('digest', opts, async (ctx) => {
        const ref = parseRef(input);
        ctx.subject = { kind: 'manifest', ref };
        const client = await ctx.client(ref.registry);
        const info = await client.headManifest(ref.repository, manifestReference(ref));
        if (!info) throw manifestNotFound(ref);
        printLines([info.digest]);
      });
    });
}

