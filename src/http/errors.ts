// The one place that turns errors into HTTP responses with the spec's JSON envelope.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { RegistryError } from '../oci/errors.js';
import { StorageError } from '../storage/index.js';

export interface ErrorBody {
  errors: { code: string; message: string; detail?: unknown }[];
}

/** Maps anything thrown by a handler to a RegistryError; unexpected failures become INTERNAL. */
export function toRegistryError(e: unknown, log?: Logger): RegistryError {
  if (e instanceof RegistryError) return e;
  if (e instanceof StorageError && e.kind === 'invalid-path') {
    return new RegistryError('NAME_INVALID', 'invalid name or reference');
  }
  log?.error({ err: e }, 'internal error');
  return new RegistryError('INTERNAL', 'internal server error; the registry log has the details');
}

export function errorBody(err: RegistryError): ErrorBody {
  const entry: ErrorBody['errors'][number] = { code: err.code, message: err.message };
  if (err.detail !== undefined) entry.detail = err.detail;
  return { errors: [entry] };
}

/** Writes an error response, or cuts the connection if the response has already started. */
export function writeError(req: IncomingMessage, res: ServerResponse, e: unknown, log?: Logger): void {
  const err = toRegistryError(e, log);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(errorBody(err)));
  const headers: Record<string, string | number> = {
    ...err.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': body.length,
  };
  // A request body we did not read would be drained by node to keep the connection; close it instead.
  if (!req.complete && hasBody(req)) headers.Connection = 'close';
  res.writeHead(err.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}
