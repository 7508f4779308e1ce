// The HTTP endpoint of a cluster role without an API of its own (writer, alerts): GET /healthz
// answers 200 with the role's status as JSON while `healthy()` holds, 503 otherwise (used by
// `npm run cluster -- status`, a service manager or a load balancer's check); GET /metrics the
// role's Prometheus registry (ingest/metrics.ts), behind METRICS_TOKEN when set, as the API's.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { Registry } from 'prom-client';
import { sameToken } from '../../api/routes/health.ts';

export interface RoleHealth {
  readonly url: string;
  close(): Promise<void>;
}

export interface RoleMetrics {
  readonly registry: Registry;
  /** Bearer token required on /metrics; undefined = public. */
  readonly token?: string | undefined;
  /** Sets the gauges read at scrape time (lane lag). */
  readonly beforeScrape?: () => void;
}

export async function startRoleHealth(host: string, port: number, status: () => { healthy: boolean } & Record<string, unknown>, metrics?: RoleMetrics): Promise<RoleHealth> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics' && metrics) {
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      if (metrics.token !== undefined && !sameToken(token, metrics.token)) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'UNAUTHORIZED', message: 'this needs the METRICS_TOKEN bearer token' }));
        return;
      }
      metrics.beforeScrape?.();
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
      );
      return;
    }
    const s = status();
    const code = req.url === '/healthz' ? (s.healthy ? 200 : 503) : 404;
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ pid: process.pid, ...s }));
  });
  server.listen(port, host);
  await once(server, 'listening');
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
