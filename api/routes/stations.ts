// Station routes: the registry (filtered, paged, or as GeoJSON), a station's latest reading, its
// readings in time buckets, and its AQI series (hourly or daily, VN_AQI or US scale).
import type { FastifyInstance } from 'fastify';
import {
  calendarMonths,
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  ReadingsQuerySchema,
  StationAqiQuerySchema,
  StationIdParamsSchema,
  StationsQuerySchema,
  type Aqi,
  type SeriesSource,
  type StationsQuery,
} from '../../contracts/api.ts';
import type { Registry, Station } from '../../contracts/stations.ts';
import type { InfluxHttp } from '../../ingest/influx/influx-http.ts';
import { AQI_POLLUTANTS, dailyAqi, hourlyAqi, type HourMeans } from '../aqi.ts';
import { exclusionsFor, isExcluded } from '../../contracts/validations.ts';
import { PARAMETERS } from '../../contracts/parameters.ts';
import { validBuckets, validHourlyMeans } from '../validated-queries.ts';
import type { ValidationStore } from '../validation-store.ts';
import { etagOf, type ResponseCache } from '../cache.ts';
import type { NowView } from '../now-view.ts';
import { ApiError } from '../errors.ts';
import { sendCached } from '../http-cache.ts';
import { bucketedReadings, hourlyPollutantMeans, latestReading } from '../queries.ts';
import { RAW_PREFERRED_SPAN_MS, freshEdgeMs, pickSeriesSource, rollupAqi, rollupBuckets } from '../rollup-queries.ts';
import { parseOr400 } from '../validate.ts';

export { EverySchema } from '../../contracts/api.ts';

export interface StationRoutesDeps {
  readonly registry: Registry;
  readonly influx: InfluxHttp;
  readonly cache: ResponseCache;
  readonly cacheTtlMs: number;
  /** Most buckets (points) one request may ask for. */
  readonly maxBuckets: number;
  /** Longest time range of one request, ms (daily AQI may span a year). */
  readonly maxRangeMs: number;
  /** Reads the rollups (their retention policy / bucket); absent = the raw target. */
  readonly rollupInflux?: InfluxHttp | undefined;
  /** In-memory recent readings: /latest is answered from it once rebuilt, else by InfluxQL. */
  readonly nowView?: NowView | undefined;
  /** Officers' validation marks: excluded ranges are left out of series and AQI. */
  readonly validations?: ValidationStore | undefined;
}

/** Hanoi is UTC+7 all year: a day starts at 17:00 UTC. */
const HANOI_OFFSET_MS = 7 * HOUR_MS;
const hanoiDayStart = (ms: number) => Math.floor((ms + HANOI_OFFSET_MS) / DAY_MS) * DAY_MS - HANOI_OFFSET_MS;
const MAX_DAILY_RANGE_MS = 366 * DAY_MS;

export function filterStations(registry: Registry, q: Pick<StationsQuery, 'kind' | 'ward' | 'district'>): Station[] {
  return registry.stations.filter((s) => (!q.kind || s.kind === q.kind) && (!q.ward || s.ward === q.ward) && (!q.district || s.formerDistrict === q.district));
}

function range(from: number | undefined, to: number | undefined, defaultSpanMs: number, maxRangeMs: number): { fromMs: number; toMs: number } {
  const toMs = to ?? Date.now();
  const fromMs = from ?? toMs - defaultSpanMs;
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) throw new ApiError('BAD_QUERY', '"from" and "to" must be valid times');
  if (!(fromMs < toMs)) throw new ApiError('BAD_QUERY', '"from" must be before "to"');
  if (toMs - fromMs > maxRangeMs) throw new ApiError('RANGE_TOO_LARGE', `the range spans ${Math.ceil((toMs - fromMs) / DAY_MS)} days; at most ${Math.floor(maxRangeMs / DAY_MS)}`);
  return { fromMs, toMs };
}

/** About 500 buckets over the span: whole minutes, whole hours past an hour, whole days past a day. */
function defaultEvery(spanMs: number): number {
  const ms = Math.max(MINUTE_MS, Math.ceil(spanMs / 500 / MINUTE_MS) * MINUTE_MS);
  if (ms > DAY_MS) return Math.ceil(ms / DAY_MS) * DAY_MS;
  return ms > HOUR_MS ? Math.ceil(ms / HOUR_MS) * HOUR_MS : ms;
}

/** The raw source keeps the range cap; rollups need whole hours (hourly) or days/months (daily). */
export function checkSeriesSource(source: SeriesSource, everyMs: number, spanMs: number, maxRawRangeMs: number): void {
  const months = calendarMonths(everyMs) !== undefined;
  if (source === 'raw' && months) throw new ApiError('BAD_QUERY', 'calendar months come from the daily rollups: use source=daily or leave source out');
  if (source === 'raw' && spanMs > maxRawRangeMs) {
    throw new ApiError('RANGE_TOO_LARGE', `from raw readings the range spans at most ${Math.floor(maxRawRangeMs / DAY_MS)} days; with "every" in whole hours or days longer ranges come from the rollups`);
  }
  if (source === 'hourly' && (months || everyMs % HOUR_MS !== 0)) throw new ApiError('BAD_QUERY', 'the hourly rollups need "every" in whole hours');
  if (source === 'daily' && !months && everyMs % DAY_MS !== 0) throw new ApiError('BAD_QUERY', 'the daily rollups need "every" in whole days or months');
}

export async function stationRoutes(app: FastifyInstance, deps: StationRoutesDeps): Promise<void> {
  const stationOr404 = (params: unknown) => {
    const { id } = parseOr400(StationIdParamsSchema, params);
    const s = deps.registry.get(id);
    if (!s) throw new ApiError('STATION_NOT_FOUND', `no station ${id}`);
    return s;
  };
  const maxAgeS = Math.round(deps.cacheTtlMs / 1000);

  app.get('/api/stations', async (req) => {
    const q = parseOr400(StationsQuerySchema, req.query);
    const all = filterStations(deps.registry, q);
    const page = all.slice(q.offset, q.offset + q.limit);
    const next = q.offset + page.length;
    return { version: deps.registry.version, total: all.length, limit: q.limit, offset: q.offset, nextOffset: next < all.length ? next : null, stations: page };
  });

  app.get('/api/stations.geojson', async (req, reply) => {
    const q = parseOr400(StationsQuerySchema.omit({ limit: true, offset: true }), req.query);
    const features = filterStations(deps.registry, q).map((s) => ({ type: 'Feature', id: s.id, geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: s }));
    return reply.type('application/geo+json').send({ type: 'FeatureCollection', features });
  });

  app.get('/api/stations/:id', async (req) => stationOr404(req.params));

  app.get('/api/stations/:id/latest', async (req) => {
    const station = stationOr404(req.params);
    const latest = (deps.nowView?.ready() ? deps.nowView.latest(station.id) : undefined) ?? (await latestReading(deps.influx, station));
    const index = deps.validations?.index();
    const excluded = latest && index ? Object.keys(latest.values).filter((p) => isExcluded(index, station.id, p, Date.parse(latest.ts))) : [];
    return { station: station.id, kind: station.kind, latest: latest ? { ...latest, ...(excluded.length > 0 ? { excluded } : {}) } : null };
  });

  app.get('/api/stations/:id/readings', async (req, reply) => {
    const station = stationOr404(req.params);
    const q = parseOr400(ReadingsQuerySchema, req.query);
    const { fromMs, toMs } = range(q.from, q.to, DAY_MS, Number.POSITIVE_INFINITY);
    const spanMs = toMs - fromMs;
    const everyMs = q.every ?? defaultEvery(spanMs);
    const source = q.source ?? pickSeriesSource(spanMs, everyMs);
    checkSeriesSource(source, everyMs, spanMs, deps.maxRangeMs);
    const buckets = Math.ceil(spanMs / everyMs);
    if (buckets > deps.maxBuckets) {
      throw new ApiError('RANGE_TOO_LARGE', `${buckets} buckets requested; at most ${deps.maxBuckets} (widen "every" or narrow the range)`);
    }
    const excluded = exclusionsFor(deps.validations?.index() ?? new Map(), station.id, fromMs, toMs);
    const data =
      source === 'raw'
        ? excluded.size > 0
          ? await validBuckets(deps.influx, station, Object.keys(PARAMETERS[station.kind]), { fromMs, toMs, everyMs }, excluded)
          : await bucketedReadings(deps.influx, station, { fromMs, toMs, everyMs })
        : await rollupBuckets(deps.influx, deps.rollupInflux ?? deps.influx, station, source, { fromMs, toMs, everyMs });
    const body = JSON.stringify({ station: station.id, kind: station.kind, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), everyMs, source, buckets: data });
    return sendCached(req, reply, { body, etag: etagOf(body), computedAt: Date.now() }, maxAgeS);
  });

  app.get('/api/stations/:id/aqi', async (req, reply) => {
    const station = stationOr404(req.params);
    const q = parseOr400(StationAqiQuerySchema, req.query);
    if (station.kind !== 'air') throw new ApiError('BAD_QUERY', `${station.id} is a ${station.kind} station; AQI is computed for air stations only`);
    const daily = q.period === 'daily';
    const { fromMs, toMs } = range(q.from, q.to, daily ? 7 * DAY_MS : DAY_MS, Number.POSITIVE_INFINITY);
    const start = daily ? hanoiDayStart(fromMs) : Math.floor(fromMs / HOUR_MS) * HOUR_MS;
    const step = daily ? DAY_MS : HOUR_MS;
    if (Math.ceil((toMs - start) / step) > deps.maxBuckets) throw new ApiError('RANGE_TOO_LARGE', `${Math.ceil((toMs - start) / step)} points requested; at most ${deps.maxBuckets}`);
    const source = q.source ?? (toMs - fromMs > RAW_PREFERRED_SPAN_MS ? 'rollups' : 'raw');
    const rawMaxMs = daily ? MAX_DAILY_RANGE_MS : deps.maxRangeMs;
    if (source === 'raw' && toMs - fromMs > rawMaxMs) throw new ApiError('RANGE_TOO_LARGE', `computed from raw readings, the range spans at most ${Math.floor(rawMaxMs / DAY_MS)} days (the rollups have no such limit)`);
    const key = `aqi:${station.id}:${q.period}:${q.scale}:${source}:${start}:${Math.floor(toMs / Math.max(1, deps.cacheTtlMs))}:${deps.validations?.revision() ?? ''}`;
    const entry = await deps.cache.get(key, async () => {
      // Settled hours/days from the rollups; the fresh edge (the last two hours, or today) from raw readings.
      const edge = source === 'raw' ? start : Math.min(toMs, Math.max(start, daily ? hanoiDayStart(freshEdgeMs()) : freshEdgeMs()));
      const stored = edge > start ? await rollupAqi(deps.rollupInflux ?? deps.influx, station, q.period, q.scale, start, edge) : new Map<number, Aqi>();
      const lookback = daily ? 7 * HOUR_MS : 11 * HOUR_MS;
      const excluded = exclusionsFor(deps.validations?.index() ?? new Map(), station.id, edge - lookback, toMs);
      const means =
        edge >= toMs
          ? new Map<number, HourMeans>()
          : excluded.size > 0
            ? await validHourlyMeans(deps.influx, station, AQI_POLLUTANTS, edge - lookback, toMs, excluded)
            : await hourlyPollutantMeans(deps.influx, station, edge - lookback, toMs);
      const hourAt = (h: number): HourMeans | undefined => means.get(h);
      const points = [];
      for (let t = start; t < toMs; t += step) {
        const aqi =
          t < edge
            ? (stored.get(t) ?? null)
            : daily
              ? dailyAqi(Array.from({ length: 24 }, (_, i) => hourAt(t + i * HOUR_MS)), Array.from({ length: 7 }, (_, i) => hourAt(t - (7 - i) * HOUR_MS)), q.scale, t)
              : hourlyAqi(Array.from({ length: 12 }, (_, i) => hourAt(t - i * HOUR_MS)), q.scale, t);
        points.push({ ts: new Date(t).toISOString(), aqi });
      }
      return { station: station.id, scale: q.scale === 'us' ? 'US_AQI' : 'VN_AQI', period: q.period, from: new Date(start).toISOString(), to: new Date(toMs).toISOString(), source, points };
    });
    return sendCached(req, reply, entry, maxAgeS);
  });
}
