// Public alert route: the active warnings as citizens see them, without acknowledgement details
// (officer names and notes stay internal). The officer routes live in their own file and use
// requireRole('officer') from api/auth.ts.
import type { FastifyInstance } from 'fastify';
import type { Alert } from '../../contracts/alerts.ts';

/** What this route needs from the alert engine (ingest/alerts): its active alerts. */
export interface PublicAlertSource {
  list(filter?: { state?: 'active' | 'cleared' }): Alert[];
}

export async function publicAlertRoutes(app: FastifyInstance, deps: { readonly alerts?: PublicAlertSource | undefined }): Promise<void> {
  app.get('/api/alerts/public', async (_req, reply) => {
    const active = (deps.alerts?.list({ state: 'active' }) ?? []).filter((a) => a.state === 'active');
    void reply.header('cache-control', 'public, max-age=5');
    return {
      alerts: active.map(({ acknowledged: _ack, ...rest }) => rest),
      generatedAt: new Date().toISOString(),
    };
  });
}
