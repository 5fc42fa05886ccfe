// `wharf pull HOST/REPO[:TAG|@DIGEST] DIR|oci:DIR[:TAG]|oci-archive:FILE[:TAG]`: an image from a registry
// into an OCI layout (ops/copy.ts `copy`, as `wharf cp` with a layout as the target), readable by skopeo and umoci.
import type { Command } from 'commander';
import { verb, runVerb } from '../context.js';
import { transfer, withTransferOptions, layoutSpec, type TransferFlags } from './cp.js';

export function pullCommand(): Command {
  const cmd = verb('pull', 'pull an image from a registry into an OCI layout directory (or archive)', {
    json: true,
    examples: [
      'wharf pull 127.0.0.1:5000/demo/app:v1 ./app-layout   # tagged v1 in index.json',
      'wharf pull 127.0.0.1:5000/demo/app:multi oci:./layout:multi --platform linux/arm64',
      'wharf pull registry.lan:5000/team/app@sha256:… oci-archive:./app.tar:v1 --insecure',
    ],
  })
    .argument('<reference>', 'HOST/REPO[:TAG|@DIGEST] (tag default: latest)')
    .argument('<layout>', 'DIR, oci:DIR[:TAG] or oci-archive:FILE[:TAG] (created when missing; default tag: the source tag)');
  return withTransferOptions(cmd).action(async (reference: string, layout: string, opts: TransferFlags) => {
    await runVerb('pull', opts, async (ctx) => {
      await transfer(ctx, reference, layoutSpec(layout), opts);
    });
  });
}
