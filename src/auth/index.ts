// Authentication and authorization: the access controller the HTTP layer calls before every handler.
import type { AuthConfig } from './config.js';
import { AccessController, AuthConfigError, type AuthDeps } from './controller.js';

export { AccessController, AuthConfigError, type Principal } from './controller.js';
export { authSchema, type AuthConfig } from './config.js';

/** The access controller for the `auth` section, or undefined when there is none (no authentication). */
export function openAuth(auth: AuthConfig | undefined, deps: AuthDeps): AccessController | undefined {
  if (auth === undefined) {
    if (deps.providers && deps.providers.length > 0) {
      throw new AuthConfigError(`plugin auth provider ${deps.providers.map((p) => JSON.stringify(p.name)).join(', ')} needs an auth section in the configuration (with policies); without one there is no authentication at all`);
    }
    return undefined;
  }
  const controller = new AccessController(auth, deps);
  deps.log?.info(
    { mode: controller.mode, providers: deps.providers?.map((p) => p.name), tokenService: controller.tokens !== undefined, htpasswd: auth.htpasswd, external: auth.external.map((e) => e.issuer), policies: auth.policies.length },
    'authentication on',
  );
  return controller;
}
