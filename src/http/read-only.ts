// Read-only mode for maintenance: every write on the API answers 405 UNSUPPORTED; reads keep working.
import { RegistryError } from '../oci/errors.js';
import type { Endpoint } from '../oci/routes.js';
import type { Ctx } from './context.js';

const readMethods = new Set(['GET', 'HEAD']);

export function isWrite(method: string): boolean {
  return !readMethods.has(method);
}

/** Throws 405 UNSUPPORTED for POST, PUT, PATCH and DELETE when the registry is read-only; Allow names the reads left. */
export function rejectWrites(ctx: Ctx, readOnly: boolean, endpoint: Endpoint): void {
  const method = ctx.req.method ?? 'GET';
  if (!readOnly || !isWrite(method)) return;
  const reads = endpoint.methods.includes('GET') ? ['GET', 'HEAD'] : [];
  throw new RegistryError('UNSUPPORTED', `the registry is read-only (maintenance): ${method} is refused; reads keep working`, {
    headers: { Allow: reads.join(', ') },
  });
}
