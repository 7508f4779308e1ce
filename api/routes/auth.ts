// Auth routes: `POST /api/auth/login` exchanges an officer's or operator's password for a signed
// bearer token; `GET /api/auth/me` tells a client who its token belongs to.
import type { FastifyInstance } from 'fastify';
import { LoginRequestSchema } from '../../contracts/api.ts';
import type { Auth } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { parseOr400 } from '../validate.ts';

export async function authRoutes(app: FastifyInstance, deps: { readonly auth: Auth }): Promise<void> {
  app.post('/api/auth/login', async (req, reply) => {
    const body = parseOr400(LoginRequestSchema, req.body, 'BAD_BODY');
    const session = await deps.auth.login(body.user, body.password);
    if (!session) throw new ApiError('LOGIN_FAILED');
    void reply.header('cache-control', 'no-store');
    return { token: session.token, tokenType: 'Bearer', user: session.user, role: session.role, expiresAt: new Date(session.expiresAt).toISOString() };
  });

  app.get('/api/auth/me', { preHandler: deps.auth.requireRole('officer', 'operator') }, async (req) => {
    const p = req.principal!;
    return { user: p.user, role: p.role, expiresAt: new Date(p.expiresAt).toISOString() };
  });
}
