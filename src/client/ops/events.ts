// What a transfer (copy, mirror) reports while it runs, for progress bars and logs. Events are plain data;
// a listener that throws is the caller's bug and stops the transfer.
import type { Descriptor } from '../../oci/index.js';

export type TransferEvent =
  | { type: 'blob-start'; descriptor: Descriptor }
  /** `bytes`: how much of this blob the sink has read from the source so far (from the resume offset after a resumption). */
  | { type: 'blob-progress'; descriptor: Descriptor; bytes: number }
  /** `existed`: the sink had it, nothing moved; `mounted`: linked from another repository of the same registry. */
  | { type: 'blob-done'; descriptor: Descriptor; existed: boolean; mounted: boolean }
  | { type: 'manifest-done'; descriptor: Descriptor; tag?: string }
  /** One image of a copy or mirror: `source` and `target` are store names, `reference` the tag or digest. */
  | { type: 'image-start' | 'image-done'; source: string; target: string; reference: string };

export type OnEvent = (e: TransferEvent) => void;
