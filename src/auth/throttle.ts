// Slows down password guessing: a client address with too many failed logins in a window is refused
// (429 with Retry-After) until the window ends. Bounded memory: the table is cleared when it grows too large.
export interface ThrottleVerdict {
  blocked: boolean;
  /** Seconds until the client may try again. */
  retryAfter: number;
}

const maxTracked = 10_000;

export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    readonly maxFailures = 20,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  check(client: string): ThrottleVerdict {
    const f = this.failures.get(client);
    const t = this.now();
    if (!f || f.resetAt <= t) return { blocked: false, retryAfter: 0 };
    return { blocked: f.count >= this.maxFailures, retryAfter: Math.ceil((f.resetAt - t) / 1000) };
  }

  fail(client: string): void {
    const t = this.now();
    const f = this.failures.get(client);
    if (f && f.resetAt > t) {
      f.count++;
      return;
    }
    if (this.failures.size >= maxTracked) this.failures.clear();
    this.failures.set(client, { count: 1, resetAt: t + this.windowMs });
  }
}
