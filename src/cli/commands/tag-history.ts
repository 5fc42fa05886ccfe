// `wharf tag history HOST/REPO:TAG` and `wharf tag rollback HOST/REPO:TAG DIGEST` (client/ops/history.ts): a
// Wharf registry's record of a tag's moves, and pointing a tag back at an earlier digest, through the API.
import type { Command } from 'commander';
import { verb, runVerb, parseRef, printJson, printLines, info, UsageError, FailedError, type CommonOptions } from '../context.js';
import { RegistryClientError, UnauthorizedError } from '../../client/errors.js';

/**
 * The registry's own explanation of a refusal (a vanished digest, an immutable tag, a quota) is the message;
 * an endpoint the registry does not have means it is not Wharf.
 */
export async function explained<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (!(e instanceof RegistryClientError) || e instanceof UnauthorizedError) throw e;
    const first = e.errors[0];
    if (e.status === 404 && (first === undefined || first.code === 'NOT_FOUND')) {
      throw new FailedError(`${new URL(e.url).host} has no such endpoint (404): tag history, rollback and usage are Wharf extensions`);
    }
    if (first?.message) throw new FailedError(`${first.message} (${e.status} ${first.code})`);
    throw e;
  }
}

function taggedRef(input: string) {
  const ref = parseRef(input, { tag: 'allowed', digest: 'forbidden' });
  if (ref.tag === undefined) throw new UsageError(`${JSON.stringify(input)} names no tag; give HOST/REPO:TAG`);
  return ref as typeof ref & { tag: string };
}

export function tagHistoryCommand(): Command {
  return verb('history', 'show every move of a tag on a Wharf registry (created, moved, deleted; when and by whom), newest first', {
    fullName: 'tag history',
    json: true,
    examples: ['wharf tag history 127.0.0.1:5000/demo/app:latest', 'wharf tag history --json registry.lan:5000/team/app:v1'],
  })
    .argument('<reference>', 'HOST/REPO:TAG')
    .action(async (input: string, own: CommonOptions, cmd: Command) => {
      // Options written after the verb may have been taken by `wharf tag`, which declares the same ones.
      const opts = cmd.optsWithGlobals<CommonOptions>();
      await runVerb('tag history', opts, async (ctx) => {
        const ref = taggedRef(input);
        ctx.subject = { kind: 'manifest', ref };
        const client = await ctx.client(ref.registry);
        const { tagHistory } = await import('../../client/ops/history.js');
        const entries = await explained(tagHistory(client, ref.repository, ref.tag));
        if (opts.json) return printJson({ name: ref.repository, tag: ref.tag, history: entries });
        printLines(
          entries.map((e) => {
            const change = e.action === 'create' ? `created → ${e.newDigest}` : e.action === 'delete' ? `deleted (was ${e.oldDigest})` : `moved ${e.oldDigest} → ${e.newDigest}`;
            return `${e.time}  ${change}${e.by === undefined ? '' : `  by ${e.by}`}`;
          }),
        );
        if (entries.length === 0) info(opts, `no recorded changes of ${ref.repository}:${ref.tag}`);
      });
    });
}

export function tagRollbackCommand(): Command {
  return verb('rollback', 'point a tag on a Wharf registry back at an earlier digest (the manifest must still be in the repository)', {
    fullName: 'tag rollback',
    json: true,
    examples: ['wharf tag rollback 127.0.0.1:5000/demo/app:latest sha256:…', 'wharf tag history 127.0.0.1:5000/demo/app:latest   # find the digest first'],
  })
    .argument('<reference>', 'HOST/REPO:TAG')
    .argument('<digest>', 'the digest the tag should point at again (ALGORITHM:HEX)')
    .action(async (input: string, digest: string, own: CommonOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonOptions>();
      await runVerb('tag rollback', opts, async (ctx) => {
        const ref = taggedRef(input);
        if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) throw new UsageError(`invalid digest ${JSON.stringify(digest.slice(0, 100))}: expected e.g. sha256:…`);
        ctx.subject = { kind: 'manifest', ref: { ...ref, digest } };
        const client = await ctx.client(ref.registry);
        const { rollbackTag } = await import('../../client/ops/history.js');
        const result = await explained(rollbackTag(client, ref.repository, ref.tag, digest));
        if (opts.json) return printJson({ name: ref.repository, tag: ref.tag, ...result });
        printLines([result.digest]);
        info(opts, result.previous === undefined ? `${ref.repository}:${ref.tag} now points at ${result.digest}` : `${ref.repository}:${ref.tag} moved from ${result.previous} back to ${result.digest}`);
      });
    });
}
