// `wharf referrers REF [--artifact-type T]` (ops/artifact.ts `listReferrers`): the manifests whose subject is
// what REF resolves to (signatures, SBOMs, attestations), through the referrers API or its tag fallback.
import { Command, Option } from 'commander';
import { verb, runVerb, printJson, printLines, UsageError, type CommonOptions } from '../context.js';

export function referrersCommand(): Command {
  return verb('referrers', 'list the artifacts that refer to an image: one "DIGEST ARTIFACT-TYPE" per line', {
    json: true,
    examples: [
      'wharf referrers 127.0.0.1:5000/demo/app:v1',
      'wharf referrers 127.0.0.1:5000/demo/app@sha256:… --artifact-type application/vnd.example.sbom',
      'wharf referrers --json oci:./layout:v1',
    ],
  })
    .argument('<reference>', 'HOST/REPO[:TAG|@DIGEST] (tag default: latest), oci:DIR:REF or oci-archive:FILE:REF')
    .addOption(new Option('--artifact-type <type>', 'only artifacts of this type'))
    .action(async (input: string, opts: CommonOptions & { artifactType?: string }) => {
      await runVerb('referrers', opts, async (ctx) => {
        const { listReferrers } = await import('../../client/ops/artifact.js');
        const loc = await ctx.open(input, 'source');
        if (loc.reference === undefined) throw new UsageError(`${JSON.stringify(input)} names no image; give ${input}:TAG`);
        const r = await listReferrers(loc.store, loc.reference, opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {});
        if (opts.json) return printJson({ subject: r.subject, referrers: r.referrers });
        printLines(r.referrers.map((d) => `${d.digest} ${d.artifactType ?? '-'}`));
      });
    });
}
