// buildApp(): the HTTP API as a Fastify instance, ready for `inject` or `listen` (only the server
// entry listens). Routes: stations, live WebSocket, health, metrics, and the portal at `/`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, type Registry as PromRegistry } from 'prom-client';
import type { Registry } from '../contracts/stations.ts';
import type { InfluxHttp } from '../ingest/influx/influx-http.ts';
import type { Auth } from './auth.ts';
import { onApiError } from './error-handler.ts';
import { createLoginLimiter, type LoginLimits } from './login-limiter.ts';
import type { LiveHub } from './live-hub.ts';
import type { NowView } from './now-view.ts';
import { createResponseCache } from './cache.ts';
import { publicAlertRoutes, type PublicAlertSource } from './routes/alerts-public.ts';
import { alertRoutes, type AlertApi } from './routes/alerts.ts';
import { authRoutes } from './routes/auth.ts';
import { docsRoutes } from './routes/docs.ts';
import { exportRoutes } from './routes/export.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';
import { opsRoutes } from './routes/ops.ts';
import { portalConfigRoutes } from './routes/portal-config.ts';
import { portalRoutes } from './routes/portal.ts';
import { reportRoutes } from './routes/reports.ts';
import { createHourlySource } from './reports/hourly-source.ts';
import { snapshotRoutes } from './routes/snapshot.ts';
import { stationRoutes } from './routes/stations.ts';
import { validationRoutes } from './routes/validations.ts';
import type { ValidationStore } from './validation-store.ts';
import type { AuditEvent } from '../server/audit-log.ts';
import { registerSecurity } from './security.ts';

export type { ReadinessCheck };

export interface ApiOptions {
  readonly rateLimitPerMin: number;
  readonly corsOrigins: readonly string[];
  readonly cacheTtlMs: number;
  readonly maxRangeMs: number;
  readonly maxPoints: number;
  readonly exportMaxRows: number;
  readonly tileUrl: string;
  readonly wsMaxPayloadBytes: number;
  /** Bearer token required on /metrics (and accepted for /readyz details); undefined = /metrics public. */
  readonly metricsToken?: string | undefined;
  /** Failed-login limits (api/login-limiter.ts); defaults: 5 per account, 20 per address, 60 s doubling to 15 min. */
  readonly login?: LoginLimits | undefined;
  /** Fastify's trustProxy: which X-Forwarded-For hops to believe for the client address (TRUST_PROXY). */
  readonly trustProxy?: false | number | readonly string[] | undefined;
}

export interface AppDeps {
  readonly registry: Registry;
  readonly influx: InfluxHttp;
  /** Reads the hourly/daily rollups (their retention policy / bucket); absent = `influx`. */
  readonly rollupInflux?: InfluxHttp | undefined;
  readonly live: LiveHub;
  /** This thread's Prometheus registry (the API registers its own metrics in it). */
  readonly metrics: PromRegistry;
  /** The /metrics text when it is more than `metrics` (both threads' registries merged). */
  readonly exposition?: (() => Promise<string>) | undefined;
  readonly readiness: readonly ReadinessCheck[];
  /** Officer/operator tokens (api/auth.ts). */
  readonly auth: Auth;
  /** Limits, caching and security of the public API (server/config.ts API_* and WS_*). */
  readonly api: ApiOptions;
  /** The alert engine's active alerts, once it is wired; absent = no alerts. */
  readonly alerts?: PublicAlertSource | undefined;
  /** The same engine's officer/operator side (server/create-alerts.ts): REST, /ws/officer, deliveries, backtests. */
  readonly alertApi?: AlertApi | undefined;
  /** Officers' validation marks (api/validation-store.ts) and where their changes are audited; absent = no validation routes. */
  readonly validations?: { readonly store: ValidationStore; readonly audit: (event: AuditEvent) => void; readonly onChange?: (change: { station: string; fromMs: number; toMs: number }) => void } | undefined;
  /** Recent readings in memory (api/now-view.ts) for the snapshot and /latest; absent = InfluxQL on each request. */
  readonly nowView?: NowView | undefined;
  readonly logger?: boolean | object;
  /** Where request failures are logged (a bug's 500, InfluxDB unavailable); per-request logging stays off. */
  readonly log?: Logger | undefined;
  /** Folder holding the built portal (index.html at its root). */
  readonly portalDir?: string;
  /** PEM certificate and key: the API then serves HTTPS and WSS only (broker/listeners.ts loadTls). */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer } | undefined;
}

const PORTAL_DIST = fileURLToPath(new URL('../dashboards/dist', import.meta.url));
const PORTAL_PUBLIC = fileURLToPath(new URL('../dashboards/public', import.meta.url));
/**
 * TRUST_PROXY for Fastify: addresses/CIDRs as they are; a hop count as proxy-addr's hop function
 * (Express's meaning: the nearest n hops are proxies — only safe when clients cannot reach the
 * server directly), since this Fastify treats a bare number as trusting nothing.
 */
function trustProxyOption(t: ApiOptions['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof t === 'number') return (_address, hop) => hop < t;
  return t ? [...t] : false;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // The https server type differs only in TLS; routes and inject() do not depend on it.
  const logging = {
    ...(deps.log ? { loggerInstance: deps.log.child({ part: 'api' }), logController: new LogController({ disableRequestLogging: true }) } : { logger: deps.logger ?? false }),
    trustProxy: trustProxyOption(deps.api.trustProxy),
  };
  const app = (deps.https ? Fastify({ ...logging, https: deps.https }) : Fastify(logging)) as unknown as FastifyInstance;
  await app.register(websocket, { options: { maxPayload: deps.api.wsMaxPayloadBytes } });
  const portalDir = deps.portalDir ?? (existsSync(join(PORTAL_DIST, 'index.html')) ? PORTAL_DIST : PORTAL_PUBLIC);
  await registerSecurity(app, { ...deps.api, tls: Boolean(deps.https), portalDir });

  app.setErrorHandler(onApiError);

  const cache = createResponseCache({ ttlMs: deps.api.cacheTtlMs, maxEntries: 2000 });
  const data = { registry: deps.registry, influx: deps.influx, rollupInflux: deps.rollupInflux, cache, cacheTtlMs: deps.api.cacheTtlMs, nowView: deps.nowView, validations: deps.validations?.store };
  await app.register(async (scope) => stationRoutes(scope, { ...data, maxBuckets: deps.api.maxPoints, maxRangeMs: deps.api.maxRangeMs }));
  await app.register(async (scope) => snapshotRoutes(scope, data));
  await app.register(async (scope) => exportRoutes(scope, { ...data, maxRows: deps.api.exportMaxRows, maxRangeMs: deps.api.maxRangeMs }));
  const validationStore = deps.validations?.store;
  const hourly = createHourlySource({ influx: deps.influx, rollups: deps.rollupInflux, exclusions: validationStore ? () => validationStore.index() : undefined });
  await app.register(async (scope) => reportRoutes(scope, { ...data, hourly }));
  await app.register(async (scope) => publicAlertRoutes(scope, { alerts: deps.alerts }));
  await app.register(async (scope) => opsRoutes(scope, { auth: deps.auth, live: deps.live, cache }));
  await app.register(async (scope) => docsRoutes(scope, { version: '0.1.0' }));
  await app.register(async (scope) => portalConfigRoutes(scope, { tileUrl: deps.api.tileUrl }));

  const logins = new Counter({ name: 'quantrac_api_logins_total', help: 'Login attempts by outcome (ok, failed, locked, busy)', labelNames: ['outcome'], registers: [deps.metrics] });
  const limiter = createLoginLimiter(deps.api.login ?? { maxFailuresPerAccount: 5, maxFailuresPerAddress: 20, lockoutMs: 60_000, lockoutMaxMs: 900_000 });
  await app.register(async (scope) => authRoutes(scope, { auth: deps.auth, limiter, onLogin: (outcome) => logins.inc({ outcome }) }));

  app.get('/ws/live', { websocket: true }, (socket) => deps.live.add(socket));

  const alertApi = deps.alertApi;
  // After publicAlertRoutes: alertRoutes reuses its GET /api/alerts/public.
  if (alertApi) await app.register(async (scope) => alertRoutes(scope, { alerts: alertApi, auth: deps.auth, maxBacktestMs: 31 * 86_400_000 }));

  const validations = deps.validations;
  if (validations) await app.register(async (scope) => validationRoutes(scope, { registry: deps.registry, auth: deps.auth, ...validations }));

  await app.register(async (scope) => healthRoutes(scope, { readiness: deps.readiness, metrics: deps.metrics, exposition: deps.exposition, auth: deps.auth, metricsToken: deps.api.metricsToken }));
  await app.register(async (scope) => portalRoutes(scope, { portalDir }));
  return app;
}
