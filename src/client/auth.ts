// Pieces of the registry auth flow that need no I/O: WWW-Authenticate parsing (RFC 9110 challenges,
// several per header, quoted strings with escapes, token68) and token scopes
// (`repository:demo/app:pull,push`), which can be merged and compared so that a token granted for a
// wider scope serves narrower requests.

export interface Challenge {
  /** Lower case: `bearer`, `basic`, … */
  scheme: string;
  /** Parameter names are lower case; values are unquoted. */
  params: Record<string, string>;
  token68?: string;
}

const tchar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Parses every challenge of one or several WWW-Authenticate header values. Never throws; skips garbage. */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (typeof header !== 'string') return header.flatMap((h) => parseWwwAuthenticate(h));
  const s = header;
  let i = 0;
  const out: Challenge[] = [];
  const skipWs = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && tchar.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    // at the opening quote
    i++;
    let v = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i];
      i++;
    }
    i++; // closing quote (or end)
    return v;
  };
  while (i < s.length) {
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const scheme = readToken();
    if (scheme === '') {
      i++; // garbage: skip one character
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    skipWs();
    // A lone token68 (`Negotiate abc==`): token68 characters, `=` only as padding, then a comma or the end.
    const m = /^[A-Za-z0-9\-._~+/]+=*[ \t]*(?:,|$)/.exec(s.slice(i));
    if (m) {
      challenge.token68 = m[0].replace(/[ \t,]+$/, '');
      i += m[0].length;
      continue;
    }
    // auth-params
    for (;;) {
      skipWs();
      const paramStart = i;
      const name = readToken();
      if (name === '') break;
      skipWs();
      if (s[i] !== '=') {
        // Not a parameter: the start of the next challenge.
        i = paramStart;
        break;
      }
      i++;
      skipWs();
      const value = s[i] === '"' ? readQuoted() : readToken();
      challenge.params[name.toLowerCase()] = value;
      skipWs();
      if (s[i] === ',') {
        i++;
        // A comma may separate parameters or challenges: look ahead for `token =`.
        skipWs();
        const look = i;
        const next = readToken();
        skipWs();
        const isParam = next !== '' && s[i] === '=';
        i = look;
        if (!isParam) break;
        continue;
      }
      break;
    }
  }
  return out;
}

/** A set of scopes: resource (`repository:demo/app`) → actions (`pull`, `push`, `delete`, `*`). */
export type ScopeSet = Map<string, Set<string>>;

/** Parses `type:name:actions` (the name may itself contain colons, e.g. a host with a port). */
export function parseScope(scope: string): { resource: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  return { resource: scope.slice(0, last), actions };
}

/** Builds a ScopeSet from scope strings; a string may hold several space-separated scopes. */
export function scopeSet(scopes: Iterable<string> = []): ScopeSet {
  const set: ScopeSet = new Map();
  addScopes(set, scopes);
  return set;
}

export function addScopes(set: ScopeSet, scopes: Iterable<string>): ScopeSet {
  for (const group of scopes) {
    for (const one of group.split(/\s+/)) {
      if (one === '') continue;
      const p = parseScope(one);
      if (!p) continue;
      let actions = set.get(p.resource);
      if (!actions) set.set(p.resource, (actions = new Set()));
      for (const a of p.actions) actions.add(a);
    }
  }
  return set;
}

export function mergeScopes(...sets: ScopeSet[]): ScopeSet {
  const out: ScopeSet = new Map();
  for (const s of sets) for (const [r, actions] of s) {
    let a = out.get(r);
    if (!a) out.set(r, (a = new Set()));
    for (const x of actions) a.add(x);
  }
  return out;
}

/** Whether a token granted `granted` also serves `wanted`. */
export function coversScopes(granted: ScopeSet, wanted: ScopeSet): boolean {
  for (const [resource, actions] of wanted) {
    const have = granted.get(resource);
    if (!have) return false;
    if (have.has('*')) continue;
    for (const a of actions) if (!have.has(a)) return false;
  }
  return true;
}

/** Scope strings in a stable order (`repository:a:pull,push`), one per resource. */
export function formatScopes(set: ScopeSet): string[] {
  return [...set.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`);
}

/** The scope a request on a repository needs. */
export function repositoryScope(repository: string, ...actions: ('pull' | 'push' | 'delete' | '*')[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

export const catalogScope = 'registry:catalog:*';
