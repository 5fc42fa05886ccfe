// The endpoint table of the distribution API as Wharf serves it. Routes are data: the HTTP router,
// the tests and the docs read this one table. Order matters: the first pattern that matches wins.

export type EndpointId = 'base' | 'catalog' | 'tags' | 'manifest' | 'uploadStart' | 'upload' | 'blob' | 'referrers' | WharfEndpointId;

/** Wharf's own extensions (docs/http-api.md, "Wharf extensions"): under `_wharf`, which no repository name can hold. */
export type WharfEndpointId = 'tagHistory' | 'tagRollback' | 'usage' | 'usageAll';

export interface Endpoint {
  id: EndpointId;
  /** Matched against the raw (undecoded) path; capture groups are the name and then the reference. */
  pattern: RegExp;
  methods: readonly string[];
  summary: string;
}

export const endpoints: readonly Endpoint[] = [
  { id: 'base', pattern: /^\/v2\/?$/, methods: ['GET', 'HEAD'], summary: 'API version check' },
  { id: 'catalog', pattern: /^\/v2\/_catalog$/, methods: ['GET'], summary: 'list repositories' },
  { id: 'tags', pattern: /^\/v2\/(.+)\/tags\/list$/, methods: ['GET'], summary: 'list tags' },
  { id: 'manifest', pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/, methods: ['GET', 'HEAD', 'PUT', 'DELETE'], summary: 'manifests by tag or digest' },
  { id: 'uploadStart', pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/, methods: ['POST'], summary: 'start an upload, monolithic upload, mount' },
  { id: 'upload', pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, methods: ['GET', 'PATCH', 'PUT', 'DELETE'], summary: 'upload session' },
  { id: 'blob', pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/, methods: ['GET', 'HEAD', 'DELETE'], summary: 'blobs by digest' },
  { id: 'referrers', pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: ['GET'], summary: 'manifests whose subject is a digest' },
  { id: 'tagHistory', pattern: /^\/v2\/(.+)\/_wharf\/tags\/([^/]+)\/history$/, methods: ['GET'], summary: 'Wharf: the moves of a tag, newest first' },
  { id: 'tagRollback', pattern: /^\/v2\/(.+)\/_wharf\/tags\/([^/]+)\/rollback$/, methods: ['POST'], summary: 'Wharf: point a tag back at an earlier digest' },
  { id: 'usage', pattern: /^\/v2\/(.+)\/_wharf\/usage$/, methods: ['GET'], summary: 'Wharf: storage used by a repository, and its quota' },
  { id: 'usageAll', pattern: /^\/v2\/_wharf\/usage$/, methods: ['GET'], summary: 'Wharf: storage used by every repository (admins)' },
];

export interface RouteMatch {
  endpoint: Endpoint;
  name?: string;
  reference?: string;
}

/** The endpoint for a path and method; `methodNotAllowed` when the path is known but not the method. */
export function matchRoute(path: string, method: string): RouteMatch | { methodNotAllowed: Endpoint } | undefined {
  let known: Endpoint | undefined;
  for (const endpoint of endpoints) {
    const m = endpoint.pattern.exec(path);
    if (!m) continue;
    if (endpoint.methods.includes(method) || (method === 'HEAD' && endpoint.methods.includes('GET'))) {
      const r: RouteMatch = { endpoint };
      if (m[1] !== undefined) r.name = m[1];
      if (m[2] !== undefined) r.reference = m[2];
      return r;
    }
    known ??= endpoint;
  }
  return known ? { methodNotAllowed: known } : undefined;
}
