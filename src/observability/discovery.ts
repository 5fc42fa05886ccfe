// GET /v2/_oci/ext/discover: the extensions this server answers, in the shape of the OCI distribution-spec
// extensions proposal (extensions/_oci.md): {"extensions":[{"name","url","description","endpoints"}]}.
// Only endpoints that exist on this server are listed (the API keys endpoints, for instance, only with auth).
import type { Handler } from '../http/context.js';
import { replyJSON } from '../http/context.js';

export interface Extension {
  /** The extension's name as it appears in the URL path, e.g. `_oci`. */
  name: string;
  /** Where the extension and its endpoints are documented. */
  url: string;
  description?: string;
  /** The endpoints this server provides, as paths (placeholders in angle brackets). */
  endpoints: string[];
}

export interface ExtensionList {
  extensions: Extension[];
}

/** What the server runs with, as far as the list of extension endpoints depends on it. */
export interface DiscoveryFeatures {
  /** Authentication is configured (the API keys endpoints exist). */
  auth: boolean;
}

interface WharfEndpoint {
  path: string;
  present(features: DiscoveryFeatures): boolean;
}

/** Wharf's own endpoints under /v2/_wharf and /v2/<name>/_wharf; keep in step with the HTTP layer. */
const wharfEndpoints: readonly WharfEndpoint[] = [
  { path: '/v2/_wharf/tokens', present: (f) => f.auth },
  { path: '/v2/_wharf/tokens/<name>', present: (f) => f.auth },
];

/** The discovery document for a server with these features. */
export function discoveryDocument(features: DiscoveryFeatures): ExtensionList {
  const extensions: Extension[] = [
    {
      name: '_oci',
      url: 'https://github.com/opencontainers/distribution-spec/blob/main/extensions/_oci.md',
      description: 'extension discovery',
      endpoints: ['/v2/_oci/ext/discover'],
    },
  ];
  const wharf = wharfEndpoints.filter((e) => e.present(features)).map((e) => e.path);
  if (wharf.length > 0) {
    extensions.push({
      name: '_wharf',
      url: 'docs/observability.md#extension-discovery',
      description: "Wharf's registry management endpoints",
      endpoints: wharf,
    });
  }
  return { extensions };
}

/** The path of the registry-level discovery endpoint. */
export const discoverPath = '/v2/_oci/ext/discover';

/** A handler answering the discovery document (GET and HEAD). */
export function discoverHandler(features: DiscoveryFeatures): Handler {
  const body = discoveryDocument(features);
  return async (ctx) => replyJSON(ctx, 200, {}, body);
}
