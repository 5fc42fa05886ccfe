// `wharf artifact push REF FILE[:MEDIATYPE]... --artifact-type T` (ops/artifact.ts `pushArtifact`: any files
// as an OCI 1.1 artifact, like `oras push`) and `wharf artifact pull REF [-o DIR]` (`pullArtifact`: each
// titled layer back to a file).
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { verb, group, runVerb, printJson, printLines, info, parseKeyValues, collect, UsageError, FailedError, type CommonOptions } from '../context.js';
import type { ArtifactFile } from '../../client/ops/artifact.js';
import type { OnEvent } from '../../client/ops/events.js';
import { progressFor } from '../progress.js';

/**
 * `FILE[:MEDIATYPE]`: the media type is what follows the last `:` when it has a `/` (`sbom.json:application/spdx+json`);
 * the file must be a regular file.
 */
export function parseArtifactFile(input: string): ArtifactFile {
  let path = input;
  let mediaType: string | undefined;
  const colon = input.lastIndexOf(':');
  if (colon > 0 && input.slice(colon + 1).includes('/')) {
    path = input.slice(0, colon);
    mediaType = input.slice(colon + 1);
  }
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    throw new FailedError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!isFile) throw new UsageError(`${path} is not a regular file (an artifact stores files; tar a directory first)`);
  return mediaType ? { path, mediaType, title: basename(path) } : { path, title: basename(path) };
}

export interface ArtifactPushFlags extends CommonOptions {
  artifactType?: string;
  annotation?: string[];
  progress?: boolean;
}

/** Runs an artifact upload with the progress renderer the flags ask for (bars on a terminal). */
export async function withProgress<T>(flags: ArtifactPushFlags, run: (onEvent: OnEvent | undefined) => Promise<T>): Promise<T> {
  const progress = progressFor(flags);
  try {
    return await run(progress ? (e) => progress.onEvent(e) : undefined);
  } finally {
    progress?.stop();
  }
}

export function artifactCommand(): Command {
  const push = verb('push', 'push files as an OCI artifact (one layer per file, titled with its name)', {
    fullName: 'artifact push',
    json: true,
    examples: [
      'wharf artifact push 127.0.0.1:5000/demo/sbom:v1 sbom.json:application/spdx+json --artifact-type application/vnd.example.sbom',
      'wharf artifact push 127.0.0.1:5000/demo/config:v1 a.yaml b.yaml --artifact-type application/vnd.example.config --annotation team=infra',
      'wharf artifact push oci:./artifacts:notes notes.txt --artifact-type text/plain',
    ],
  })
    .argument('<reference>', 'HOST/REPO:TAG or oci:DIR:TAG')
    .argument('<files...>', 'FILE or FILE:MEDIATYPE (default application/octet-stream)')
    .addOption(new Option('--artifact-type <type>', "the artifact's type, a media type").makeOptionMandatory())
    .addOption(new Option('--annotation <key=value>', 'a manifest annotation (repeatable)').argParser(collect))
    .addOption(new Option('--progress', 'print progress lines even when stderr is not a terminal'))
    .action(async (input: string, files: string[], opts: ArtifactPushFlags) => {
      await runVerb('artifact push', opts, async (ctx) => {
        const annotations = parseKeyValues(opts.annotation, '--annotation');
        const inputs = files.map(parseArtifactFile);
        const { pushArtifact } = await import('../../client/ops/artifact.js');
        const { store, reference } = await ctx.openStore(input, 'tag');
        const descriptor = await withProgress(opts, (onEvent) =>
          pushArtifact(store, { files: inputs, artifactType: opts.artifactType!, tag: reference, ...(annotations ? { annotations } : {}), ...(onEvent ? { onEvent } : {}) }),
        );
        await store.close();
        if (opts.json) return printJson({ digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size, artifactType: opts.artifactType, tag: reference, files: inputs.map((f) => f.title) });
        printLines([descriptor.digest]);
        info(opts, `pushed ${inputs.length} file${inputs.length === 1 ? '' : 's'} to ${store.name}:${reference} as ${opts.artifactType}`);
      });
    });

  const pull = verb('pull', "pull an artifact's files (its titled layers) into a directory", {
    fullName: 'artifact pull',
    json: true,
    examples: ['wharf artifact pull 127.0.0.1:5000/demo/sbom:v1', 'wharf artifact pull 127.0.0.1:5000/demo/config:v1 -o ./config --overwrite', 'wharf artifact pull --json oci:./artifacts:notes -o out'],
  })
    .argument('<reference>', 'HOST/REPO[:TAG|@DIGEST] or oci:DIR:REF')
    .addOption(new Option('-o, --output <dir>', 'directory to write the files to (created when missing)').default('.'))
    .addOption(new Option('--overwrite', 'replace files that exist (default: refuse and write nothing)'))
    .addOption(new Option('--all-layers', 'also write layers without a title, named after their digest'))
    .action(async (input: string, opts: CommonOptions & { output: string; overwrite?: boolean; allLayers?: boolean }) => {
      await runVerb('artifact pull', opts, async (ctx) => {
        const { pullArtifact, FileExistsError } = await import('../../client/ops/artifact.js');
        const loc = await ctx.open(input, 'source');
        if (loc.reference === undefined) throw new UsageError(`${JSON.stringify(input)} names no artifact; give ${input}:TAG`);
        let r;
        try {
          r = await pullArtifact(loc.store, loc.reference, opts.output, { ...(opts.overwrite ? { overwrite: true } : {}), ...(opts.allLayers ? { allLayers: true } : {}) });
        } catch (e) {
          if (e instanceof FileExistsError) throw new FailedError(`${e.path} exists; nothing was written (add --overwrite to replace it, or -o another directory)`);
          throw e;
        }
        if (opts.json) return printJson({ digest: r.descriptor.digest, mediaType: r.descriptor.mediaType, artifactType: r.descriptor.artifactType ?? null, files: r.files });
        printLines(r.files);
        info(opts, `pulled ${r.files.length} file${r.files.length === 1 ? '' : 's'} from ${loc.store.name}@${r.descriptor.digest}`);
      });
    });

  return group('artifact', 'push or pull files as an OCI artifact (like oras)')
    .addCommand(push)
    .addCommand(pull)
    .addHelpText('after', '\nExamples:\n  wharf artifact push 127.0.0.1:5000/demo/sbom:v1 sbom.json --artifact-type application/vnd.example.sbom\n  wharf artifact pull 127.0.0.1:5000/demo/sbom:v1 -o ./out\n');
}
