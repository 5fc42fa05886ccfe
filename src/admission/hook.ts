// The admission hook: builds the review of a manifest (the manifest, its image config, its referrers, who
// asks), asks the hook over HTTP and turns the verdict into 403 DENIED with the hook's reason. A hook that
// cannot answer refuses the request (fail-closed) unless failOpen is set.
import type { Logger } from 'pino';
import { RegistryError } from '../oci/errors.js';
import type { MetadataStore } from '../metadata/store.js';
import type { StorageDriver } from '../storage/index.js';
import { Blobs } from '../registry/blobs.js';
import { compileGlobs, type RepositoryMatcher } from '../auth/glob.js';
import type { AdmissionConfig } from './config.js';
import { callHook } from './callout.js';
import type { AdmissionRequest, AdmissionReview, HookDescriptor, ManifestAdmission } from './types.js';

export interface AdmissionHookDeps {
  storage: StorageDriver;
  metadata: MetadataStore;
  log?: Logger;
}

export class AdmissionHook implements ManifestAdmission {
  private readonly matches: RepositoryMatcher;
  private readonly blobs: Blobs;

  constructor(
    readonly config: AdmissionConfig,
    private readonly deps: AdmissionHookDeps,
  ) {
    this.matches = config.repositories.length === 0 ? () => true : compileGlobs(config.repositories);
    this.blobs = new Blobs(deps.storage, deps.metadata);
  }

  applies(action: AdmissionRequest['action'], repository: string): boolean {
    if (action === 'pull' && !this.config.onPull) return false;
    return this.matches(repository);
  }

  async check(request: AdmissionRequest): Promise<void> {
    if (!this.applies(request.action, request.repository)) return;
    const review = await this.review(request);
    const result = await callHook(review, { url: this.config.url, headers: this.config.headers, timeoutMs: this.config.timeoutSeconds * 1000 });
    const about = { repository: request.repository, digest: request.digest, action: request.action, actor: request.actor };
    if (result.kind === 'unavailable') {
      if (this.config.failOpen) {
        this.deps.log?.warn({ ...about, why: result.why }, 'admission hook unavailable; allowed (failOpen)');
        return;
      }
      this.deps.log?.warn({ ...about, why: result.why }, 'admission hook unavailable; denied');
      throw new RegistryError('DENIED', `admission hook unavailable (${result.why}); the ${request.action} is refused`, {
        detail: { admission: 'unavailable' },
      });
    }
    if (result.verdict.allowed) return;
    const reason = result.verdict.reason ?? 'no reason given';
    this.deps.log?.info({ ...about, reason }, 'admission hook denied');
    throw new RegistryError('DENIED', `denied by the admission hook: ${reason}`, { detail: { admission: 'denied', reason } });
  }

  private async review(r: AdmissionRequest): Promise<AdmissionReview> {
    const manifest = JSON.parse(r.body.toString('utf8')) as unknown;
    return {
      apiVersion: 'wharf.admission/v1',
      action: r.action,
      repository: r.repository,
      reference: r.reference,
      tags: r.tags,
      digest: r.digest,
      mediaType: r.mediaType,
      size: r.body.length,
      manifest,
      config: await this.readConfig(r.repository, manifest),
      referrers: await this.referrers(r.repository, r.digest),
      actor: { name: r.actor ?? null },
    };
  }

  /** The image config as JSON, when the manifest has a JSON config of at most maxConfigBytes; else null. */
  private async readConfig(repo: string, manifest: unknown): Promise<unknown> {
    const config = (manifest as { config?: { mediaType?: unknown; digest?: unknown; size?: unknown } } | null)?.config;
    if (!config || typeof config.digest !== 'string' || typeof config.size !== 'number') return null;
    if (typeof config.mediaType === 'string' && !/json/i.test(config.mediaType)) return null;
    if (config.size > this.config.maxConfigBytes) return null;
    try {
      const info = await this.blobs.stat(repo, config.digest);
      if (info.size > this.config.maxConfigBytes) return null;
      const chunks: Buffer[] = [];
      for await (const c of await this.blobs.open(info)) chunks.push(c as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      // Not in the repository (an artifact's empty config), unreadable or not JSON: the hook gets null.
      return null;
    }
  }

  private async referrers(repo: string, digest: string): Promise<HookDescriptor[]> {
    const found = await this.deps.metadata.listReferrers(repo, digest);
    return found.map((f) => ({
      mediaType: f.mediaType,
      digest: f.digest,
      size: f.size,
      ...(f.artifactType !== undefined && { artifactType: f.artifactType }),
      ...(f.annotations !== undefined && { annotations: f.annotations }),
    }));
  }
}
