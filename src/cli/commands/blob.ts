// `wharf blob get HOST/REPO@DIGEST [-o FILE]` (RegistryClient.getBlob: streamed, digest-verified),
// `wharf blob put HOST/REPO FILE|-` (RegistryClient.uploadBlob: prints the digest) and
// `wharf blob delete HOST/REPO@DIGEST` (RegistryClient.deleteBlob).
import { Command, Option } from 'commander';
import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { dirname, basename, join } from 'node:path';
import { formatReference } from '../../client/reference.js';
import { verb, group, runVerb, parseRef, info, printJson, printLines, UsageError, FailedError, type CommonOptions } from '../context.js';

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
  const put = verb('put', 'upload a file (or stdin) as a blob and print its digest (skipped when the repository has it)', {
    fullName: 'blob put',
    json: true,
    examples: ['wharf blob put 127.0.0.1:5000/demo/app layer.tar.gz', 'tar cz src | wharf blob put 127.0.0.1:5000/demo/app -', 'wharf blob put --json 127.0.0.1:5000/demo/app config.json'],
  })
    .argument('<repository>', 'HOST/REPO (no tag or digest)')
    .argument('<file>', "a file, or '-' for stdin")
    .action(async (input: string, file: string, opts: CommonOptions) => {
      await runVerb('blob put', opts, async (ctx) => {
        const ref = parseRef(input, { tag: 'forbidden', digest: 'forbidden' });
        ctx.subject = { kind: 'repository', ref };
        let source: { path: string } | NodeJS.ReadableStream;
        if (file === '-') {
          if (process.stdin.isTTY) throw new UsageError("'-' reads the blob from stdin, which is a terminal: pipe the bytes in");
          source = process.stdin;
        } else {
          try {
            if (!statSync(file).isFile()) throw new UsageError(`${file} is not a regular file`);
          } catch (e) {
            if (e instanceof UsageError) throw e;
            throw new FailedError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          }
          source = { path: file };
        }
        const client = await ctx.client(ref.registry);
        const r = await client.uploadBlob(ref.repository, source as Parameters<typeof client.uploadBlob>[1]);
        if (opts.json) printJson({ digest: r.digest, size: r.size ?? null, existed: r.existed, mounted: r.mounted });
        else printLines([r.digest]);
        if (!opts.json) info(opts, r.existed ? `${ref.registry}/${ref.repository} already had ${r.digest}` : `uploaded ${r.size ?? '?'} bytes to ${ref.registry}/${ref.repository}`);
      });
    });
  return group('blob', 'download, upload or delete a blob')
    .addCommand(get)
    .addCommand(put)
    .addCommand(del)
    .addHelpText('after', '\nExamples:\n  wharf blob get 127.0.0.1:5000/demo/app@sha256:… -o layer.tar.gz\n  wharf blob put 127.0.0.1:5000/demo/app layer.tar.gz\n  wharf blob delete 127.0.0.1:5000/demo/app@sha256:…\n');
}
