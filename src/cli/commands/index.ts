// `wharf index create|add|remove` (ops/index-ops.ts `createIndex`, `addToIndex`, `removeFromIndex`):
// multi-platform indexes built from per-platform images already in the same repository (or layout). Each
// change pushes a new index and moves the tag; the images themselves are never touched.
import { Command, Option } from 'commander';
import { verb, group, runVerb, printJson, printLines, info, parseKeyValues, collect, sameRepositoryRef, parsePlatformArg, UsageError, type CommonOptions } from '../context.js';
import type { Descriptor } from '../../client/index.js';

function report(opts: CommonOptions, what: string, store: string, tag: string, d: Descriptor): void {
  if (opts.json) return printJson({ digest: d.digest, mediaType: d.mediaType, size: d.size, tag });
  printLines([d.digest]);
  info(opts, `${what} ${store}:${tag}`);
}

export function indexCommand(): Command {
  const create = verb('create', 'create a multi-platform index over images of the same repository (each platform read from its config)', {
    fullName: 'index create',
    json: true,
    examples: [
      'wharf index create 127.0.0.1:5000/demo/app:v1 127.0.0.1:5000/demo/app:v1-amd64 127.0.0.1:5000/demo/app:v1-arm64',
      'wharf index create 127.0.0.1:5000/demo/app:v1 v1-amd64 v1-arm64 --annotation org.opencontainers.image.version=1',
      'wharf index create oci:./layout:multi amd64 arm64',
    ],
  })
    .argument('<reference>', 'HOST/REPO:TAG or oci:DIR:TAG: the index to write')
    .argument('<manifests...>', 'images in the same repository: TAG, DIGEST or HOST/REPO:TAG|@DIGEST')
    .addOption(new Option('--annotation <key=value>', 'an index annotation (repeatable)').argParser(collect))
    .action(async (input: string, manifests: string[], opts: CommonOptions & { annotation?: string[] }) => {
      await runVerb('index create', opts, async (ctx) => {
        const annotations = parseKeyValues(opts.annotation, '--annotation');
        const refs = manifests.map((m) => sameRepositoryRef(m, input));
        const { createIndex } = await import('../../client/ops/index-ops.js');
        const { store, reference } = await ctx.openStore(input, 'tag');
        const d = await createIndex(store, { tag: reference, manifests: refs, ...(annotations ? { annotations } : {}) });
        await store.close();
        report(opts, `created index of ${refs.length} manifest${refs.length === 1 ? '' : 's'} at`, store.name, reference, d);
      });
    });

  const add = verb('add', 'add images to an index (replacing the child of the same platform) and move its tag to the new index', {
    fullName: 'index add',
    json: true,
    examples: ['wharf index add 127.0.0.1:5000/demo/app:v1 v1-s390x', 'wharf index add 127.0.0.1:5000/demo/app:v1 127.0.0.1:5000/demo/app@sha256:… --keep-existing'],
  })
    .argument('<index>', 'HOST/REPO:TAG or oci:DIR:TAG of the index')
    .argument('<manifests...>', 'images in the same repository: TAG, DIGEST or HOST/REPO:TAG|@DIGEST')
    .addOption(new Option('--keep-existing', 'keep a child of the same platform instead of replacing it'))
    .action(async (input: string, manifests: string[], opts: CommonOptions & { keepExisting?: boolean }) => {
      await runVerb('index add', opts, async (ctx) => {
        const refs = manifests.map((m) => sameRepositoryRef(m, input));
        const { addToIndex } = await import('../../client/ops/index-ops.js');
        const { store, reference } = await ctx.openStore(input, 'tag');
        const d = await addToIndex(store, reference, refs, opts.keepExisting ? { keepExisting: true } : {});
        await store.close();
        report(opts, `added ${refs.length} manifest${refs.length === 1 ? '' : 's'} to`, store.name, reference, d);
      });
    });

  const remove = verb('remove', 'remove children from an index, by digest or platform, and move its tag to the new index', {
    fullName: 'index remove',
    json: true,
    examples: ['wharf index remove 127.0.0.1:5000/demo/app:v1 --platform linux/s390x', 'wharf index remove 127.0.0.1:5000/demo/app:v1 --digest sha256:… --digest sha256:…'],
  })
    .argument('<index>', 'HOST/REPO:TAG or oci:DIR:TAG of the index')
    .addOption(new Option('--digest <digest>', 'remove the child with this digest (repeatable)').argParser(collect))
    .addOption(new Option('--platform <os/arch[/variant]>', 'remove the children of this platform (repeatable)').argParser(collect))
    .addOption(new Option('--allow-empty', 'allow removing every child'))
    .action(async (input: string, opts: CommonOptions & { digest?: string[]; platform?: string[]; allowEmpty?: boolean }) => {
      await runVerb('index remove', opts, async (ctx) => {
        if (!opts.digest?.length && !opts.platform?.length) throw new UsageError('say what to remove: --digest DIGEST or --platform OS/ARCH (repeatable)');
        const platforms = [];
        for (const p of opts.platform ?? []) platforms.push(await parsePlatformArg(p));
        const { removeFromIndex } = await import('../../client/ops/index-ops.js');
        const { store, reference } = await ctx.openStore(input, 'tag');
        const d = await removeFromIndex(store, reference, {
          ...(opts.digest?.length ? { digests: opts.digest } : {}),
          ...(platforms.length ? { platforms } : {}),
          ...(opts.allowEmpty ? { allowEmpty: true } : {}),
        });
        await store.close();
        report(opts, 'removed from', store.name, reference, d);
      });
    });

  return group('index', 'create, extend or trim a multi-platform index')
    .addCommand(create)
    .addCommand(add)
    .addCommand(remove)
    .addHelpText(
      'after',
      '\nExamples:\n  wharf index create 127.0.0.1:5000/demo/app:v1 v1-amd64 v1-arm64\n  wharf index add 127.0.0.1:5000/demo/app:v1 v1-s390x\n  wharf index remove 127.0.0.1:5000/demo/app:v1 --platform linux/s390x\n',
    );
}
