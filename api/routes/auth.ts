// Auth routes: `POST /api/auth/login` exchanges an officer's or operator's password for a signed
// bearer token, within the failed-login limits (api/login-limiter.ts: per account and per client
// address, 429 LOGIN_LOCKED with Retry-After); `GET /api/auth/me` tells a client who its token
// belongs to.
import type { FastifyInstance } from 'fastify';
import { LoginRequestSchema } from '../../contracts/api.ts';
import type { Auth } from '../auth.ts';
import { ApiError } from '../errors.ts';
import type { LoginLimiter } from '../login-limiter.ts';
import { BusyError } from '../../server/semaphore.ts';
import { parseOr400 } from '../validate.ts';

export interface AuthRoutesDeps {
  readonly auth: Auth;
  readonly limiter: LoginLimiter;
  /** Counts each login by outcome: ok, failed, locked, busy. */
  readonly onLogin?: (outcome: 'ok' | 'failed' | 'locked' | 'busy') => void;
}

export async function authRoutes(app: FastifyInstance, deps: AuthRoutesDeps): Promise<void> {
  app.post('/api/auth/login', async (req, reply) => {
    const body = parseOr400(LoginRequestSchema, req.body, 'BAD_BODY');
    const waitMs = deps.limiter.retryAfterMs(body.user, req.ip);
    if (waitMs > 0) {
      deps.onLogin?.('locked');
      const s = Math.ceil(waitMs / 1000);
      void reply.header('retry-after', String(s));
      throw new ApiError('LOGIN_LOCKED', `too many failed logins for this account or from your address; retry in ${s} s`);
    }
    let session: Awaited<ReturnType<Auth['login']>>;
    try {
      session = await deps.auth.login(body.user, body.password);
    } catch (err) {
      if (!(err instanceof BusyError)) throw err;
      deps.onLogin?.('busy');
      void reply.header('retry-after', '1');
      throw new ApiError('BUSY', 'too many logins at once; retry in a second', { cause: err });
    }
    if (!session) {
      deps.limiter.onFailure(body.user, req.ip);
      deps.onLogin?.('failed');
      throw new ApiError('LOGIN_FAILED');
    }
    deps.limiter.onSuccess(body.user);
    deps.onLogin?.('ok');
    void reply.header('cache-control', 'no-store');
    return { token: session.token, tokenType: 'Bearer', user: session.user, role: session.role, expiresAt: new Date(session.expiresAt).toISOString() };
  });

  app.get('/api/auth/me', { preHandler: deps.auth.requireRole('officer', 'operator') }, async (req) => {
    const p = req.principal!;
    return { user: p.user, role: p.role, expiresAt: new Date(p.expiresAt).toISOString() };
  });
}
