// Builds the real API (buildApp) on its own, listening on a free port, for tests of the HTTP layer
// that need a particular portal folder, InfluxDB address or extra route. Real Fastify, real HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { buildApp, type AppDeps, type ApiOptions } from '../../api/app.ts';
import { createAuth, loadOrCreateSecret } from '../../api/auth.ts';
import { createLiveHub } from '../../api/live-hub.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { createInfluxHttp } from '../../ingest/influx/influx-http.ts';

export interface AppHarness {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly dataDir: string;
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export const API_DEFAULTS: ApiOptions = {
  rateLimitPerMin: 600,
  corsOrigins: [],
  cacheTtlMs: 0,
  maxRangeMs: 31 * 86_400_000,
  maxPoints: 10_000,
  exportMaxRows: 1000,
  tileUrl: 'https://tile.openstreetmap.org',
  wsMaxPayloadBytes: 16_384,
};

export async function startAppHarness(
  opts: { influxUrl: string; portalDir?: string; api?: Partial<ApiOptions>; extra?: Partial<AppDeps>; beforeListen?: (app: FastifyInstance) => void },
): Promise<AppHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-app-'));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const registry = loadRegistry();
  const live = createLiveHub({ registry, coalesceBytes: 262_144, maxBufferedBytes: 4_194_304, maxStallMs: 30_000, heartbeatMs: 30_000 });
  const app = await buildApp({
    registry,
    influx: createInfluxHttp({ url: opts.influxUrl, api: 'v1', database: 'quantrac', timeoutMs: 2000 }),
    live,
    metrics: new PromRegistry(),
    readiness: [],
    auth: createAuth({ usersPath: join(dataDir, 'users.json'), secret: loadOrCreateSecret(undefined, join(dataDir, 'secret')), tokenTtlS: 600 }),
    api: { ...API_DEFAULTS, ...opts.api },
    log: pino({ level: 'warn' }, sink),
    ...(opts.portalDir ? { portalDir: opts.portalDir } : {}),
    ...opts.extra,
  });
  opts.beforeListen?.(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    url,
    dataDir,
    logs,
    async close() {
      live.close();
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
