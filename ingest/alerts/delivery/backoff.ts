// Retry delays of alert deliveries: exponential with "equal jitter" (half fixed, half random), so
// receivers that failed together are not retried in lock-step and no delay collapses to zero.

export interface BackoffOptions {
  /** Delay before the first retry, ms (before jitter). */
  readonly baseMs: number;
  /** Cap of any delay, ms. */
  readonly maxMs: number;
  /** Uniform [0, 1); injectable for tests. */
  readonly random?: () => number;
}

/** Delay before retry number `retry` (1 = the first retry), in [d/2, d) with d = min(max, base·2^(retry-1)). */
export function backoffDelayMs(retry: number, opts: BackoffOptions): number {
  const d = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, retry - 1));
  return d / 2 + (opts.random ?? Math.random)() * (d / 2);
}
