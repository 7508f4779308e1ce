// Officer/operator auth: login against the users file, bearer tokens checked by role, tampered and
// expired tokens refused, and verifyToken for WebSocket upgrades; over real HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth, loadOrCreateSecret, setUser, type Auth } from '../../api/auth.ts';
import { ApiError } from '../../api/errors.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;

beforeAll(async () => {
  t = await startTestQuantrac();
  await setUser(join(t.dataDir, 'users.json'), 'lan', 'officer', 'correct horse battery');
  await setUser(join(t.dataDir, 'users.json'), 'minh', 'operator', 'staple 42');
});
afterAll(async () => t?.stop());

const login = (user: string, password: string) =>
  fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });

describe('POST /api/auth/login', () => {
  it('returns a bearer token with the user role for good credentials', async () => {
    const res = await login('lan', 'correct horse battery');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { token: string; role: string; user: string; expiresAt: string };
    expect(body).toMatchObject({ user: 'lan', role: 'officer', tokenType: 'Bearer' });
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
    const me = await fetch(`${t.httpUrl}/api/auth/me`, { headers: { authorization: `Bearer ${body.token}` } });
    expect(await me.json()).toMatchObject({ user: 'lan', role: 'officer' });
  });

  it('refuses a wrong password and an unknown user alike (401 LOGIN_FAILED)', async () => {
    for (const [u, p] of [['lan', 'wrong'], ['nobody', 'x']] as const) {
      const res = await login(u, p);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'LOGIN_FAILED' });
    }
  });

  it('answers 400 BAD_BODY to a malformed body', async () => {
    const res = await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'lan' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'BAD_BODY' });
  });

  it('refuses /api/auth/me without a token or with a tampered one', async () => {
    expect((await fetch(`${t.httpUrl}/api/auth/me`)).status).toBe(401);
    const { token } = (await (await login('minh', 'staple 42')).json()) as { token: string };
    const [body, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ sub: 'minh', role: 'officer', exp: Date.now() + 1e6 })).toString('base64url');
    for (const bad of [`${forged}.${mac}`, `${body}.${mac.slice(0, -2)}AA`, 'garbage']) {
      const res = await fetch(`${t.httpUrl}/api/auth/me`, { headers: { authorization: `Bearer ${bad}` } });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'UNAUTHORIZED' });
    }
  });
});

describe('requireRole and verifyToken', () => {
  let app: FastifyInstance;
  let auth: Auth;
  let url: string;
  let dir: string;
  let nowMs = Date.now();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quantrac-auth-'));
    await setUser(join(dir, 'users.json'), 'lan', 'officer', 'pw-officer');
    await setUser(join(dir, 'users.json'), 'minh', 'operator', 'pw-operator');
    auth = createAuth({ usersPath: join(dir, 'users.json'), secret: loadOrCreateSecret(undefined, join(dir, 'secret')), tokenTtlS: 60, now: () => nowMs });
    app = Fastify();
    app.setErrorHandler((err, _req, reply) => (err instanceof ApiError ? reply.status(err.status).send({ error: err.code }) : reply.status(500).send()));
    app.get('/officer', { preHandler: auth.requireRole('officer') }, async (req) => ({ user: req.principal?.user }));
    app.get('/operator', { preHandler: auth.requireRole('operator') }, async (req) => ({ user: req.principal?.user }));
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, token?: string) => fetch(`${url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('grants each role its routes and refuses the other (403)', async () => {
    const officer = (await auth.login('lan', 'pw-officer'))!.token;
    const operator = (await auth.login('minh', 'pw-operator'))!.token;
    expect(await (await get('/officer', officer)).json()).toEqual({ user: 'lan' });
    expect(await (await get('/operator', operator)).json()).toEqual({ user: 'minh' });
    expect((await get('/officer', operator)).status).toBe(403);
    expect((await get('/operator', officer)).status).toBe(403);
    expect((await get('/officer')).status).toBe(401);
  });

  it('refuses ?access_token= (tokens in URLs end up in logs); verifyToken returns the principal', async () => {
    const token = auth.issueToken('lan', 'officer');
    expect((await fetch(`${url}/officer?access_token=${encodeURIComponent(token)}`)).status).toBe(401);
    expect((await fetch(`${url}/officer?access_token=${encodeURIComponent(token)}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(auth.verifyToken(token)).toMatchObject({ user: 'lan', role: 'officer' });
  });

  it('refuses expired tokens and tokens of removed or re-roled users', async () => {
    const token = auth.issueToken('lan', 'officer');
    nowMs += 61_000;
    expect(auth.verifyToken(token)).toBeUndefined();
    nowMs = Date.now();
    const stale = auth.issueToken('minh', 'operator');
    await setUser(join(dir, 'users.json'), 'minh', 'officer', 'pw');
    expect(auth.verifyToken(stale)).toBeUndefined();
    expect(auth.verifyToken(auth.issueToken('ghost', 'officer'))).toBeUndefined();
  });
});
