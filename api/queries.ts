// InfluxQL read models of the API: the latest reading of a station, and time-bucketed statistics.
// All statements go through InfluxHttp.query (the v1 /query API, served by InfluxDB 1.x, 2.x, 3.x).
import { PARAMETERS, type StationKind } from '../contracts/parameters.ts';
import type { LiveReading } from '../contracts/reading.ts';
import type { Station } from '../contracts/stations.ts';
import type { InfluxHttp, InfluxSeries } from '../ingest/influx/influx-http.ts';
import { quoteIdent, quoteString } from '../ingest/influx/influx-http.ts';
import { rowToLatest } from './snapshot.ts';

const paramsOf = (kind: StationKind): string[] => Object.keys(PARAMETERS[kind]);

function rows(series: InfluxSeries | undefined): Record<string, unknown>[] {
  if (!series) return [];
  return series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]])));
}

export async function latestReading(http: InfluxHttp, station: Station): Promise<LiveReading | undefined> {
  const q = `SELECT * FROM ${quoteIdent(station.kind)} WHERE "station" = ${quoteString(station.id)} ORDER BY time DESC LIMIT 1`;
  const [series] = await http.query(q);
  const row = rows(series?.[0])[0];
  if (!row) return undefined;
  return {
    type: 'reading',
    station: station.id,
    kind: station.kind,
    ...(typeof row.seq === 'number' ? { seq: row.seq } : {}),
    ...rowToLatest(station.kind, row),
  };
}

export interface BucketQuery {
  readonly fromMs: number;
  readonly toMs: number;
  readonly everyMs: number;
}

export interface Bucket {
  readonly ts: string;
  readonly values: Record<string, { mean: number | null; min: number | null; max: number | null; count: number }>;
}

/** The InfluxQL of bucketedReadings (exported for the benchmark's raw-database reference). */
export function bucketStatement(station: Station, q: BucketQuery): string {
  const select = paramsOf(station.kind)
    .flatMap((p) => [`mean(${quoteIdent(p)}) AS "${p}__mean"`, `min(${quoteIdent(p)}) AS "${p}__min"`, `max(${quoteIdent(p)}) AS "${p}__max"`, `count(${quoteIdent(p)}) AS "${p}__count"`])
    .join(', ');
  return (
    `SELECT ${select} FROM ${quoteIdent(station.kind)} WHERE "station" = ${quoteString(station.id)} ` +
    // Whole days are Hanoi days (offset −7 h), as in the daily rollups.
    `AND time >= ${q.fromMs}ms AND time < ${q.toMs}ms GROUP BY time(${q.everyMs}ms${q.everyMs % 86_400_000 === 0 ? ', -7h' : ''}) fill(none)`
  );
}

/** Means, minima, maxima and counts per parameter in buckets of `everyMs`, oldest first. */
export async function bucketedReadings(http: InfluxHttp, station: Station, q: BucketQuery): Promise<Bucket[]> {
  const params = paramsOf(station.kind);
  const [series] = await http.query(bucketStatement(station, q));
  return rows(series?.[0]).map((row) => {
    const values: Bucket['values'] = {};
    for (const p of params) {
      const count = row[`${p}__count`];
      if (typeof count !== 'number' || count === 0) continue;
      const num = (v: unknown) => (typeof v === 'number' ? v : null);
      values[p] = { mean: num(row[`${p}__mean`]), min: num(row[`${p}__min`]), max: num(row[`${p}__max`]), count };
    }
    return { ts: new Date(row.time as number).toISOString(), values };
  });
}

/** Hourly means of the AQI pollutants in clock hours [fromMs, toMs), keyed by the hour's start (ms). */
export async function hourlyPollutantMeans(http: InfluxHttp, station: Station, fromMs: number, toMs: number): Promise<Map<number, Record<string, number>>> {
  const fields = ['pm25', 'pm10', 'o3', 'no2', 'so2', 'co'].map((p) => `mean(${quoteIdent(p)}) AS ${quoteIdent(p)}`).join(', ');
  const q = `SELECT ${fields} FROM "air" WHERE "station" = ${quoteString(station.id)} AND time >= ${fromMs}ms AND time < ${toMs}ms GROUP BY time(1h) fill(none)`;
  const [series] = await http.query(q);
  const out = new Map<number, Record<string, number>>();
  for (const row of rows(series?.[0])) {
    const means: Record<string, number> = {};
    for (const [k, v] of Object.entries(row)) if (k !== 'time' && typeof v === 'number') means[k] = v;
    out.set(row.time as number, means);
  }
  return out;
}
