// Failed-login limits (per account and per client address, with lockout), the global API rate limit
// (429 + Retry-After), TRUST_PROXY deciding which address a client has, and the bound on password
// hashing running at once — over real HTTP on a running server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth, loadOrCreateSecret, setUser } from '../../api/auth.ts';
import { BusyError } from '../../server/semaphore.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const login = (t: TestQuantrac, user: string, password: string, from?: string) =>
  fetch(`${t.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(from ? { 'x-forwarded-for': from } : {}) },
    body: JSON.stringify({ user, password }),
  });

describe('failed logins, no proxy trusted', () => {
  let t: TestQuantrac;
  beforeAll(async () => {
    t = await startTestQuantrac({ API_LOGIN_MAX_FAILURES: '3', API_LOGIN_MAX_FAILURES_PER_ADDRESS: '6', API_LOGIN_LOCKOUT_MS: '60000' });
    for (const u of ['lan', 'minh', 'thu']) await setUser(join(t.dataDir, 'users.json'), u, 'officer', `pw-${u}`);
  });
  afterAll(async () => t?.stop());

  it('locks an account after its allowance, even for the right password, with Retry-After; other accounts unaffected', async () => {
    for (let i = 0; i < 3; i++) expect((await login(t, 'lan', 'wrong')).status).toBe(401);
    const locked = await login(t, 'lan', 'pw-lan');
    expect(locked.status).toBe(429);
    expect(await locked.json()).toMatchObject({ error: 'LOGIN_LOCKED' });
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await login(t, 'minh', 'pw-minh')).status).toBe(200);
  });

  it('locks a client address across accounts; X-Forwarded-For from an untrusted peer changes nothing', async () => {
    // 3 failures so far from this address (the test above); 3 more on other accounts, each from a "different" forwarded address.
    for (const [u, from] of [['minh', '198.51.100.1'], ['thu', '198.51.100.2'], ['nobody', '198.51.100.3']] as const) {
      expect((await login(t, u, 'wrong', from)).status).toBe(401);
    }
    const res = await login(t, 'thu', 'pw-thu', '198.51.100.4');
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: 'LOGIN_LOCKED' });
  });
});

describe('behind a trusted reverse proxy (TRUST_PROXY)', () => {
  let t: TestQuantrac;
  beforeAll(async () => {
    t = await startTestQuantrac({ TRUST_PROXY: '127.0.0.1', API_LOGIN_MAX_FAILURES: '50', API_LOGIN_MAX_FAILURES_PER_ADDRESS: '2', API_RATE_LIMIT_PER_MIN: '5' });
    await setUser(join(t.dataDir, 'users.json'), 'lan', 'officer', 'pw-lan');
  });
  afterAll(async () => t?.stop());

  it('limits failed logins per real client, so one client cannot lock out the others', async () => {
    for (let i = 0; i < 2; i++) expect((await login(t, 'lan', 'wrong', '203.0.113.7')).status).toBe(401);
    expect((await login(t, 'lan', 'pw-lan', '203.0.113.7')).status).toBe(429);
    expect((await login(t, 'lan', 'pw-lan', '203.0.113.8')).status).toBe(200);
  });

  it('answers 429 RATE_LIMITED with Retry-After past API_RATE_LIMIT_PER_MIN, per client, health probes exempt', async () => {
    const get = (path: string, from: string) => fetch(`${t.httpUrl}${path}`, { headers: { 'x-forwarded-for': from } });
    for (let i = 0; i < 5; i++) expect((await get('/api/stations?limit=1', '192.0.2.10')).status).toBe(200);
    const limited = await get('/api/stations?limit=1', '192.0.2.10');
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: 'RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await get('/api/stations?limit=1', '192.0.2.11')).status).toBe(200);
    expect((await get('/healthz', '192.0.2.10')).status).toBe(200);
    expect((await get('/readyz', '192.0.2.10')).status).not.toBe(429);
  });
});

describe('password hashing for logins', () => {
  it('runs at most hashConcurrency scrypt checks at once and refuses a longer queue than hashQueueMax (BusyError)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quantrac-hash-'));
    try {
      await setUser(join(dir, 'users.json'), 'lan', 'officer', 'pw-lan');
      const auth = createAuth({ usersPath: join(dir, 'users.json'), secret: loadOrCreateSecret(undefined, join(dir, 'secret')), tokenTtlS: 60, hashConcurrency: 1, hashQueueMax: 4 });
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => auth.login('lan', i === 0 ? 'pw-lan' : 'wrong')));
      expect(auth.hashingStats().peakRunning).toBe(1);
      expect(results[0]).toMatchObject({ status: 'fulfilled', value: { user: 'lan' } });
      const busy = results.filter((r) => r.status === 'rejected');
      expect(busy.length).toBe(8 - 1 - 4);
      for (const r of busy) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BusyError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
