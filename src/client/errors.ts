// Typed errors of the client library. Every failure a caller may want to tell apart has its own class;
// all of them extend ClientError so `instanceof ClientError` catches anything the library raises on purpose.

export class ClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One entry of the OCI / Docker error envelope `{"errors":[{"code","message","detail"}]}`. */
export interface OciErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** The registry answered with an unexpected status. `code` and `message` come from the first envelope entry. */
export class RegistryClientError extends ClientError {
  readonly status: number;
  /** The OCI error code of the first entry of the error envelope (`BLOB_UNKNOWN`, …), if the body had one. */
  readonly code: string | undefined;
  /** Every entry of the error envelope (empty when the body was not an envelope). */
  readonly errors: OciErrorEntry[];
  readonly method: string;
  readonly url: string;
  /** The response headers, lower-cased. */
  readonly headers: Record<string, string | string[] | undefined>;
  /** The first 4 KiB of the body when it was not an error envelope. */
  readonly body: string | undefined;

  constructor(init: {
    status: number;
    method: string;
    url: string;
    errors?: OciErrorEntry[];
    headers?: Record<string, string | string[] | undefined>;
    body?: string;
    message?: string;
  }) {
    const errors = init.errors ?? [];
    const first = errors[0];
    const what = first ? `${first.code}: ${first.message}` : init.body ? init.body.trim().slice(0, 200) : 'no error body';
    super(init.message ?? `${init.method} ${redactUrl(init.url)}: HTTP ${init.status} (${what})`);
    this.status = init.status;
    this.code = first?.code;
    this.errors = errors;
    this.method = init.method;
    this.url = init.url;
    this.headers = init.headers ?? {};
    this.body = first ? undefined : init.body;
  }
}

/** 401 after the auth flow ran (no credentials, wrong credentials or a scope the registry refused). */
export class UnauthorizedError extends RegistryClientError {}

/** 403: the credentials are valid but do not allow this. */
export class DeniedError extends RegistryClientError {}

/** 404 on any endpoint: `code` tells what was unknown (`BLOB_UNKNOWN`, `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, …). */
export class NotFoundError extends RegistryClientError {}

/** 429 after every retry was spent. */
export class TooManyRequestsError extends RegistryClientError {}

/** The token endpoint (realm of a Bearer challenge) refused or answered something unusable. */
export class TokenError extends ClientError {
  readonly status: number | undefined;
  readonly realm: string;
  constructor(message: string, realm: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.realm = realm;
    this.status = status;
  }
}

/** Bytes that do not hash to the digest they were asked for. Raised at the end of a stream, never before. */
export class DigestMismatchError extends ClientError {
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string, what = 'content') {
    super(`${what} digest mismatch: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A body shorter or longer than announced (Content-Length, descriptor size). */
export class SizeMismatchError extends ClientError {
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, what = 'content') {
    super(`${what} size mismatch: expected ${expected} bytes, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** Plain HTTP (or unverified TLS) to a host that is neither loopback nor marked insecure. */
export class InsecureRegistryError extends ClientError {
  readonly host: string;
  constructor(host: string, message?: string) {
    super(
      message ??
        `refusing plain http to ${host}: only loopback hosts and hosts listed in the client's insecure option may be reached without TLS`,
    );
    this.host = host;
  }
}

/** An image reference outside the grammar. */
export class InvalidReferenceError extends ClientError {
  readonly input: string;
  constructor(input: string, why: string) {
    super(`invalid image reference ${JSON.stringify(input.length > 300 ? input.slice(0, 300) + '…' : input)}: ${why}`);
    this.input = input;
  }
}

/** A docker-credential-* helper failed (other than "credentials not found"), or a config file is unreadable. */
export class CredentialsError extends ClientError {}

/** The server broke the protocol (missing Location on a 202, unparsable Range, …). */
export class ProtocolError extends ClientError {}

/** Removes user info and query strings that may carry secrets (tokens, `_state`, presigned signatures). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    const q = u.search ? '?…' : '';
    u.search = '';
    return u.toString() + q;
  } catch {
    return url;
  }
}

/** A tag, manifest or blob is not in a local store (OCI layout, archive, memory). `code` uses the OCI names. */
export class ContentNotFoundError extends ClientError {
  readonly code: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN';
  constructor(code: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN', message: string) {
    super(message);
    this.code = code;
  }
}

/** Whether `e` says something does not exist, from a registry (404) or a local store. */
export function isNotFound(e: unknown): boolean {
  return e instanceof NotFoundError || e instanceof ContentNotFoundError;
}
