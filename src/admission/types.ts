// What the registry domain asks an admission check, and the shapes sent to and read from an admission hook.
// registry/manifests.ts only knows ManifestAdmission; admission/hook.ts is the HTTP implementation.

/** One manifest about to be stored (push) or served (pull). */
export interface AdmissionRequest {
  action: 'push' | 'pull';
  repository: string;
  /** The reference of the request: a tag or a digest. */
  reference: string;
  /** Every tag the push sets (the reference when it is a tag, plus `?tag=` ones); empty on pulls by digest. */
  tags: string[];
  digest: string;
  mediaType: string;
  /** The exact manifest bytes. */
  body: Buffer;
  /** The authenticated user, when there is one. */
  actor?: string | undefined;
}

/** Decides whether a manifest may be stored or served; throws a RegistryError (403 DENIED) when not. */
export interface ManifestAdmission {
  /** Whether requests for this repository and action are checked at all (cheap, no I/O). */
  applies(action: AdmissionRequest['action'], repository: string): boolean;
  check(request: AdmissionRequest): Promise<void>;
}

/** A descriptor as the hook receives it (referrers of the manifest). */
export interface HookDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The JSON body POSTed to the hook (apiVersion wharf.admission/v1; docs/extending.md). */
export interface AdmissionReview {
  apiVersion: 'wharf.admission/v1';
  action: 'push' | 'pull';
  repository: string;
  reference: string;
  tags: string[];
  digest: string;
  mediaType: string;
  size: number;
  /** The manifest, parsed. */
  manifest: unknown;
  /** The image config blob, parsed, for image manifests whose config is JSON and not larger than maxConfigBytes; else null. */
  config: unknown;
  /** Manifests that name this one as their subject (signatures, SBOMs, attestations) already in the repository. */
  referrers: HookDescriptor[];
  actor: { name: string | null };
}

/** The hook's answer. */
export interface AdmissionVerdict {
  allowed: boolean;
  reason?: string;
}
