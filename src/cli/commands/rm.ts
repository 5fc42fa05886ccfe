// `wharf rm REF`: delete the manifest a reference resolves to, by digest (RegistryClient.headManifest to
// resolve a tag, then RegistryClient.deleteManifest). Works where the registry refuses to delete tags.
import type { Command } from 'commander';
import { formatReference } from '../../client/reference.js';
import { verb, runVerb, parseRef, info, manifestNotFound, type CommonOptions } from '../context.js';

export function rmCommand(): Command {
  return verb('rm', 'delete the manifest a tag or digest resolves to (by digest: every tag on it goes too)', {
    examples: ['wharf rm 127.0.0.1:5000/demo/app:old', 'wharf rm 127.0.0.1:5000/demo/app@sha256:…', 'wharf rm -q registry.lan:5000/demo/app:old --insecure'],
  })
    .argument('<reference>', 'HOST/REPO:TAG or HOST/REPO@DIGEST')
    .action(async (input: string, opts: CommonOptions) => {
      await runVerb('rm', opts, async (ctx) => {
        const ref = parseRef(input, { tagOrDigest: true });
        ctx.subject = { kind: 'manifest', ref };
        const client = await ctx.client(ref.registry);
        let digest = ref.digest;
        if (digest === undefined) {
          const found = await client.headManifest(ref.repository, ref.tag!);
          if (!found) throw manifestNotFound(ref);
          digest = found.digest;
        }
        await client.deleteManifest(ref.repository, digest);
        info(opts, `deleted ${formatReference({ registry: ref.registry, repository: ref.repository, digest })}`);
      });
    });
}
