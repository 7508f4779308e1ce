// Per-address admission at the listener, before any MQTT byte is parsed: a bound on open
// connections, and a connect-rate window whose breach bans the address for a while (flapping or
// flooding clients; like EMQX's flapping detection, but keyed by address since no client id is
// known yet). Clock injected so tests need no sleeps.

export type AddressRefusal = 'too_many_connections' | 'connect_rate' | 'banned';

export interface AddressLimits {
  readonly maxConnections: number;
  /** Attempts allowed per window; the next one bans the address. */
  readonly burst: number;
  readonly windowMs: number;
  readonly banMs: number;
}

interface Entry {
  open: number;
  windowStartMs: number;
  attempts: number;
  bannedUntilMs: number;
}

export interface AddressLimiter {
  /** undefined: admitted (call release when it closes); else why it is refused. */
  admit(address: string): AddressRefusal | undefined;
  release(address: string): void;
  /** Forgets idle addresses; call periodically. */
  sweep(): void;
  size(): number;
}

export function createAddressLimiter(limits: AddressLimits, now: () => number = Date.now): AddressLimiter {
  const entries = new Map<string, Entry>();
  return {
    admit(address) {
      const t = now();
      let e = entries.get(address);
      if (!e) entries.set(address, (e = { open: 0, windowStartMs: t, attempts: 0, bannedUntilMs: 0 }));
      if (e.bannedUntilMs > t) return 'banned';
      if (t - e.windowStartMs >= limits.windowMs) {
        e.windowStartMs = t;
        e.attempts = 0;
      }
      if (++e.attempts > limits.burst) {
        e.bannedUntilMs = t + limits.banMs;
        return 'connect_rate';
      }
      if (e.open >= limits.maxConnections) return 'too_many_connections';
      e.open++;
      return undefined;
    },
    release(address) {
      const e = entries.get(address);
      if (e && e.open > 0) e.open--;
    },
    sweep() {
      const t = now();
      for (const [address, e] of entries) {
        if (e.open === 0 && e.bannedUntilMs <= t && t - e.windowStartMs >= limits.windowMs) entries.delete(address);
      }
    },
    size: () => entries.size,
  };
}
