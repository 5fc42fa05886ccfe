// Authentication and authorization: the access controller the HTTP layer calls before every handler.
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import type { AuthConfig } from './config.js';
import { AccessController } from './controller.js';

export { AccessController, AuthConfigError, type Principal } from './controller.js';
export { authSchema, type AuthConfig } from './config.js';

/** The access controller for the `auth` section, or undefined when there is none (no authentication). */
export function openAuth(auth: AuthConfig | undefined, deps: { metadata: MetadataStore; dataDir: string; log?: Logger }): AccessController | undefined {
  if (auth === undefined) return undefined;
  const controller = new AccessController(auth, deps);
  deps.log?.info(
    { mode: controller.mode, tokenService: controller.tokens !== undefined, htpasswd: auth.htpasswd, external: auth.external.map((e) => e.issuer), policies: auth.policies.length },
    'authentication on',
  );
  return controller;
}
