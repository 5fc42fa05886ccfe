// htpasswd files with bcrypt entries (`user:$2y$…`, as `htpasswd -B` writes them), re-read when the file changes.
// Other hash kinds (MD5 $apr1$, {SHA}, crypt) are refused with a warning: they are too weak to accept.
// Checking a bcrypt hash costs tens of milliseconds, so a successful check is remembered for a minute
// (keyed by a SHA-256 of user and password, forgotten when the file changes).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';

export class HtpasswdError extends Error {
  override name = 'HtpasswdError';
}

export interface HtpasswdEntries {
  users: Map<string, string>;
  /** Lines skipped, with the reason (never the hash). */
  skipped: string[];
}

export function parseHtpasswd(text: string): HtpasswdEntries {
  const users = new Map<string, string>();
  const skipped: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      skipped.push(`line ${i + 1}: expected USER:HASH`);
      return;
    }
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      skipped.push(`line ${i + 1} (${user}): not a bcrypt hash (use htpasswd -B)`);
      return;
    }
    users.set(user, hash);
  });
  return { users, skipped };
}

const rememberMs = 60_000;

export class HtpasswdFile {
  private entries: HtpasswdEntries = { users: new Map(), skipped: [] };
  private stamp = '';
  private readonly verified = new Map<string, number>();

  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void = () => {},
  ) {
    this.reload(true);
  }

  /** Re-reads the file when its size, mtime or inode changed. A file that became unreadable keeps the last good copy. */
  reload(first = false): void {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (e) {
      if (first) throw new HtpasswdError(`cannot read htpasswd file ${this.path}: ${(e as Error).message}`);
      return;
    }
    if (stamp === this.stamp) return;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if (first) throw new HtpasswdError(`cannot read htpasswd file ${this.path}: ${(e as Error).message}`);
      return;
    }
    this.entries = parseHtpasswd(text);
    this.stamp = stamp;
    this.verified.clear();
    for (const s of this.entries.skipped) this.warn(`htpasswd ${this.path}: ${s}`);
  }

  has(user: string): boolean {
    this.reload();
    return this.entries.users.has(user);
  }

  async verify(user: string, password: string): Promise<boolean> {
    this.reload();
    const hash = this.entries.users.get(user);
    if (hash === undefined) return false;
    const key = createHash('sha256').update(user).update('\0').update(password).update('\0').update(hash).digest('hex');
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    // bcryptjs knows $2a$/$2b$; $2y$ (PHP, Apache) is the same algorithm.
    const ok = await bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
    if (ok) {
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(key, Date.now() + rememberMs);
    }
    return ok;
  }
}
