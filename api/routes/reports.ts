// Report routes (open data): GET /api/reports/{station|ward|city}?period=2026-11|2026&id=&format=json|csv
// — days per VN_AQI category, QCVN 05/08 figures, rain and flood statistics, data completeness.
import type { FastifyInstance } from 'fastify';
import { ReportQuerySchema, ReportScopeParamsSchema, type Report } from '../../contracts/reports-api.ts';
import type { Registry } from '../../contracts/stations.ts';
import type { ResponseCache } from '../cache.ts';
import { sendCached } from '../http-cache.ts';
import { buildReport } from '../reports/build-report.ts';
import { reportCsv } from '../reports/csv.ts';
import type { HourlySource } from '../reports/hourly-source.ts';
import type { ValidationStore } from '../validation-store.ts';
import { ApiError } from '../errors.ts';
import { BusyError, createSemaphore } from '../../server/semaphore.ts';
import { parseOr400 } from '../validate.ts';

export interface ReportRoutesDeps {
  readonly registry: Registry;
  readonly hourly: HourlySource;
  readonly cache: ResponseCache;
  readonly cacheTtlMs: number;
  /** A change of the officers' marks changes the reports (cache key). */
  readonly validations?: ValidationStore | undefined;
}

export async function reportRoutes(app: FastifyInstance, deps: ReportRoutesDeps): Promise<void> {
  const maxAgeS = Math.round(deps.cacheTtlMs / 1000);
  // A city-year report reads millions of hours: two at a time, eight waiting, the rest told to retry (identical requests share one computation).
  const slots = createSemaphore(2, 8);
  const compute = (scope: 'station' | 'ward' | 'city', id: string | undefined, period: string) =>
    slots.run(() => buildReport(deps.registry, deps.hourly, scope, id, period)).catch((err: unknown) => {
      if (err instanceof BusyError) throw new ApiError('BUSY', 'too many reports are being computed; retry shortly', { cause: err });
      throw err;
    });
  app.get('/api/reports/:scope', async (req, reply) => {
    const { scope } = parseOr400(ReportScopeParamsSchema, req.params);
    const q = parseOr400(ReportQuerySchema, req.query);
    const entry = await deps.cache.get(`report:${scope}:${q.id ?? ''}:${q.period}:${deps.validations?.revision() ?? ''}`, () => compute(scope, q.id, q.period));
    // Open data: any web page may read the reports (no credentials involved), whatever API_CORS_ORIGINS allows elsewhere.
    void reply.header('access-control-allow-origin', '*');
    if (q.format === 'json') return sendCached(req, reply, entry, maxAgeS);
    const report = JSON.parse(entry.body) as Report;
    const name = `quantrac-report-${scope}-${(q.id ?? 'hanoi').replace(/[^A-Za-z0-9-]+/g, '_')}-${q.period}.csv`;
    return reply
      .header('cache-control', `public, max-age=${maxAgeS}`)
      .header('content-disposition', `attachment; filename="${name}"`)
      .type('text/csv; charset=utf-8')
      .send(reportCsv(report));
  });
}
