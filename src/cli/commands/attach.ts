// `wharf attach REF --artifact-type T FILE...` (ops/artifact.ts `attach`): push files as an artifact whose
// `subject` is the manifest REF resolves to — a signature, SBOM or attestation that `wharf referrers` lists.
import { Command, Option } from 'commander';
import { verb, runVerb, printJson, printLines, info, parseKeyValues, collect, type CommonOptions } from '../context.js';
import { parseArtifactFile, withProgress, type ArtifactPushFlags } from './artifact.js';

export function attachCommand(): Command {
  return verb('attach', 'attach files to an image as an artifact that refers to it (its subject)', {
    json: true,
    examples: [
      'wharf attach 127.0.0.1:5000/demo/app:v1 --artifact-type application/vnd.example.sbom sbom.json',
      'wharf attach 127.0.0.1:5000/demo/app@sha256:… --artifact-type application/vnd.example.sig sig.bin:application/octet-stream',
    ],
  })
    .argument('<reference>', 'HOST/REPO[:TAG|@DIGEST] (tag default: latest) or oci:DIR:REF: the subject')
    .argument('<files...>', 'FILE or FILE:MEDIATYPE')
    .addOption(new Option('--artifact-type <type>', "the artifact's type, a media type").makeOptionMandatory())
    .addOption(new Option('--annotation <key=value>', 'a manifest annotation (repeatable)').argParser(collect))
    .addOption(new Option('--progress', 'print progress lines even when stderr is not a terminal'))
    .action(async (input: string, files: string[], opts: ArtifactPushFlags) => {
      await runVerb('attach', opts, async (ctx) => {
        const annotations = parseKeyValues(opts.annotation, '--annotation');
        const inputs = files.map(parseArtifactFile);
        const { attach } = await import('../../client/ops/artifact.js');
        const { store, reference } = await ctx.openStore(input, 'any');
        const descriptor = await withProgress(opts, (onEvent) =>
          attach(store, reference, { files: inputs, artifactType: opts.artifactType!, ...(annotations ? { annotations } : {}), ...(onEvent ? { onEvent } : {}) }),
        );
        await store.close();
        if (opts.json) return printJson({ digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size, artifactType: opts.artifactType, subject: reference });
        printLines([descriptor.digest]);
        info(opts, `attached ${inputs.length} file${inputs.length === 1 ? '' : 's'} to ${store.name}:${reference} as ${opts.artifactType}`);
      });
    });
}
