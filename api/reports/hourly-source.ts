// Where reports read their hourly data: the hourly rollups (README › Rollups) when they exist for a
// station and period, else hourly statistics computed from the raw readings with InfluxQL
// GROUP BY time(1h). Values the exclusion predicate rejects (ingest/rollups/exclusion.ts) are left
// out on both paths: the raw path recomputes, from their rows, the few hours that hold such values.
import { PARAMETERS, type StationKind } from '../../contracts/parameters.ts';
import { HOUR_MS, hourStart, statField, statsMeasurement, hoursAboveField } from '../../contracts/rollups.ts';
import type { Station } from '../../contracts/stations.ts';
import type { InfluxHttp, InfluxSeries } from '../../ingest/influx/influx-http.ts';
import { quoteIdent, quoteString } from '../../ingest/influx/influx-http.ts';
import { exclusionsFor, isExcluded, type ExclusionIndex } from '../../contracts/validations.ts';
import { isValidValue, type RawRow } from '../../ingest/rollups/exclusion.ts';
import { hourRollup } from '../../ingest/rollups/compute.ts';
import { seriesRows } from '../snapshot.ts';
import type { HourlySeries, HourStat } from './hourly.ts';

export type HourlySourceKind = 'rollups' | 'raw' | 'none';
export interface StationHours {
  readonly series: HourlySeries;
  readonly source: HourlySourceKind;
}

export interface HourlySource {
  /** Hourly statistics of each station (all of one kind) in [fromMs, toMs). */
  hourly(kind: StationKind, stations: readonly Station[], fromMs: number, toMs: number): Promise<Map<string, StationHours>>;
}

export interface HourlySourceOptions {
  readonly influx: InfluxHttp;
  /** The client of the rollups' retention policy or bucket (server/influx-targets.ts); default `influx`. */
  readonly rollups?: InfluxHttp | undefined;
  /** Officers' validation marks: the values they exclude are left out of the raw path's hours (the rollups already leave them out). */
  readonly exclusions?: (() => ExclusionIndex) | undefined;
  /** false: always compute from raw readings (the bench's reference). */
  readonly useRollups?: boolean;
}

/** Statistics kept per parameter (interval_s and the like are bookkeeping, not measurements). */
const PARAMS: Readonly<Record<StationKind, readonly string[]>> = {
  air: Object.keys(PARAMETERS.air),
  water: Object.keys(PARAMETERS.water),
  rain: ['rain_mm'],
  flood: ['level_m', 'depth_cm'],
};
const STATIONS_PER_QUERY = 20;
const RIVER_ROWS_SPAN_MS = 7 * 24 * HOUR_MS;
const FAILED_ROW = `("qc" =~ /:(fail|4)(,|$)/ OR "status" =~ /^(calibrating|faulty|fault|maintenance|0?1|0?2)$/)`;

const stationFilter = (stations: readonly Station[]) =>
  stations.length === 1 ? `"station" = ${quoteString(stations[0]!.id)}` : `"station" =~ /^(${stations.map((s) => s.id).join('|')})$/`;
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const expectedPerHour = (s: Station) => Math.max(1, 3600 / s.intervalS);
type Mutable = Map<number, Record<string, HourStat>>;

function put(series: Mutable, hour: number, param: string, stat: HourStat): void {
  const h = series.get(hour) ?? {};
  h[param] = stat;
  series.set(hour, h);
}

/** Statistics of one parameter over raw rows of one hour, valid values only. */
export function statOfRows(rows: readonly RawRow[], param: string, station: Station, counts: (r: RawRow, p: string) => boolean = isValidValue): HourStat | undefined {
  const vals = rows.filter((r) => counts(r, param)).map((r) => ({ v: r[param] as number, t: r.time }));
  if (vals.length === 0) return undefined;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let maxAt = 0;
  for (const { v, t } of vals) {
    sum += v;
    min = Math.min(min, v);
    if (v > max) [max, maxAt] = [v, t];
  }
  return { mean: sum / vals.length, min, max, count: vals.length, coverage: Math.min(1, vals.length / expectedPerHour(station)), sum, maxAt };
}

export function createHourlySource(o: HourlySourceOptions): HourlySource {
  const rollupsDb = o.rollups ?? o.influx;

  async function fromRollups(kind: StationKind, stations: readonly Station[], fromMs: number, toMs: number): Promise<Map<string, Mutable>> {
    const out = new Map<string, Mutable>();
    let result: InfluxSeries[][];
    try {
      result = await rollupsDb.query(`SELECT * FROM ${quoteIdent(statsMeasurement(kind, '1h'))} WHERE ${stationFilter(stations)} AND time >= ${fromMs}ms AND time < ${toMs}ms GROUP BY "station"`);
    } catch {
      return out; // no rollup retention policy (yet): the raw path answers
    }
    for (const s of result[0] ?? []) {
      const station = s.tags?.station;
      if (!station) continue;
      const series: Mutable = new Map();
      for (const row of seriesRows(s)) {
        for (const p of PARAMS[kind]) {
          const count = num(row[statField(p, 'count')]);
          if (!count) continue;
          const hoursAbove = Object.fromEntries((['I', 'II', 'III'] as const).flatMap((l) => (num(row[hoursAboveField(l)]) === undefined ? [] : [[l, row[hoursAboveField(l)] as number]])));
          put(series, row.time as number, p, {
            mean: num(row[statField(p, 'mean')]) ?? NaN,
            min: num(row[statField(p, 'min')]) ?? NaN,
            max: num(row[statField(p, 'max')]) ?? NaN,
            count,
            coverage: num(row[statField(p, 'coverage')]) ?? 0,
            ...(num(row[statField(p, 'sum')]) === undefined ? {} : { sum: row[statField(p, 'sum')] as number }),
            ...(num(row[statField(p, 'max_at')]) === undefined ? {} : { maxAt: row[statField(p, 'max_at')] as number }),
            ...(Object.keys(hoursAbove).length ? { hoursAbove } : {}),
          });
        }
      }
      out.set(station, series);
    }
    return out;
  }

  async function fromRaw(kind: StationKind, stations: readonly Station[], fromMs: number, toMs: number): Promise<Map<string, Mutable>> {
    const byId = new Map(stations.map((s) => [s.id, s]));
    const m = quoteIdent(kind);
    const range = `${stationFilter(stations)} AND time >= ${fromMs}ms AND time < ${toMs}ms`;
    const select = PARAMS[kind].flatMap((p) => {
      const q = quoteIdent(p);
      return [`mean(${q}) AS "${p}__mean"`, `min(${q}) AS "${p}__min"`, `max(${q}) AS "${p}__max"`, `count(${q}) AS "${p}__count"`, `sum(${q}) AS "${p}__sum"`];
    });
    const [stats, failed] = await o.influx.query(
      `SELECT ${select.join(', ')} FROM ${m} WHERE ${range} GROUP BY time(1h), "station" fill(none); SELECT * FROM ${m} WHERE ${range} AND ${FAILED_ROW} GROUP BY "station"`,
    );
    const out = new Map<string, Mutable>();
    for (const s of stats ?? []) {
      const station = byId.get(s.tags?.station ?? '');
      if (!station) continue;
      const series: Mutable = new Map();
      for (const row of seriesRows(s)) {
        for (const p of PARAMS[kind]) {
          const count = num(row[`${p}__count`]);
          if (!count) continue;
          put(series, row.time as number, p, {
            mean: row[`${p}__mean`] as number,
            min: row[`${p}__min`] as number,
            max: row[`${p}__max`] as number,
            count,
            coverage: Math.min(1, count / expectedPerHour(station)),
            sum: row[`${p}__sum`] as number,
          });
        }
      }
      out.set(station.id, series);
    }
    // Hours holding values that do not count (failed flags, not measuring, officers' marks): recomputed from their rows.
    const index = o.exclusions?.();
    for (const station of stations) {
      const series = out.get(station.id);
      if (!series) continue;
      const hours = new Set<number>();
      for (const s of failed ?? []) if (s.tags?.station === station.id) for (const r of seriesRows(s)) hours.add(hourStart(r.time as number));
      for (const list of index ? exclusionsFor(index, station.id, fromMs, toMs).values() : []) {
        for (const [a, b] of list) for (let h = hourStart(Math.max(a, fromMs)); h < Math.min(b, toMs); h += HOUR_MS) hours.add(h);
      }
      const counts = (r: RawRow, p: string) => isValidValue(r, p) && !(index && isExcluded(index, station.id, p, r.time));
      for (const hour of hours) await recomputeHour(kind, station, series, hour, counts);
    }
    if (kind === 'flood') await floodDetails(stations, out, fromMs, toMs);
    return out;
  }

  async function recomputeHour(kind: StationKind, station: Station, series: Mutable, hour: number, counts: (r: RawRow, p: string) => boolean): Promise<void> {
    const [rows] = await o.influx.query(`SELECT * FROM ${quoteIdent(kind)} WHERE "station" = ${quoteString(station.id)} AND time >= ${hour}ms AND time < ${hour + HOUR_MS}ms`);
    const raw = (rows?.[0] ? seriesRows(rows[0]) : []) as RawRow[];
    const fresh: Record<string, HourStat> = {};
    for (const p of PARAMS[kind]) {
      const st = statOfRows(raw, p, station, counts);
      if (st) fresh[p] = st;
    }
    if (Object.keys(fresh).length) series.set(hour, fresh);
    else series.delete(hour);
  }

  /**
   * A river gauge's time at or above each level, hour by hour, by the rollups' own rule (each valid
   * reading stands for the time to the next, at most the interval: ingest/rollups/compute.ts), so
   * both sources agree; read a week of rows at a time.
   */
  async function riverHoursAbove(s: Station, series: Mutable, fromMs: number, toMs: number): Promise<void> {
    const index = o.exclusions?.();
    const marked = (r: RawRow): RawRow => (index && typeof r.level_m === 'number' && isExcluded(index, s.id, 'level_m', r.time) ? { ...r, level_m: Number.NaN } : r);
    for (let from = fromMs; from < toMs; from += RIVER_ROWS_SPAN_MS) {
      const to = Math.min(toMs, from + RIVER_ROWS_SPAN_MS);
      const [res] = await o.influx.query(`SELECT * FROM "flood" WHERE "station" = ${quoteString(s.id)} AND time >= ${from}ms AND time < ${to}ms`);
      const byHour = new Map<number, RawRow[]>();
      for (const r of res?.[0] ? (seriesRows(res[0]) as RawRow[]) : []) {
        const h = hourStart(r.time);
        const rows = byHour.get(h);
        if (rows) rows.push(marked(r));
        else byHour.set(h, [marked(r)]);
      }
      for (const [h, rows] of byHour) {
        const stat = series.get(h)?.level_m;
        const above = hourRollup(s, h, rows).hoursAbove;
        if (stat && above) series.get(h)!.level_m = { ...stat, hoursAbove: above };
      }
    }
  }

  /** River gauges: time at each level (riverHoursAbove); every gauge: the exact time of the highest reading. */
  async function floodDetails(stations: readonly Station[], out: Map<string, Mutable>, fromMs: number, toMs: number): Promise<void> {
    for (const s of stations) {
      const series = out.get(s.id);
      if (!series || s.kind !== 'flood') continue;
      const param = s.floodType === 'river' ? 'level_m' : 'depth_cm';
      if (s.floodType === 'river') await riverHoursAbove(s, series, fromMs, toMs);
      let peakHour: number | undefined;
      for (const [t, h] of series) if (h[param] && (peakHour === undefined || h[param].max > series.get(peakHour)![param]!.max)) peakHour = t;
      if (peakHour === undefined) continue;
      const [res] = await o.influx.query(`SELECT max(${quoteIdent(param)}) AS v FROM "flood" WHERE "station" = ${quoteString(s.id)} AND time >= ${peakHour}ms AND time < ${peakHour + HOUR_MS}ms`);
      const at = num(res?.[0]?.values[0]?.[0]);
      const h = series.get(peakHour)![param]!;
      if (at !== undefined && h.maxAt === undefined) series.get(peakHour)![param] = { ...h, maxAt: at };
    }
  }

  return {
    async hourly(kind, stations, fromMs, toMs) {
      const result = new Map<string, StationHours>();
      // A few stations per query keeps each answer small (a year of hours per station) for the city's reports.
      for (let i = 0; i < stations.length; i += STATIONS_PER_QUERY) {
        const chunk = stations.slice(i, i + STATIONS_PER_QUERY);
        const rolled = o.useRollups === false ? new Map<string, Mutable>() : await fromRollups(kind, chunk, fromMs, toMs);
        for (const [id, series] of rolled) result.set(id, { series, source: 'rollups' });
        const rest = chunk.filter((s) => !rolled.has(s.id));
        const raw = rest.length ? await fromRaw(kind, rest, fromMs, toMs) : new Map<string, Mutable>();
        for (const s of rest) result.set(s.id, raw.has(s.id) ? { series: raw.get(s.id)!, source: 'raw' } : { series: new Map(), source: 'none' });
      }
      return result;
    },
  };
}
