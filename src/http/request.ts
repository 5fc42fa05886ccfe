// Parsing the parts of a request the handlers need: integers in headers, Content-Range, Range, bounded bodies.
import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../oci/errors.js';

/** Content-Length as a number, undefined when absent; a malformed value is refused. */
export function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new RegistryError('SIZE_INVALID', `invalid Content-Length ${JSON.stringify(v)}`);
  return Number(v);
}

/** Upload chunks: `Content-Range: <start>-<end>` (inclusive), as the spec writes it; `bytes ` prefixes are tolerated. */
export function parseContentRange(value: string | undefined): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/.exec(value.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `invalid Content-Range ${JSON.stringify(value.slice(0, 100))}: expected <start>-<end>`, {
      status: 416,
    });
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

export type RangeRequest = { offset: number; length: number } | 'unsatisfiable' | undefined;

/**
 * A single `Range: bytes=` request against a blob of `size` bytes (RFC 9110). Malformed or multi-range
 * headers are ignored (the whole blob is sent), as the RFC allows.
 */
export function parseRange(value: string | undefined, size: number): RangeRequest {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (size === 0) return 'unsatisfiable'; // no byte range of an empty representation exists
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { offset: start, length: end - start + 1 };
}

/** Reads a whole (small) body, refusing more than `limit` bytes with the error `tooLarge` makes. */
export async function readBody(req: IncomingMessage, limit: number, tooLarge: () => RegistryError): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/** Non-negative integer query parameter `n`. */
export function pageSize(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!/^\d{1,9}$/.test(value)) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', `invalid n ${JSON.stringify(value.slice(0, 50))}: expected a non-negative integer`);
  }
  return Number(value);
}

/**
 * The query string, percent-decoded only: a `+` stays a plus (media types such as
 * `application/vnd.x+json` appear in queries), unlike form decoding.
 */
export function parseQuery(search: string): URLSearchParams {
  const params = new URLSearchParams();
  for (const part of search.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const [k, v] = eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    params.append(decodeLenient(k), decodeLenient(v));
  }
  return params;
}

function decodeLenient(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
