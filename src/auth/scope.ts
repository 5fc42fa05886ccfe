// Token scopes (`repository:team/app:pull,push`, `registry:catalog:*`) as the Docker token specification writes
// them, the `access` claim of a token, and the scope each registry request needs.
import type { EndpointId } from '../oci/routes.js';

/** One entry of a token's `access` claim: a resource and the actions granted on it. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** The resource Wharf's own API needs (API keys): granted to admins only. */
export const adminScope: AccessEntry = { type: 'registry', name: 'admin', actions: ['*'] };
export const catalogScope: AccessEntry = { type: 'registry', name: 'catalog', actions: ['*'] };

/**
 * Parses one scope. The name may hold colons (a registry host with a port), so the type is before the first
 * colon and the actions after the last. Malformed scopes give undefined (a token request ignores them).
 */
export function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (!/^[a-z0-9_-]+(\([a-z0-9_-]+\))?$/i.test(type) || name === '' || actions.length === 0) return undefined;
  return { type: type.replace(/\(.*\)$/, ''), name, actions: [...new Set(actions)] };
}

/** Every scope of a request: several `scope` parameters, each possibly holding space-separated scopes. */
export function parseScopes(values: readonly string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const v of values) {
    for (const one of v.split(' ')) {
      if (one === '') continue;
      const parsed = parseScope(one);
      if (parsed) out.push(parsed);
    }
  }
  return mergeAccess(out);
}

export function formatScope(e: AccessEntry): string {
  return `${e.type}:${e.name}:${e.actions.join(',')}`;
}

/** Joins entries for the same resource. */
export function mergeAccess(entries: readonly AccessEntry[]): AccessEntry[] {
  const byKey = new Map<string, AccessEntry>();
  for (const e of entries) {
    const key = `${e.type}\0${e.name}`;
    const have = byKey.get(key);
    if (have) have.actions = [...new Set([...have.actions, ...e.actions])];
    else byKey.set(key, { type: e.type, name: e.name, actions: [...e.actions] });
  }
  return [...byKey.values()];
}

/** Whether granted access covers every action of `needed`. `*` granted covers anything. */
export function covers(granted: readonly AccessEntry[], needed: AccessEntry): boolean {
  const have = new Set<string>();
  for (const g of granted) if (g.type === needed.type && g.name === needed.name) for (const a of g.actions) have.add(a);
  return have.has('*') || needed.actions.every((a) => have.has(a));
}

/**
 * What a registry request needs: GET/HEAD pull, POST/PUT/PATCH pull+push, DELETE delete; the catalog its own scope.
 * Wharf extensions follow the same rule (tag history: pull; rollback: pull+push; a repository's usage: pull),
 * except registry-wide usage, which needs admin.
 */
export function requiredAccess(endpoint: EndpointId, method: string, name: string): AccessEntry | undefined {
  if (endpoint === 'base') return undefined;
  if (endpoint === 'catalog') return catalogScope;
  if (endpoint === 'usageAll') return adminScope;
  const actions = method === 'GET' || method === 'HEAD' ? ['pull'] : method === 'DELETE' ? ['delete'] : ['pull', 'push'];
  return { type: 'repository', name, actions };
}
