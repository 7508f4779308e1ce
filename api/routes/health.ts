// Health and metrics: /healthz (the process answers), /readyz (can it do its job: each check says
// what is wrong), /metrics (Prometheus). Public answers stay minimal — check names and ok/failing,
// never addresses or messages; the details go to an operator's token or the METRICS_TOKEN bearer.
// With METRICS_TOKEN set, /metrics answers only that bearer.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';
import type { Auth } from '../auth.ts';
import { tokenFromRequest } from '../auth.ts';
import { ApiError } from '../errors.ts';

export interface ReadinessCheck {
  readonly name: string;
  /** undefined when healthy, else what is wrong. */
  check(): Promise<string | undefined>;
  /** A problem here is reported but leaves the server ready (status `degraded`, HTTP 200). */
  readonly degradesOnly?: boolean;
}

export interface HealthDeps {
  readonly readiness: readonly ReadinessCheck[];
  readonly metrics: PromRegistry;
  /** The /metrics text when it is more than `metrics` (both threads' registries merged). */
  readonly exposition?: (() => Promise<string>) | undefined;
  readonly auth: Auth;
  /** Bearer token required on /metrics and accepted for /readyz details; undefined = /metrics public. */
  readonly metricsToken?: string | undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Constant-time comparison of a presented token with the configured one. */
export const sameToken = (given: string | undefined, expected: string): boolean => given !== undefined && timingSafeEqual(digest(given), digest(expected));

export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  const isOperator = (req: FastifyRequest): boolean => {
    const token = tokenFromRequest(req);
    if (token === undefined) return false;
    if (deps.metricsToken !== undefined && sameToken(token, deps.metricsToken)) return true;
    return deps.auth.verifyToken(token)?.role === 'operator';
  };

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (req, reply) => {
    const results = await Promise.all(
      deps.readiness.map(async (c) => ({ c, problem: await c.check().catch((e: unknown) => (e instanceof Error ? e.message : String(e))) })),
    );
    const failing = results.some((r) => r.problem !== undefined && !r.c.degradesOnly);
    const degraded = results.some((r) => r.problem !== undefined);
    const status = failing ? 'not ready' : degraded ? 'degraded' : 'ready';
    const detailed = isOperator(req);
    const checks = Object.fromEntries(results.map(({ c, problem }) => [c.name, problem === undefined ? 'ok' : detailed ? problem : c.degradesOnly ? 'degraded' : 'failing']));
    void reply.header('cache-control', 'no-store');
    return reply.status(failing ? 503 : 200).send({ status, checks });
  });

  app.get('/metrics', async (req, reply) => {
    if (deps.metricsToken !== undefined && !sameToken(tokenFromRequest(req), deps.metricsToken)) throw new ApiError('UNAUTHORIZED', 'this needs the METRICS_TOKEN bearer token');
    return reply.type(deps.metrics.contentType).send(await (deps.exposition ? deps.exposition() : deps.metrics.metrics()));
  });
}
