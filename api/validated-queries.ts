// Time-bucketed statistics that leave out the ranges officers marked invalid (contracts/validations).
// InfluxQL cannot OR time ranges, so each excluded parameter is read over its valid segments (one
// statement each, all in one /query request) as sum/count/min/max, merged per bucket; the other
// parameters keep one statement. Used only when a station has marks in the range.
import type { Station } from '../contracts/stations.ts';
import { validSegments, type Interval } from '../contracts/validations.ts';
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
