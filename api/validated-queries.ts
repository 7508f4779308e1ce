// Time-bucketed statistics that leave out the ranges officers marked invalid (contracts/validations).
// InfluxQL cannot OR time ranges, so each excluded parameter is read over its valid segments (one
// statement each, all in one /query request) as sum/count/min/max, merged per bucket; the other
// parameters keep one statement. Used only when a station has marks in the range.
import type { Registry, Station } from '../contracts/stations.ts';
import { exclusionsFor, isExcluded, validSegments, type ExclusionIndex, type Interval } from '../contracts/validations.ts';
import { AQI_POLLUTANTS, hourlyAqi, type HourMeans, type Scale } from './aqi.ts';

const HOUR_MS = 3_600_000;
import type { InfluxHttp, InfluxSeries } from '../ingest/influx/influx-http.ts';
import { quoteIdent, quoteString } from '../ingest/influx/influx-http.ts';

export interface Stats {
  sum: number;
  count: number;
  min: number;
  max: number;
}

const rows = (s: InfluxSeries | undefined) => (s ? s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))) : []);

/**
 * Per bucket start (ms) and parameter: sum, count, min, max of the values that count, in
 * [fromMs, toMs) grouped by `groupBy` (the InfluxQL interval, e.g. `1h` or `86400000ms, -7h`).
 */
export async function groupedValidStats(
  http: InfluxHttp,
  station: Station,
  params: readonly string[],
  range: { readonly fromMs: number; readonly toMs: number; readonly groupBy: string },
  exclusions: ReadonlyMap<string, readonly Interval[]>,
): Promise<Map<number, Map<string, Stats>>> {
  const select = (ps: readonly string[]) =>
    ps.flatMap((p) => [`sum(${quoteIdent(p)}) AS "${p}__sum"`, `count(${quoteIdent(p)}) AS "${p}__count"`, `min(${quoteIdent(p)}) AS "${p}__min"`, `max(${quoteIdent(p)}) AS "${p}__max"`]).join(', ');
  const statement = (ps: readonly string[], [a, b]: Interval) =>
    `SELECT ${select(ps)} FROM ${quoteIdent(station.kind)} WHERE "station" = ${quoteString(station.id)} AND time >= ${a}ms AND time < ${b}ms GROUP BY time(${range.groupBy}) fill(none)`;
  const plain = params.filter((p) => !exclusions.has(p));
  const jobs: { params: readonly string[]; sql: string }[] = [];
  if (plain.length > 0) jobs.push({ params: plain, sql: statement(plain, [range.fromMs, range.toMs]) });
  for (const p of params.filter((x) => exclusions.has(x))) {
    for (const seg of validSegments(range.fromMs, range.toMs, exclusions.get(p) ?? [])) jobs.push({ params: [p], sql: statement([p], seg) });
  }
  const out = new Map<number, Map<string, Stats>>();
  if (jobs.length === 0) return out;
  const results = await http.query(jobs.map((j) => j.sql).join('; '));
  jobs.forEach((job, i) => {
    for (const row of rows(results[i]?.[0])) {
      const t = row.time as number;
      const bucket = out.get(t) ?? new Map<string, Stats>();
      out.set(t, bucket);
      for (const p of job.params) {
        const count = row[`${p}__count`];
        if (typeof count !== 'number' || count === 0) continue;
        const s = { sum: row[`${p}__sum`] as number, count, min: row[`${p}__min`] as number, max: row[`${p}__max`] as number };
        const had = bucket.get(p);
        bucket.set(p, had ? { sum: had.sum + s.sum, count: had.count + s.count, min: Math.min(had.min, s.min), max: Math.max(had.max, s.max) } : s);
      }
    }
  });
  for (const [t, b] of out) if (b.size === 0) out.delete(t);
  return out;
}

/** bucketedReadings without the excluded ranges (whole days are Hanoi days, as there). */
export async function validBuckets(http: InfluxHttp, station: Station, params: readonly string[], q: { fromMs: number; toMs: number; everyMs: number }, exclusions: ReadonlyMap<string, readonly Interval[]>) {
  const groupBy = `${q.everyMs}ms${q.everyMs % 86_400_000 === 0 ? ', -7h' : ''}`;
  const stats = await groupedValidStats(http, station, params, { fromMs: q.fromMs, toMs: q.toMs, groupBy }, exclusions);
  return [...stats.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, b]) => ({ ts: new Date(t).toISOString(), values: Object.fromEntries([...b].map(([p, s]) => [p, { mean: s.sum / s.count, min: s.min, max: s.max, count: s.count }])) }));
}

/** hourlyPollutantMeans without the excluded ranges. */
export async function validHourlyMeans(http: InfluxHttp, station: Station, params: readonly string[], fromMs: number, toMs: number, exclusions: ReadonlyMap<string, readonly Interval[]>): Promise<Map<number, Record<string, number>>> {
  const stats = await groupedValidStats(http, station, params, { fromMs, toMs, groupBy: '1h' }, exclusions);
  return new Map([...stats].map(([t, b]) => [t, Object.fromEntries([...b].map(([p, s]) => [p, s.sum / s.count]))]));
}

/**
 * The city snapshot with officers' marks applied: for each station with marks in the last 12 hours,
 * the latest values that fall in an excluded range are listed in `latest.excluded`, and an air
 * station's AQI is recomputed from trailing hourly means without the excluded values.
 */
export async function applyValidationsToSnapshot(
  snap: { readonly features: readonly { readonly id: string; readonly properties: object }[] },
  http: InfluxHttp,
  registry: Registry,
  index: ExclusionIndex,
  scale: Scale,
  nowMs: number,
): Promise<void> {
  for (const f of snap.features) {
    const station = registry.get(f.id);
    if (!station) continue;
    const props = f.properties as Record<string, unknown>;
    const latest = props.latest as { ts: string; values: Record<string, number> } | null;
    if (latest) {
      const excluded = Object.keys(latest.values).filter((p) => isExcluded(index, station.id, p, Date.parse(latest.ts)));
      if (excluded.length > 0) props.latest = { ...latest, excluded }; // a copy: the now-view keeps its own
    }
    const marks = exclusionsFor(index, station.id, nowMs - 12 * HOUR_MS, nowMs + 1);
    if (station.kind !== 'air' || marks.size === 0) continue;
    // Trailing 60-minute windows ending now, as the snapshot's own (api/snapshot.ts): c₁ = the last hour.
    const stats = await groupedValidStats(http, station, AQI_POLLUTANTS, { fromMs: nowMs - 12 * HOUR_MS + 1, toMs: nowMs + 1, groupBy: `1h, ${(nowMs + 1) % HOUR_MS}ms` }, marks);
    const hours: (HourMeans | undefined)[] = Array.from({ length: 12 }, () => undefined);
    for (const [t, b] of stats) {
      const ago = Math.floor((nowMs - t) / HOUR_MS);
      if (ago >= 0 && ago < 12) hours[ago] = Object.fromEntries([...b].map(([p, st]) => [p, st.sum / st.count]));
    }
    props.aqi = hourlyAqi(hours, scale, nowMs);
  }
}
