// Failed-login limits, separate from the global request rate limit: per account and per client
// address, a number of failures is allowed, then each further failure locks the key for a time that
// doubles (backoff), up to a ceiling. A locked login is refused before any password hashing, so a
// guessing client costs no scrypt work. Keys are forgotten after a quiet spell; memory is bounded.
export interface LoginLimits {
  /** Failures of one account allowed before lockouts start. */
  readonly maxFailuresPerAccount: number;
  /** Failures from one address (any accounts) allowed before lockouts start. */
  readonly maxFailuresPerAddress: number;
  /** First lockout, ms; doubled for each further failure. */
  readonly lockoutMs: number;
  /** Longest lockout, ms; also how long a key without failures is remembered. */
  readonly lockoutMaxMs: number;
}

export interface LoginLimiterOptions extends LoginLimits {
  /** Keys remembered at most (oldest forgotten first). Default 100,000. */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

export interface LoginLimiter {
  /** How long the login must wait (ms), 0 when it may be tried now. */
  retryAfterMs(account: string, address: string): number;
  onFailure(account: string, address: string): void;
  /** A successful login clears its account's failures (the address keeps its count until it decays). */
  onSuccess(account: string): void;
}

type Entry = { failures: number; lockedUntil: number; lastFailureAt: number };

export function createLoginLimiter(opts: LoginLimiterOptions): LoginLimiter {
  const now = opts.now ?? Date.now;
  const maxKeys = opts.maxKeys ?? 100_000;
  const entries = new Map<string, Entry>();

  const get = (key: string, t: number): Entry | undefined => {
    const e = entries.get(key);
    if (e && t >= e.lockedUntil && t - e.lastFailureAt > opts.lockoutMaxMs) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  const fail = (key: string, allowed: number, t: number): void => {
    const e = get(key, t) ?? { failures: 0, lockedUntil: 0, lastFailureAt: t };
    e.failures++;
    e.lastFailureAt = t;
    if (e.failures >= allowed) e.lockedUntil = t + Math.min(opts.lockoutMaxMs, opts.lockoutMs * 2 ** Math.min(30, e.failures - allowed));
    entries.delete(key); // re-inserted last: the Map's order is least recently failed first
    entries.set(key, e);
    while (entries.size > maxKeys) entries.delete(entries.keys().next().value!);
  };
  const accountKey = (a: string) => `u:${a.toLowerCase()}`;
  const addressKey = (a: string) => `a:${a}`;

  return {
    retryAfterMs(account, address) {
      const t = now();
      const waits = [get(accountKey(account), t), get(addressKey(address), t)].map((e) => (e ? Math.max(0, e.lockedUntil - t) : 0));
      return Math.max(...waits);
    },
    onFailure(account, address) {
      const t = now();
      fail(accountKey(account), opts.maxFailuresPerAccount, t);
      fail(addressKey(address), opts.maxFailuresPerAddress, t);
    },
    onSuccess(account) {
      entries.delete(accountKey(account));
    },
  };
}
