// Station routes: the registry, a station's latest reading, and its readings in time buckets.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Registry } from '../../contracts/stations.ts';
import type { InfluxHttp } from '../../ingest/influx/influx-http.ts';
import { ApiError } from '../errors.ts';
import { bucketedReadings, latestReading } from '../queries.ts';

export interface StationRoutesDeps {
  readonly registry: Registry;
  readonly influx: InfluxHttp;
  /** Most buckets one request may ask for. */
  readonly maxBuckets: number;
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `every` as 1m..1d: a number and a unit m, h or d. */
export const EverySchema = z
  .string()
  .regex(/^\d{1,4}[mhd]$/, 'every is a number and a unit m, h or d, e.g. 5m, 1h, 1d')
  .transform((s) => Number(s.slice(0, -1)) * UNIT_MS[s.at(-1) as keyof typeof UNIT_MS])
  .refine((ms) => ms >= UNIT_MS.m && ms <= UNIT_MS.d, 'every must be between 1m and 1d');

const TimeSchema = z.union([z.iso.datetime({ offset: true }), z.coerce.number().int().nonnegative()]).transform((v) => (typeof v === 'number' ? v : Date.parse(v)));

const ReadingsQuerySchema = z.object({
  from: TimeSchema.optional(),
  to: TimeSchema.optional(),
  every: EverySchema.optional(),
});

export async function stationRoutes(app: FastifyInstance, deps: StationRoutesDeps): Promise<void> {
  const stationOr404 = (id: string) => {
    const s = deps.registry.get(id);
    if (!s) throw new ApiError('STATION_NOT_FOUND', `no station ${id}`);
    return s;
  };

  app.get('/api/stations', async () => ({ version: deps.registry.version, stations: deps.registry.stations }));

  app.get<{ Params: { id: string } }>('/api/stations/:id', async (req) => stationOr404(req.params.id));

  app.get<{ Params: { id: string } }>('/api/stations/:id/latest', async (req) => {
    const station = stationOr404(req.params.id);
    const latest = await latestReading(deps.influx, station);
    return { station: station.id, kind: station.kind, latest: latest ?? null };
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/api/stations/:id/readings', async (req) => {
    const station = stationOr404(req.params.id);
    const parsed = ReadingsQuerySchema.safeParse(req.query);
    if (!parsed.success) throw new ApiError('BAD_QUERY', z.prettifyError(parsed.error).replace(/\n/g, '; '));
    const toMs = parsed.data.to ?? Date.now();
    const fromMs = parsed.data.from ?? toMs - UNIT_MS.d;
    if (!(fromMs < toMs)) throw new ApiError('BAD_QUERY', '"from" must be before "to"');
    const everyMs = parsed.data.every ?? Math.max(UNIT_MS.m, Math.ceil((toMs - fromMs) / 500 / UNIT_MS.m) * UNIT_MS.m);
    const buckets = Math.ceil((toMs - fromMs) / everyMs);
    if (buckets > deps.maxBuckets) {
      throw new ApiError('RANGE_TOO_LARGE', `${buckets} buckets requested; at most ${deps.maxBuckets} (widen "every" or narrow the range)`);
    }
    const data = await bucketedReadings(deps.influx, station, { fromMs, toMs, everyMs });
    return {
      station: station.id,
      kind: station.kind,
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      everyMs,
      buckets: data,
    };
  });
}
