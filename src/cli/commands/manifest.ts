// `wharf manifest get REF` (RegistryClient.getManifest: the bytes as served, to stdout) and
// `wharf manifest delete REF` (RegistryClient.deleteManifest: by digest, or by tag where the registry allows it).
import { Command } from 'commander';
import { manifestReference, formatReference } from '../../client/reference.js';
import { verb, group, runVerb, parseRef, info, type CommonOptions } from '../context.js';

export function manifestCommand(): Command {
  const get = verb('get', 'write the manifest a reference resolves to, byte for byte, to stdout', {
    fullName: 'manifest get',
    examples: ['wharf manifest get 127.0.0.1:5000/demo/app:latest', 'wharf manifest get 127.0.0.1:5000/demo/app@sha256:… > manifest.json', 'wharf manifest get ghcr.io/org/app:1.0 | jq .'],
  })
    .argument('<reference>', 'HOST/REPO[:TAG][@DIGEST] (tag default: latest)')
    .action(async (input: string, opts: CommonOptions) => {
      await runVerb('manifest get', opts, async (ctx) => {
        const ref = parseRef(input);
        ctx.subject = { kind: 'manifest', ref };
        const client = await ctx.client(ref.registry);
        const m = await client.getManifest(ref.repository, manifestReference(ref));
        process.stdout.write(m.bytes);
      });
    });
  const del = verb('delete', 'delete a manifest by digest, or a tag where the registry deletes tags (Wharf does, Distribution 2.8 does not)', {
    fullName: 'manifest delete',
    examples: ['wharf manifest delete 127.0.0.1:5000/demo/app@sha256:…', 'wharf manifest delete 127.0.0.1:5000/demo/app:old', "wharf rm 127.0.0.1:5000/demo/app:old   # resolve the tag, delete by digest"],
  })
    .argument('<reference>', 'HOST/REPO@DIGEST or HOST/REPO:TAG')
    .action(async (input: string, opts: CommonOptions) => {
      await runVerb('manifest delete', opts, async (ctx) => {
        const ref = parseRef(input, { tagOrDigest: true });
        ctx.subject = { kind: 'manifest', ref, deleteByTag: ref.digest === undefined };
        const client = await ctx.client(ref.registry);
        await client.deleteManifest(ref.repository, manifestReference(ref));
        info(opts, `deleted ${formatReference(ref)}`);
      });
    });
  return group('manifest', 'get or delete a manifest')
    .addCommand(get)
    .addCommand(del)
    .addHelpText('after', '\nExamples:\n  wharf manifest get 127.0.0.1:5000/demo/app:latest\n  wharf manifest delete 127.0.0.1:5000/demo/app@sha256:…\n');
}
