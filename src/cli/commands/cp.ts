// `wharf cp SRC DST` (ops/copy.ts `copy`): an image, an index with its children, or one platform of it,
// between registries, OCI layout directories (`oci:DIR[:REF]`) and their tar form (`oci-archive:FILE[:REF]`),
// digests unchanged. `push` and `pull` are the same transfer with a layout on one side (see transfer()).
import { Command, Option } from 'commander';
import { verb, runVerb, printJson, printLines, info, parseCount, parsePlatformArg, UsageError, FailedError, type CommonOptions } from '../context.js';
import type { VerbContext } from '../context.js';
import type { Location } from '../../client/locations.js';
import { progressFor, formatBytes } from '../progress.js';

export interface TransferFlags extends CommonOptions {
  allPlatforms?: boolean;
  platform?: string;
  referrers?: boolean;
  concurrency?: string;
  progress?: boolean;
}

/** The options every transfer verb (cp, push, pull) takes. */
export function withTransferOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--platform <os/arch[/variant]>', 'copy only this platform of a multi-platform image (e.g. linux/arm64)').conflicts('allPlatforms'))
    .addOption(new Option('--all-platforms', 'copy an index with every platform (the default for an index)'))
    .addOption(new Option('--referrers', 'also copy the signatures, SBOMs and other artifacts that refer to what is copied'))
    .addOption(new Option('--concurrency <n>', 'blobs transferred at once (default 4)'))
    .addOption(new Option('--progress', 'print progress lines even when stderr is not a terminal'));
}

function isDigestRef(ref: string): boolean {
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(ref);
}

/**
 * The reference to read from a layout or archive given without one: `preferred` when the layout has that
 * tag, else its only tag; otherwise the user must choose (FailedError listing the tags).
 */
async function sourceReference(loc: Location, spec: string, preferred: string | undefined): Promise<string> {
  if (loc.reference !== undefined) return loc.reference;
  const tags = await loc.store.tags();
  if (preferred !== undefined && tags.includes(preferred)) return preferred;
  if (tags.length === 1) return tags[0]!;
  if (tags.length === 0) throw new FailedError(`${spec} has no tagged image (no org.opencontainers.image.ref.name in index.json); give ${spec}:REF with a digest`);
  throw new FailedError(`${spec} holds several images (${tags.slice(0, 10).join(', ')}${tags.length > 10 ? ', …' : ''}); give ${spec}:TAG`);
}

/** Copies `srcSpec` to `dstSpec`, prints the digest (or the JSON result) and closes the sink. */
export async function transfer(ctx: VerbContext, srcSpec: string, dstSpec: string, flags: TransferFlags): Promise<void> {
  const concurrency = parseCount(flags.concurrency, '--concurrency');
  const platform = flags.platform !== undefined ? await parsePlatformArg(flags.platform) : undefined;
  const { copy } = await import('../../client/ops/copy.js');
  const { parseLocation } = await import('../../client/locations.js');
  let dstRef: string | undefined;
  try {
    dstRef = parseLocation(dstSpec).reference;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const dstIsDigest = dstRef !== undefined && isDigestRef(dstRef);
  const src = await ctx.open(srcSpec, 'source');
  const reference = await sourceReference(src, srcSpec, dstRef !== undefined && !dstIsDigest ? dstRef : undefined);
  // A missing source fails here, before a target layout or archive is created.
  await src.store.resolve(reference);
  const dst = await ctx.open(dstSpec, 'sink');
  const progress = progressFor(flags);
  let result;
  try {
    result = await copy(src.store, reference, dst.store, {
      ...(dst.reference !== undefined && !dstIsDigest ? { tag: dst.reference } : {}),
      ...(platform ? { platform } : {}),
      ...(flags.allPlatforms ? { allPlatforms: true } : {}),
      ...(flags.referrers ? { referrers: true } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(progress ? { onEvent: (e) => progress.onEvent(e) } : {}),
    });
  } finally {
    progress?.stop();
  }
  await dst.store.close();
  if (dstIsDigest && result.digest !== dst.reference) {
    throw new FailedError(`copied ${result.digest}, but ${dstSpec} names ${dst.reference}: give the target without a digest, or the source's digest`);
  }
  if (flags.json) {
    printJson({ source: src.store.name, target: dst.store.name, reference, ...result });
    return;
  }
  printLines([result.digest]);
  const moved = `${result.blobsCopied} blob${result.blobsCopied === 1 ? '' : 's'} copied (${formatBytes(result.bytesCopied)}), ${result.blobsSkipped} already there, ${result.blobsMounted} mounted`;
  const refs = result.referrers ? `, ${result.referrers} referrer${result.referrers === 1 ? '' : 's'}` : '';
  const targetRef = dst.reference ?? (isDigestRef(reference) ? undefined : reference);
  info(flags, `copied ${src.store.name}:${reference} to ${dst.store.name}${targetRef !== undefined ? `:${targetRef}` : ''}: ${moved}, ${result.manifests} manifest${result.manifests === 1 ? '' : 's'}${refs}`);
}

export function cpCommand(): Command {
  const cmd = verb('cp', 'copy an image or index (or one platform of it) between registries, OCI layouts and OCI archives, digests unchanged', {
    json: true,
    examples: [
      'wharf cp 127.0.0.1:5000/demo/app:v1 127.0.0.1:5001/demo/app:v1',
      'wharf cp docker.io/library/alpine:3.20 oci:./alpine:3.20 --platform linux/arm64',
      'wharf cp oci-archive:./app.tar:v1 registry.lan:5000/team/app:v1 --insecure',
      'wharf cp --referrers --json 127.0.0.1:5000/demo/app:v1 oci:./backup',
    ],
  })
    .argument('<source>', 'HOST/REPO[:TAG|@DIGEST], oci:DIR[:REF] or oci-archive:FILE[:REF]')
    .argument('<target>', 'HOST/REPO[:TAG], oci:DIR[:TAG] or oci-archive:FILE[:TAG] (default: the source tag)');
  return withTransferOptions(cmd).action(async (source: string, target: string, opts: TransferFlags) => {
    await runVerb('cp', opts, async (ctx) => {
      await transfer(ctx, source, target, opts);
    });
  });
}

/** `DIR` or `oci:DIR[:TAG]` / `oci-archive:FILE[:TAG]`: a bare directory is an OCI layout. */
export function layoutSpec(input: string): string {
  if (input.startsWith('oci:') || input.startsWith('oci-archive:')) return input;
  if (input.includes(':')) throw new UsageError(`${JSON.stringify(input)}: a layout path cannot contain ':'; write oci:DIR[:TAG]`);
  return `oci:${input}`;
}
