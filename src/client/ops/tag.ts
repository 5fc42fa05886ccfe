// Giving a manifest more tags: its exact bytes are pushed again under each new tag, so the digest never
// changes (nothing is re-serialized). Every tag is checked against the grammar before anything is pushed.
import { isValidTag, type Descriptor } from '../../oci/index.js';
import type { ContentStore } from '../content.js';
import { ClientError } from '../errors.js';
import { describeManifest } from './build.js';

/** A tag outside `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export class InvalidTagError extends ClientError {
  readonly tag: string;
  constructor(tag: string) {
    super(`invalid tag ${JSON.stringify(tag.length > 200 ? tag.slice(0, 200) + '…' : tag)}: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    this.tag = tag;
  }
}

export interface TagOptions {
  signal?: AbortSignal;
  /** Called after each tag is pushed. */
  onTag?: (tag: string) => void;
}

/** Points each of `newTags` at the manifest `reference` names (a tag or digest in `store`) and returns its descriptor. */
export async function tag(store: ContentStore, reference: string, newTags: string[], opts: TagOptions = {}): Promise<Descriptor> {
  if (newTags.length === 0) throw new ClientError('no tags given');
  for (const t of newTags) if (!isValidTag(t)) throw new InvalidTagError(t);
  const signalOpt = opts.signal ? { signal: opts.signal } : {};
  const manifest = await store.resolve(reference, signalOpt);
  for (const t of new Set(newTags)) {
    await store.pushManifest(manifest, { tag: t, root: true, ...signalOpt });
    opts.onTag?.(t);
  }
  return describeManifest(manifest);
}
