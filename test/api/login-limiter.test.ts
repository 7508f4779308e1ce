// The failed-login limiter on its own, with a fake clock: lockouts start past the allowance and
// double per further failure up to the ceiling, a success clears the account, quiet keys are
// forgotten, memory is bounded. TRUST_PROXY parsing refuses settings that would trust any client.
import { describe, expect, it } from 'vitest';
import { createLoginLimiter } from '../../api/login-limiter.ts';
import { parseConfig } from '../../server/config.ts';

describe('createLoginLimiter', () => {
  const make = (now: { ms: number }, maxKeys?: number) =>
    createLoginLimiter({ maxFailuresPerAccount: 3, maxFailuresPerAddress: 10, lockoutMs: 1000, lockoutMaxMs: 8000, now: () => now.ms, ...(maxKeys ? { maxKeys } : {}) });

  it('locks past the allowance with a doubling lockout up to the ceiling', () => {
    const now = { ms: 0 };
    const l = make(now);
    l.onFailure('lan', 'a');
    l.onFailure('lan', 'a');
    expect(l.retryAfterMs('lan', 'b')).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      l.onFailure('lan', 'a');
      waits.push(l.retryAfterMs('lan', 'b'));
      now.ms += waits.at(-1)!; // the client waits it out, then fails again
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(l.retryAfterMs('minh', 'b')).toBe(0);
  });

  it('clears an account on success and forgets quiet keys', () => {
    const now = { ms: 0 };
    const l = make(now);
    for (let i = 0; i < 3; i++) l.onFailure('lan', 'a');
    now.ms += 1000;
    l.onSuccess('lan');
    l.onFailure('lan', 'a');
    expect(l.retryAfterMs('lan', 'x')).toBe(0); // one failure after the reset: within the allowance
    for (let i = 0; i < 2; i++) l.onFailure('thu', 'c');
    now.ms += 8001; // longer than the ceiling without a failure
    l.onFailure('thu', 'c');
    expect(l.retryAfterMs('thu', 'x')).toBe(0); // the earlier two were forgotten
  });

  it('keeps at most maxKeys keys (the least recently failed forgotten first)', () => {
    const now = { ms: 0 };
    const l = make(now, 4);
    for (let i = 0; i < 3; i++) l.onFailure('lan', 'a'); // 2 keys: lan, a
    for (const u of ['u1', 'u2', 'u3']) l.onFailure(u, 'a'); // keys u1..u3 push lan out
    expect(l.retryAfterMs('lan', 'z')).toBe(0);
  });
});

describe('TRUST_PROXY', () => {
  const trust = (v: string) => parseConfig({ TRUST_PROXY: v }).trustProxy;
  it('accepts false, a hop count, and addresses or CIDRs; refuses true and junk', () => {
    expect(trust('false')).toBe(false);
    expect(trust('1')).toBe(1);
    expect(trust('10.0.0.5, 192.168.0.0/16,loopback')).toEqual(['10.0.0.5', '192.168.0.0/16', 'loopback']);
    expect(() => trust('true')).toThrow(/TRUST_PROXY/);
    expect(() => trust('proxy.example.org')).toThrow(/TRUST_PROXY/);
  });
});
