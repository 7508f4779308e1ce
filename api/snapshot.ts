// The city snapshot of one station kind as a GeoJSON FeatureCollection: every station with its
// latest reading, age, staleness and the kind's computed status (AQI, flood level and trend, rain
// totals, street depth). One InfluxDB round per kind: all statements go in one /query request.
import { linearRegression } from 'simple-statistics';
import { HOUR_MS, type FloodStatus, type Latest, type SnapshotProperties } from '../contracts/api.ts';
import { PARAMETERS, type StationKind } from '../contracts/parameters.ts';
import { qualityFromRow, statusFromRow, valueFromRow } from '../contracts/quality.ts';
import { floodLevelAt, nextFloodLevel } from '../contracts/standards/flood.ts';
import type { Registry, Station } from '../contracts/stations.ts';
import type { InfluxHttp, InfluxSeries } from '../ingest/influx/influx-http.ts';
import { quoteIdent } from '../ingest/influx/influx-http.ts';
import { AQI_POLLUTANTS, hourlyAqi, type HourMeans, type Scale } from './aqi.ts';

/** How far back the latest reading is looked for; older stations show `latest: null`. */
export const LATEST_LOOKBACK_MS = 30 * 24 * HOUR_MS;
/** A station is stale when its latest reading is older than this many reporting intervals. */
export const STALE_INTERVALS = 3;

export const seriesRows = (s: InfluxSeries): Record<string, unknown>[] => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
const byStation = (series: InfluxSeries[] | undefined) => new Map((series ?? []).map((s) => [s.tags?.station ?? '', seriesRows(s)]));
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

/**
 * A stored row as the latest reading: every value (usable or not), the QARTOD quality of the
 * parameters not passed, and the station status when not measuring (contracts/quality.ts).
 */
export function rowToLatest(kind: StationKind, row: Record<string, unknown>): Latest {
  const params = Object.keys(PARAMETERS[kind]);
  const values: Record<string, number> = {};
  for (const p of params) {
    const v = valueFromRow(row, p);
    if (v !== undefined) values[p] = v;
  }
  const quality = qualityFromRow(row, params);
  const status = statusFromRow(row);
  return {
    ts: new Date(row.time as number).toISOString(),
    values,
    ...(Object.keys(quality).length ? { quality } : {}),
    ...(status === 'measuring' ? {} : { status }),
  };
}

/** Statements of one kind's snapshot; results come back in the same order. */
export function snapshotStatements(kind: StationKind, nowMs: number): string[] {
  const m = quoteIdent(kind);
  const latest = `SELECT * FROM ${m} WHERE time > ${nowMs - LATEST_LOOKBACK_MS}ms AND time <= ${nowMs}ms GROUP BY "station" ORDER BY time DESC LIMIT 1`;
  switch (kind) {
    case 'air': {
      // Trailing 60-minute windows ending now: c₁ = the last hour, up to c₁₂ (NowCast).
      const fields = AQI_POLLUTANTS.map((p) => `mean(${quoteIdent(p)}) AS ${quoteIdent(p)}`).join(', ');
      return [latest, `SELECT ${fields} FROM "air" WHERE time > ${nowMs - 12 * HOUR_MS}ms AND time <= ${nowMs}ms GROUP BY time(1h, ${(nowMs + 1) % HOUR_MS}ms), "station" fill(none)`];
    }
    case 'rain':
      return [
        latest,
        `SELECT sum("rain_mm") AS "mm" FROM "rain" WHERE time > ${nowMs - HOUR_MS}ms AND time <= ${nowMs}ms GROUP BY "station"`,
        `SELECT sum("rain_mm") AS "mm" FROM "rain" WHERE time > ${nowMs - 24 * HOUR_MS}ms AND time <= ${nowMs}ms GROUP BY "station"`,
      ];
    case 'flood':
      return [latest, `SELECT "level_m" FROM "flood" WHERE time > ${nowMs - HOUR_MS}ms AND time <= ${nowMs}ms AND "level_m" > -1000 GROUP BY "station"`];
    case 'water':
      return [latest];
  }
}

/** Level, state, trend (least squares over the last hour) and time to the next level. */
export function floodStatus(station: Extract<Station, { floodType: 'river' }>, latestLevelM: number | undefined, lastHour: Record<string, unknown>[]): FloodStatus | null {
  if (latestLevelM === undefined) return null;
  const pts = lastHour.flatMap((r) => (typeof r.level_m === 'number' ? [[(r.time as number) / HOUR_MS, r.level_m * 100] as [number, number]] : []));
  const trendCmPerH = pts.length >= 2 && pts[0]![0] !== pts.at(-1)![0] ? Math.round(linearRegression(pts).m * 10) / 10 : null;
  const next = nextFloodLevel(station.levelsM, latestLevelM);
  const etaMinutes = next && trendCmPerH !== null && trendCmPerH > 0 ? Math.round((((next.thresholdM - latestLevelM) * 100) / trendCmPerH) * 60) : null;
  return { levelM: latestLevelM, state: floodLevelAt(station.levelsM, latestLevelM) ?? 'normal', trendCmPerH, nextLevel: next?.level ?? null, etaMinutes };
}

export interface SnapshotFeature {
  readonly type: 'Feature';
  readonly id: string;
  readonly geometry: { readonly type: 'Point'; readonly coordinates: [number, number] };
  readonly properties: SnapshotProperties;
}

/** What a kind's snapshot computes besides the latest reading, per station (api/now-view.ts fills the same). */
export interface SnapshotExtras {
  /** Air: hourly means of the trailing 60-minute windows ending now, [0] = the last hour, up to 12. */
  readonly hours?: readonly (HourMeans | undefined)[];
  /** Rain: sums over the last hour and 24 hours; undefined = no rain reading in the window. */
  readonly rainMm1h?: number | undefined;
  readonly rainMm24h?: number | undefined;
  /** River gauge: the last hour's rows ({time, level_m}), oldest first. */
  readonly lastHour?: readonly Record<string, unknown>[];
}

/** One station's feature: the same rules whichever source (InfluxQL or memory) gave the data. */
export function snapshotFeature(s: Station, latest: Latest | null, extras: SnapshotExtras, scale: Scale, nowMs: number): SnapshotFeature {
  const ageMs = latest ? nowMs - Date.parse(latest.ts) : undefined;
  // A station calibrating or faulty: its latest values are shown as such, but not judged.
  const usable = latest?.status === undefined ? latest : null;
  const props: Record<string, unknown> = {
    ...s,
    latest,
    ageS: ageMs === undefined ? null : Math.max(0, Math.round(ageMs / 1000)),
    stale: ageMs === undefined || ageMs > STALE_INTERVALS * s.intervalS * 1000,
  };
  if (s.kind === 'air') {
    props.aqi = hourlyAqi(extras.hours ?? [], scale, nowMs);
  } else if (s.kind === 'rain') {
    props.rainMm1h = extras.rainMm1h ?? (latest ? 0 : null);
    props.rainMm24h = extras.rainMm24h ?? (latest ? 0 : null);
  } else if (s.kind === 'flood' && s.floodType === 'river') {
    props.flood = floodStatus(s, usable?.values.level_m, [...(extras.lastHour ?? [])]);
  } else if (s.kind === 'flood') {
    props.depthCm = usable?.values.depth_cm ?? null;
  }
  return { type: 'Feature', id: s.id, geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: props as SnapshotProperties };
}

export const snapshotCollection = (kind: StationKind, features: SnapshotFeature[], nowMs: number) => ({ type: 'FeatureCollection' as const, kind, generatedAt: new Date(nowMs).toISOString(), features });

/** The snapshot computed by InfluxQL on each call (the path before api/now-view.ts; kept for start-up, tests and the bench). */
export async function buildSnapshot(http: InfluxHttp, registry: Registry, kind: StationKind, scale: Scale, nowMs = Date.now()) {
  const stations = registry.stations.filter((s) => s.kind === kind);
  const results = await http.query(snapshotStatements(kind, nowMs).join('; '));
  const latestBy = byStation(results[0]);
  const extra = results.slice(1).map(byStation);
  const features = stations.map((s) => {
    const row = latestBy.get(s.id)?.[0];
    const latest = row ? rowToLatest(kind, row) : null;
    if (s.kind === 'air') {
      // Hour buckets come back oldest first; hours[0] must be the current one.
      const hours: (HourMeans | undefined)[] = Array.from({ length: 12 }, () => undefined);
      for (const b of extra[0]?.get(s.id) ?? []) {
        const ago = Math.floor((nowMs - (b.time as number)) / HOUR_MS);
        if (ago >= 0 && ago < 12) hours[ago] = Object.fromEntries(AQI_POLLUTANTS.flatMap((p) => (num(b[p]) === undefined ? [] : [[p, b[p] as number]])));
      }
      return snapshotFeature(s, latest, { hours }, scale, nowMs);
    }
    if (s.kind === 'rain') return snapshotFeature(s, latest, { rainMm1h: num(extra[0]?.get(s.id)?.[0]?.mm), rainMm24h: num(extra[1]?.get(s.id)?.[0]?.mm) }, scale, nowMs);
    return snapshotFeature(s, latest, { lastHour: extra[0]?.get(s.id) ?? [] }, scale, nowMs);
  });
  return snapshotCollection(kind, features, nowMs);
}
