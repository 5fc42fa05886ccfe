// `wharf manifest get REF` (RegistryClient.getManifest: the bytes as served, to stdout),
// `wharf manifest put REF FILE|-` (RegistryClient.putManifest: the bytes as given; prints the digest) and
// `wharf manifest delete REF` (RegistryClient.deleteManifest: by digest, or by tag where the registry allows it).
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { manifestReference, formatReference } from '../../client/reference.js';
import { verb, group, runVerb, parseRef, info, printJson, printLines, UsageError, FailedError, type CommonOptions } from '../context.js';
import { readStdinBytes } from '../prompt.js';

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
  const put = verb('put', 'store a manifest or index, byte for byte, under a tag or digest, and print its digest', {
    fullName: 'manifest put',
    json: true,
    examples: [
      'wharf manifest put 127.0.0.1:5000/demo/app:v2 manifest.json',
      'wharf manifest get 127.0.0.1:5000/demo/app:v1 | wharf manifest put 127.0.0.1:5000/demo/copy:v1 -',
      'wharf manifest put --media-type application/vnd.docker.distribution.manifest.v2+json 127.0.0.1:5000/demo/app:v3 m.json',
    ],
  })
    .argument('<reference>', 'HOST/REPO:TAG or HOST/REPO@DIGEST')
    .argument('<file>', "a file, or '-' for stdin")
    .addOption(new Option('--media-type <type>', "Content-Type to send (default: the document's mediaType, else inferred)"))
    .action(async (input: string, file: string, opts: CommonOptions & { mediaType?: string }) => {
      await runVerb('manifest put', opts, async (ctx) => {
        const ref = parseRef(input, { tagOrDigest: true });
        ctx.subject = { kind: 'manifest', ref };
        let bytes: Buffer;
        if (file === '-') {
          if (process.stdin.isTTY) throw new UsageError("'-' reads the manifest from stdin, which is a terminal: pipe it in");
          bytes = await readStdinBytes();
        } else {
          try {
            bytes = readFileSync(file);
          } catch (e) {
            throw new FailedError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          }
        }
        if (bytes.length === 0) throw new UsageError(`${file === '-' ? 'stdin' : file} is empty: give a manifest (JSON)`);
        const client = await ctx.client(ref.registry);
        const r = await client.putManifest(ref.repository, manifestReference(ref), bytes, opts.mediaType ? { mediaType: opts.mediaType } : {});
        if (opts.json) printJson({ digest: r.digest, size: bytes.length, tags: r.tags, subject: r.subject ?? null });
        else {
          printLines([r.digest]);
          info(opts, `stored ${formatReference({ ...ref, digest: undefined })}${ref.tag === undefined ? `@${r.digest}` : ''}`);
        }
      });
    });
  return group('manifest', 'get, put or delete a manifest')
    .addCommand(get)
    .addCommand(put)
    .addCommand(del)
    .addHelpText('after', '\nExamples:\n  wharf manifest get 127.0.0.1:5000/demo/app:latest\n  wharf manifest put 127.0.0.1:5000/demo/app:v2 manifest.json\n  wharf manifest delete 127.0.0.1:5000/demo/app@sha256:…\n');
}
