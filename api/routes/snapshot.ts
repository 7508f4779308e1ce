// Map routes: the city snapshot of one kind (GeoJSON, cached: one database round per kind per
// refresh period however many clients ask; from memory once api/now-view.ts is rebuilt) and the AQI per area derived from the air snapshot.
import type { FastifyInstance } from 'fastify';
import { AqiAreasQuerySchema, KindParamsSchema, SnapshotQuerySchema, type Aqi } from '../../contracts/api.ts';
import type { StationKind } from '../../contracts/parameters.ts';
import type { Registry } from '../../contracts/stations.ts';
import type { InfluxHttp } from '../../ingest/influx/influx-http.ts';
import type { Scale } from '../aqi.ts';
import type { ResponseCache } from '../cache.ts';
import { sendCached } from '../http-cache.ts';
import type { NowView } from '../now-view.ts';
import { buildSnapshot } from '../snapshot.ts';
import { parseOr400 } from '../validate.ts';
import { applyValidationsToSnapshot } from '../validated-queries.ts';
import type { ValidationStore } from '../validation-store.ts';

export interface SnapshotRoutesDeps {
  readonly registry: Registry;
  readonly influx: InfluxHttp;
  readonly cache: ResponseCache;
  readonly cacheTtlMs: number;
  /** In-memory view of recent readings; until it is rebuilt (or when absent) the snapshot is computed by InfluxQL. */
  readonly nowView?: NowView | undefined;
  /** Officers' marks: excluded values leave the map's AQI and are listed in `latest.excluded`. */
  readonly validations?: ValidationStore | undefined;
}

export async function snapshotRoutes(app: FastifyInstance, deps: SnapshotRoutesDeps): Promise<void> {
  const maxAgeS = Math.round(deps.cacheTtlMs / 1000);
  const snapshot = (kind: StationKind, scale: Scale) =>
    deps.cache.get(`snapshot:${kind}:${kind === 'air' ? scale : '-'}:${deps.validations?.revision() ?? ''}`, async () => {
      // The now-view may hand back the snapshot it computed within the last second: copied before marks are applied to it.
      const fromView = deps.nowView?.ready() ? deps.nowView.snapshot(kind, scale) : undefined;
      const snap = fromView ?? (await buildSnapshot(deps.influx, deps.registry, kind, scale, Date.now()));
      const index = deps.validations?.index();
      if (!index || index.size === 0) return snap;
      const own = fromView ? structuredClone(fromView) : snap;
      await applyValidationsToSnapshot(own, deps.influx, deps.registry, index, scale, Date.parse(own.generatedAt));
      return own;
    });

  app.get('/api/snapshot/:kind', async (req, reply) => {
    const { kind } = parseOr400(KindParamsSchema, req.params);
    const { scale } = parseOr400(SnapshotQuerySchema, req.query);
    return sendCached(req, reply, await snapshot(kind, scale), maxAgeS);
  });

  app.get('/api/aqi/areas', async (req, reply) => {
    const q = parseOr400(AqiAreasQuerySchema, req.query);
    const entry = await deps.cache.get(`areas:${q.by}:${q.scale}`, async () => {
      const snap = JSON.parse((await snapshot('air', q.scale)).body) as { features: { properties: { id: string; ward: string; formerDistrict: string; aqi: Aqi | null } }[] };
      const areas = new Map<string, { aqi: Aqi | null; stations: number; stationsWithAqi: number; worstStation: string | null }>();
      for (const { properties: p } of snap.features) {
        const name = q.by === 'ward' ? p.ward : p.formerDistrict;
        const a = areas.get(name) ?? { aqi: null, stations: 0, stationsWithAqi: 0, worstStation: null };
        a.stations++;
        if (p.aqi) {
          a.stationsWithAqi++;
          if (!a.aqi || p.aqi.value > a.aqi.value) Object.assign(a, { aqi: p.aqi, worstStation: p.id });
        }
        areas.set(name, a);
      }
      return {
        by: q.by,
        period: q.period,
        scale: q.scale === 'us' ? 'US_AQI' : 'VN_AQI',
        aggregation: 'max',
        areas: [...areas].map(([area, a]) => ({ area, ...a })).sort((x, y) => x.area.localeCompare(y.area, 'vi')),
      };
    });
    return sendCached(req, reply, entry, maxAgeS);
  });
}
