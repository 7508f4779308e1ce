// The health endpoint of a cluster role without an API of its own (writer, alerts): GET /healthz
// answers 200 with the role's status as JSON while `healthy()` holds, 503 otherwise. Used by
// `npm run cluster -- status`, a service manager or a load balancer's check.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';

export interface RoleHealth {
  readonly url: string;
  close(): Promise<void>;
}

export async function startRoleHealth(host: string, port: number, status: () => { healthy: boolean } & Record<string, unknown>): Promise<RoleHealth> {
  const server: Server = createServer((req, res) => {
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
