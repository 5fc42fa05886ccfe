// GET /v2/_oci/ext/discover: the extensions this server answers, in the shape of the OCI distribution-spec
// extensions proposal (extensions/_oci.md): {"extensions":[{"name","url","description","endpoints"}]}.
// Only endpoints that exist on this server are listed: the `_wharf` endpoints of the endpoint table
// (oci/routes.ts), and the API keys endpoints when authentication is on.
import type { Handler } from '../http/context.js';
import { replyJSON } from '../http/context.js';
import { endpoints, type Endpoint } from '../oci/routes.js';

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
  /** The change feed is served (http/handlers/events.ts). */
  events?: boolean;
}

interface WharfEndpoint {
  path: string;
  present(features: DiscoveryFeatures): boolean;
}

/** Wharf's endpoints served outside the endpoint table (http/handlers/token.ts, http/handlers/events.ts). */
const ownEndpoints: readonly WharfEndpoint[] = [
  { path: '/v2/_wharf/events', present: (f) => f.events === true },
  { path: '/v2/_wharf/tokens', present: (f) => f.auth },
  { path: '/v2/_wharf/tokens/<key>', present: (f) => f.auth },
];

/**
 * The path an endpoint pattern stands for, with placeholders: the first capture group is the repository name,
 * the second the reference (a tag, digest or id). E.g. /^\/v2\/(.+)\/_wharf\/usage$/ → /v2/<name>/_wharf/usage.
 */
export function templateOf(endpoint: Endpoint): string {
  return endpoint.pattern.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace('(.+)', '<name>')
    .replace('([^/]+)', '<reference>')
    .replace(/\\\//g, '/')
    .replace('/?', '/');
}

/** The endpoint table's entries under `_wharf`. */
function tableEndpoints(): string[] {
  return endpoints.filter((e) => e.pattern.source.includes('_wharf')).map(templateOf);
}

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
  const wharf = [...new Set([...tableEndpoints(), ...ownEndpoints.filter((e) => e.present(features)).map((e) => e.path)])];
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
