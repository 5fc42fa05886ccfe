// Where images live, seen the same way whatever holds them: a repository in a registry, an OCI image
// layout directory, its tar form, or memory. Every operation (copy, push, pull, artifacts, indexes)
// is written once against these two interfaces.
//
// Rules every implementation keeps:
// - Blobs stream. `fetchBlob` verifies size and digest while the bytes pass and fails the stream at its
//   end (DigestMismatchError / SizeMismatchError) instead of delivering wrong content silently.
// - `pushBlob` never makes a blob visible under its digest unless the bytes matched it.
// - Manifests are bytes: they are stored and served exactly as given, so digests never change.
// - A missing tag, manifest or blob is NotFoundError (from ./errors.js).
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/index.js';

export interface ContentOptions {
  signal?: AbortSignal;
}

/** A manifest or index as stored: its exact bytes, their digest, and its media type. */
export interface ManifestBytes {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface PushBlobOptions extends ContentOptions {
  /** Called with the number of bytes of this blob stored so far (monotonic within one attempt). */
  onProgress?: (bytes: number) => void;
  /** Repositories of the same registry that hold the blob: a registry sink tries a cross-repository mount. */
  mountFrom?: string[];
}

export interface PushBlobResult {
  /** The sink had the blob already; no bytes moved. */
  existed: boolean;
  /** A registry sink mounted it from another repository; no bytes moved. */
  mounted: boolean;
}

export interface PushManifestOptions extends ContentOptions {
  /** Also point this tag at it. */
  tag?: string;
  /**
   * Whether this is what the user asked to store (a tagged image, an index, an artifact) rather than a child
   * of an index. Layouts list roots in index.json and keep children as blobs only; registries ignore it.
   */
  root: boolean;
}

export interface ReferrersFilter extends ContentOptions {
  artifactType?: string;
}

export type ContentKind = 'registry' | 'layout' | 'archive' | 'memory';

/** Where images come from. */
export interface ContentSource {
  readonly kind: ContentKind;
  /** For messages: `localhost:5000/app`, `oci:./dir`, `oci-archive:./img.tar`, `memory`. */
  readonly name: string;
  /** For a registry: the registry (`localhost:5000`) and repository (`app`); lets copy mount across repos. */
  readonly registry?: string;
  readonly repository?: string;
  /** A tag or a digest to the manifest it names. NotFoundError when there is none. */
  resolve(reference: string, opts?: ContentOptions): Promise<ManifestBytes>;
  /** A manifest by descriptor (an index's child, a referrer), digest-checked. */
  fetchManifest(descriptor: Descriptor, opts?: ContentOptions): Promise<ManifestBytes>;
  /** A blob's bytes, checked against `descriptor.digest` and `descriptor.size` while they stream. */
  fetchBlob(descriptor: Descriptor, opts?: ContentOptions): Promise<Readable>;
  /** Manifests whose `subject` is `digest` (artifact type filter applied). */
  referrers(digest: string, opts?: ReferrersFilter): Promise<Descriptor[]>;
  /** The tags it holds, sorted. */
  tags(opts?: ContentOptions): Promise<string[]>;
}

/** Where images go. */
export interface ContentSink {
  readonly kind: ContentKind;
  readonly name: string;
  readonly registry?: string;
  readonly repository?: string;
  hasBlob(descriptor: Descriptor, opts?: ContentOptions): Promise<boolean>;
  /**
   * Stores a blob. `open(offset)` gives its bytes from `offset` and may be called again to resume or retry.
   * Skips the transfer when the blob is already there.
   */
  pushBlob(descriptor: Descriptor, open: (offset: number) => Promise<Readable>, opts?: PushBlobOptions): Promise<PushBlobResult>;
  hasManifest(descriptor: Descriptor, opts?: ContentOptions): Promise<boolean>;
  /** Stores a manifest under its digest (and `opts.tag`). Its blobs and children must be stored first. */
  pushManifest(manifest: ManifestBytes, opts: PushManifestOptions): Promise<void>;
  /** Makes everything pushed durable and visible (index.json, the tar file). Registries need nothing. */
  close(opts?: ContentOptions): Promise<void>;
}

/** A place that is both (registry repositories, layouts, memory; an archive opened for update). */
export interface ContentStore extends ContentSource, ContentSink {}
