// Series that pick their source: raw readings for short spans and fine intervals, the hourly or
// daily rollups (README › Rollups) for long spans, so a 1-year daily or a 10-year monthly chart
// reads a few thousand rollup rows instead of millions of readings.
import { calendarMonths, type Aqi, type SeriesSource } from '../contracts/api.ts';
import { PARAMETERS } from '../contracts/parameters.ts';
import {
  DAY_MS,
  HANOI_OFFSET_MS,
  HOUR_MS,
  aqiFields,
  aqiMeasurement,
  hanoiDayStart,
  hanoiMonthStart,
  hourStart,
  statField,
  statsMeasurement,
  type AqiScaleKey,
} from '../contracts/rollups.ts';
import type { Station } from '../contracts/stations.ts';
import { quoteIdent, quoteString, type InfluxHttp } from '../ingest/influx/influx-http.ts';
import { bucketedReadings, type Bucket } from './queries.ts';
import { seriesRows } from './snapshot.ts';

/** Up to this span a series whose interval allows rollups still reads raw data (fresh to the second). */
export const RAW_PREFERRED_SPAN_MS = 2 * DAY_MS;

/**
 * The source of a bucketed series: raw when the interval is finer than an hour (or not whole
 * hours) or the span is short; daily rollups when the interval is whole Hanoi days or calendar
 * months; hourly rollups otherwise.
 */
export function pickSeriesSource(spanMs: number, everyMs: number): SeriesSource {
  const months = calendarMonths(everyMs);
  if (months !== undefined) return 'daily';
  if (everyMs % HOUR_MS !== 0) return 'raw';
  if (spanMs <= RAW_PREFERRED_SPAN_MS) return 'raw';
  return everyMs % DAY_MS === 0 ? 'daily' : 'hourly';
}

/** Start of the bucket holding `ms`: calendar months and whole days in Hanoi time, hours in UTC. */
export function bucketOf(ms: number, everyMs: number): number {
  const months = calendarMonths(everyMs);
  if (months !== undefined) {
    const m = hanoiMonthStart(ms);
    const local = new Date(m + HANOI_OFFSET_MS);
    const index = local.getUTCFullYear() * 12 + local.getUTCMonth();
    return hanoiMonthStart(m, -(index % months));
  }
  if (everyMs % DAY_MS === 0) return Math.floor((ms + HANOI_OFFSET_MS) / everyMs) * everyMs - HANOI_OFFSET_MS;
  return Math.floor(ms / everyMs) * everyMs;
}

/**
 * Where the rollups end and raw readings take over: the start of the previous clock hour. The
 * rollups of older hours are settled (recomputed every ROLLUP_FLUSH_INTERVAL_MS); the last hour or
 * two come from raw readings, so a long chart still ends at the latest reading.
 */
export const freshEdgeMs = (now = Date.now()): number => hourStart(now) - HOUR_MS;

type Part = { readonly time: number; readonly values: Bucket['values'] };

/** The `{kind}_{period}` rollup rows of each range, in one request (a statement per range). */
async function rollupParts(http: InfluxHttp, station: Station, ranges: readonly { period: '1h' | '1d'; fromMs: number; toMs: number }[]): Promise<Part[]> {
  const wanted = ranges.filter((r) => r.fromMs < r.toMs);
  if (wanted.length === 0) return [];
  const params = Object.keys(PARAMETERS[station.kind]);
  const fields = params.flatMap((p) => (['mean', 'min', 'max', 'count'] as const).map((s) => quoteIdent(statField(p, s)))).join(', ');
  const results = await http.query(
    wanted
      .map((r) => `SELECT ${fields} FROM ${quoteIdent(statsMeasurement(station.kind, r.period))} WHERE "station" = ${quoteString(station.id)} AND time >= ${r.fromMs}ms AND time < ${r.toMs}ms`)
      .join(';\n'),
  );
  return results.flatMap((series) =>
    (series[0] ? seriesRows(series[0]) : []).map((row) => {
      const values: Bucket['values'] = {};
      for (const p of params) {
        const count = row[statField(p, 'count')];
        const mean = row[statField(p, 'mean')];
        if (typeof count !== 'number' || count === 0 || typeof mean !== 'number') continue;
        const num = (k: string) => (typeof row[k] === 'number' ? (row[k] as number) : mean);
        values[p] = { mean, min: num(statField(p, 'min')), max: num(statField(p, 'max')), count };
      }
      return { time: row.time as number, values };
    }),
  );
}

/**
 * Buckets of `everyMs` over [fromMs, toMs) from the rollups: whole days from the daily rollups,
 * today's settled hours from the hourly ones, the fresh edge from raw readings in hours.
 */
export async function rollupBuckets(raw: InfluxHttp, rollups: InfluxHttp, station: Station, source: 'hourly' | 'daily', q: { fromMs: number; toMs: number; everyMs: number }): Promise<Bucket[]> {
  const from = source === 'hourly' ? hourStart(q.fromMs) : hanoiDayStart(q.fromMs);
  const hourEdge = Math.min(q.toMs, Math.max(from, freshEdgeMs()));
  const dayEdge = source === 'daily' ? Math.min(hourEdge, Math.max(from, hanoiDayStart(hourEdge))) : from;
  const [settled, fresh] = await Promise.all([
    rollupParts(rollups, station, [{ period: '1d', fromMs: from, toMs: dayEdge }, { period: '1h', fromMs: dayEdge, toMs: hourEdge }]),
    hourEdge < q.toMs ? bucketedReadings(raw, station, { fromMs: hourEdge, toMs: q.toMs, everyMs: HOUR_MS }) : Promise.resolve([]),
  ]);
  const out = new Map<number, Record<string, { sum: number; min: number; max: number; count: number }>>();
  for (const part of [...settled, ...fresh.map((b) => ({ time: Date.parse(b.ts), values: b.values }))]) {
    const bucket = bucketOf(part.time, q.everyMs);
    let acc = out.get(bucket);
    if (!acc) out.set(bucket, (acc = {}));
    for (const [p, v] of Object.entries(part.values)) {
      if (v.count === 0 || v.mean === null) continue;
      const a = (acc[p] ??= { sum: 0, min: Infinity, max: -Infinity, count: 0 });
      a.sum += v.mean * v.count; // the count-weighted mean of the parts is the mean of the whole
      a.count += v.count;
      a.min = Math.min(a.min, v.min ?? v.mean);
      a.max = Math.max(a.max, v.max ?? v.mean);
    }
  }
  return [...out]
    .sort((a, b) => a[0] - b[0])
    .flatMap(([ts, acc]) => {
      const values: Bucket['values'] = {};
      for (const [p, a] of Object.entries(acc)) values[p] = { mean: a.sum / a.count, min: a.min, max: a.max, count: a.count };
      return Object.keys(values).length > 0 ? [{ ts: new Date(ts).toISOString(), values }] : [];
    });
}

/** Stored hourly or daily AQI by bucket start over [fromMs, toMs). */
export async function rollupAqi(http: InfluxHttp, station: Station, period: 'hourly' | 'daily', scale: AqiScaleKey, fromMs: number, toMs: number): Promise<Map<number, Aqi>> {
  const f = aqiFields(scale);
  const [series] = await http.query(
    `SELECT ${[f.value, f.category, f.colour, f.dominant, f.detail, f.none].map(quoteIdent).join(', ')} FROM ${quoteIdent(aqiMeasurement(period === 'hourly' ? '1h' : '1d'))} ` +
      `WHERE "station" = ${quoteString(station.id)} AND time >= ${fromMs}ms AND time < ${toMs}ms`,
  );
  const out = new Map<number, Aqi>();
  for (const row of series?.[0] ? seriesRows(series[0]) : []) {
    if (typeof row[f.value] !== 'number' || row[f.none] === true) continue;
    if (typeof row[f.detail] === 'string') {
      out.set(row.time as number, JSON.parse(row[f.detail] as string) as Aqi);
      continue;
    }
    out.set(row.time as number, { scale: scale === 'vn' ? 'VN_AQI' : 'US_AQI', value: row[f.value] as number, category: String(row[f.category]), colour: String(row[f.colour]), dominant: String(row[f.dominant]) });
  }
  return out;
}
