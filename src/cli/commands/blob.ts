// `wharf blob get HOST/REPO@DIGEST [-o FILE]` (RegistryClient.getBlob: streamed, digest-verified) and
// `wharf blob delete HOST/REPO@DIGEST` (RegistryClient.deleteBlob).
import { Command, Option } from 'commander';
import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { dirname, basename, join } from 'node:path';
import { formatReference } from '../../client/reference.js';
import { verb, group, runVerb, parseRef, info, type CommonOptions } from '../context.js';

export function blobCommand(): Command {
  const get = verb('get', 'download a blob (verified against its digest) to stdout or a file', {
    fullName: 'blob get',
    examples: ['wharf blob get 127.0.0.1:5000/demo/app@sha256:… > layer.tar.gz', 'wharf blob get 127.0.0.1:5000/demo/app@sha256:… -o layer.tar.gz'],
  })
    .argument('<reference>', 'HOST/REPO@DIGEST')
    .addOption(new Option('-o, --output <file>', 'write to FILE (through a temporary file, renamed once the digest is verified)'))
    .action(async (input: string, opts: CommonOptions & { output?: string }) => {
      await runVerb('blob get', opts, async (ctx) => {
        const ref = parseRef(input, { tag: 'forbidden', digest: 'required' });
        ctx.subject = { kind: 'blob', ref };
        const client = await ctx.client(ref.registry);
        const blob = await client.getBlob(ref.repository, ref.digest!);
        if (opts.output) {
          const tmp = join(dirname(opts.output), `.${basename(opts.output)}.wharf-${process.pid}.part`);
          try {
            await pipeline(blob, createWriteStream(tmp));
            renameSync(tmp, opts.output);
          } catch (e) {
            rmSync(tmp, { force: true });
            throw e;
          }
          info(opts, `wrote ${formatReference(ref)} to ${opts.output}`);
        } else {
          // The digest is checked at the end of the stream: a mismatch is an error after the bytes went out.
          // A reader that goes away (`| head`) ends the download instead of crashing on EPIPE.
          const closed = (e: Error) => blob.destroy(e);
          process.stdout.once('error', closed);
          try {
            for await (const chunk of blob) {
              if (!process.stdout.write(chunk as Buffer)) await once(process.stdout, 'drain');
            }
          } finally {
            process.stdout.off('error', closed);
          }
        }
      });
    });
  const del = verb('delete', 'delete a blob from a repository', {
    fullName: 'blob delete',
    examples: ['wharf blob delete 127.0.0.1:5000/demo/app@sha256:…'],
  })
    .argument('<reference>', 'HOST/REPO@DIGEST')
    .action(async (input: string, opts: CommonOptions) => {
      await runVerb('blob delete', opts, async (ctx) => {
        const ref = parseRef(input, { tag: 'forbidden', digest: 'required' });
        ctx.subject = { kind: 'blob', ref };
        const client = await ctx.client(ref.registry);
        await client.deleteBlob(ref.repository, ref.digest!);
        info(opts, `deleted ${formatReference(ref)}`);
      });
    });
  return group('blob', 'download or delete a blob')
    .addCommand(get)
    .addCommand(del)
    .addHelpText('after', '\nExamples:\n  wharf blob get 127.0.0.1:5000/demo/app@sha256:… -o layer.tar.gz\n  wharf blob delete 127.0.0.1:5000/demo/app@sha256:…\n');
}
