// Access decisions from the configured policies: which actions a user (or the anonymous caller) may take on a
// repository, the catalog and Wharf's own API, and what a token request is granted (asked ∩ allowed).
import type { AuthConfig, PolicyAction } from './config.js';
import { compileGlobs, type RepositoryMatcher } from './glob.js';
import { mergeAccess, type AccessEntry } from './scope.js';

const repositoryActions = ['pull', 'push', 'delete'] as const;

interface CompiledPolicy {
  matches: RepositoryMatcher;
  users: Set<string>;
  groups: Set<string>;
  anonymous: boolean;
  actions: Set<PolicyAction>;
}

export class Policy {
  private readonly policies: CompiledPolicy[];
  private readonly groupsByUser = new Map<string, Set<string>>();
  private readonly adminUsers = new Set<string>();
  private readonly adminGroups = new Set<string>();

  constructor(config: Pick<AuthConfig, 'policies' | 'groups' | 'admins'>) {
    for (const [group, members] of Object.entries(config.groups)) {
      for (const m of members) {
        let set = this.groupsByUser.get(m);
        if (!set) this.groupsByUser.set(m, (set = new Set()));
        set.add(group);
      }
    }
    for (const a of config.admins) {
      if (a.startsWith('group:')) this.adminGroups.add(a.slice('group:'.length));
      else this.adminUsers.add(a);
    }
    this.policies = config.policies.map((p) => ({
      matches: compileGlobs(p.repositories),
      users: new Set(p.users),
      groups: new Set(p.groups),
      anonymous: p.anonymous,
      actions: new Set(p.actions),
    }));
  }

  groupsOf(user: string): string[] {
    return [...(this.groupsByUser.get(user) ?? [])].sort();
  }

  isAdmin(user: string | undefined): boolean {
    if (user === undefined) return false;
    return this.adminUsers.has(user) || this.groupsOf(user).some((g) => this.adminGroups.has(g));
  }

  private applies(p: CompiledPolicy, user: string | undefined): boolean {
    if (p.anonymous) return true;
    if (user === undefined) return false;
    return p.users.has(user) || p.users.has('*') || this.groupsOf(user).some((g) => p.groups.has(g));
  }

  /** The actions `user` (undefined = anonymous) may take on repository `name`. */
  repositoryActions(user: string | undefined, name: string): Set<string> {
    if (this.isAdmin(user)) return new Set(repositoryActions);
    const out = new Set<string>();
    for (const p of this.policies) {
      if (!this.applies(p, user) || !p.matches(name)) continue;
      for (const a of p.actions) if (a !== 'catalog') out.add(a);
    }
    return out;
  }

  mayListCatalog(user: string | undefined): boolean {
    return this.isAdmin(user) || this.policies.some((p) => p.actions.has('catalog') && this.applies(p, user));
  }

  mayPull(user: string | undefined, name: string): boolean {
    return this.repositoryActions(user, name).has('pull');
  }

  /** The actions allowed on one resource (`*` asks for all of them). */
  private allowedOn(user: string | undefined, type: string, name: string): Set<string> {
    if (type === 'repository') return this.repositoryActions(user, name);
    if (type === 'registry' && name === 'catalog') return new Set(this.mayListCatalog(user) ? ['*'] : []);
    if (type === 'registry' && name === 'admin') return new Set(this.isAdmin(user) ? ['*'] : []);
    return new Set();
  }

  /** What a token for `user` carries: each asked action that is allowed; resources with none are left out. */
  grant(user: string | undefined, asked: readonly AccessEntry[]): AccessEntry[] {
    const out: AccessEntry[] = [];
    for (const e of mergeAccess(asked)) {
      const allowed = this.allowedOn(user, e.type, e.name);
      const actions = e.actions.includes('*') ? [...allowed] : e.actions.filter((a) => allowed.has(a) || allowed.has('*'));
      if (actions.length > 0) out.push({ type: e.type, name: e.name, actions: [...new Set(actions)].sort() });
    }
    return out;
  }

  /** Whether `user` may do everything `needed` asks. */
  allows(user: string | undefined, needed: AccessEntry): boolean {
    const allowed = this.allowedOn(user, needed.type, needed.name);
    return allowed.has('*') || needed.actions.every((a) => allowed.has(a));
  }
}
