// Operator routes: the live hub's and the response cache's counters (who is connected, who is
// being coalesced or was disconnected for not reading, how often the cache saved a query).
import type { FastifyInstance } from 'fastify';
import type { Auth } from '../auth.ts';
import type { ResponseCache } from '../cache.ts';
import type { LiveHub } from '../live-hub.ts';

export async function opsRoutes(app: FastifyInstance, deps: { readonly auth: Auth; readonly live: LiveHub; readonly cache: ResponseCache }): Promise<void> {
  app.get('/api/ops/stats', { preHandler: deps.auth.requireRole('operator') }, async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
    return { live: deps.live.stats(), cache: deps.cache.stats() };
  });
}
