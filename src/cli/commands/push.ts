// `wharf push DIR|oci:DIR[:TAG]|oci-archive:FILE[:TAG] HOST/REPO[:TAG]`: an image from an OCI layout to a
// registry (ops/copy.ts `copy`, as `wharf cp` with a layout as the source).
import type { Command } from 'commander';
import { verb, runVerb } from '../context.js';
import { transfer, withTransferOptions, layoutSpec, type TransferFlags } from './cp.js';

export function pushCommand(): Command {
  const cmd = verb('push', 'push an image from an OCI layout directory (or archive) to a registry', {
    json: true,
    examples: [
      'wharf push ./app-layout 127.0.0.1:5000/demo/app:v1   # the layout\'s v1 (or its only image)',
      'wharf push oci:./layout:latest 127.0.0.1:5000/demo/app:latest',
      'wharf push oci-archive:./app.tar registry.lan:5000/team/app:v1 --insecure --json',
    ],
  })
    .argument('<layout>', 'DIR, oci:DIR[:TAG] or oci-archive:FILE[:TAG] (no TAG: the target tag if the layout has it, else its only image)')
    .argument('<reference>', 'HOST/REPO[:TAG] to push to (default: the layout tag)');
  return withTransferOptions(cmd).action(async (layout: string, reference: string, opts: TransferFlags) => {
    await runVerb('push', opts, async (ctx) => {
      await transfer(ctx, layoutSpec(layout), reference, opts);
    });
  });
}
