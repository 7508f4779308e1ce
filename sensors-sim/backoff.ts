// Reconnect delays: exponential with "equal jitter" (half fixed, half random), capped, so a city
// of gateways coming back after a broker restart does not reconnect in lockstep.
export interface BackoffOptions {
  /** First retry delay, ms. */
  readonly minMs: number;
  /** Largest delay, ms. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minMs: 1000, maxMs: 30_000 };

/** Delay before retry number `attempt` (0-based); `random` is injectable for tests. */
export function backoffDelayMs(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
