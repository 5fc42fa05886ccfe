// Repository globs of access policies: `*` matches within one path segment, `**` across segments
// (`team-a/**` matches `team-a/app` and `team-a/x/y`, not `team-a`); every other character is literal.

export type RepositoryMatcher = (name: string) => boolean;

export function compileGlob(glob: string): RepositoryMatcher {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        source += '.*';
        i++;
      } else {
        source += '[^/]*';
      }
    } else {
      source += c.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');
    }
  }
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}

/** A matcher for any of several globs. */
export function compileGlobs(globs: readonly string[]): RepositoryMatcher {
  const matchers = globs.map(compileGlob);
  return (name) => matchers.some((m) => m(name));
}
