// Pure rollup arithmetic: one hour's statistics from its raw rows, a day's from its hours, and the
// hourly / daily AQI from hourly means (api/aqi.ts over contracts/standards: not re-implemented).
import { hourlyAqi, dailyAqi, AQI_POLLUTANTS, type HourMeans } from '../../api/aqi.ts';
import type { Aqi } from '../../contracts/api.ts';
import { PARAMETERS } from '../../contracts/parameters.ts';
import { DAY_MS, HOUR_MS } from '../../contracts/rollups.ts';
import { FLOOD_LEVELS, type FloodLevel } from '../../contracts/standards/flood.ts';
import type { Station } from '../../contracts/stations.ts';
import { isValidValue, type RawRow } from './exclusion.ts';

export interface ParamStats {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  /** Valid values. */
  readonly count: number;
  /** 0–1: count ÷ the values the station's reporting interval promises in the bucket. */
  readonly coverage: number;
  readonly sum: number;
  /** Epoch ms of the (first) maximum. */
  readonly maxAt: number;
  /** Day buckets only: hours of the day with at least one valid value. */
  readonly hours?: number;
  /** Day buckets only: largest hourly sum (rain). */
  readonly maxHourSum?: number;
}

export interface BucketRollup {
  readonly startMs: number;
  /** Parameters with at least one stored value in the bucket (count 0 = all of them left out). */
  readonly params: ReadonlyMap<string, ParamStats | { readonly count: 0; readonly coverage: 0 }>;
  /** River gauges: hours at or above each flood level. */
  readonly hoursAbove?: Readonly<Record<FloodLevel, number>>;
}

export const paramsOf = (station: Station): string[] => Object.keys(PARAMETERS[station.kind]);
const coverageOf = (count: number, bucketMs: number, station: Station) => Math.min(1, count / (bucketMs / (station.intervalS * 1000)));

/** The hour starting at `startMs` from its raw rows (any order; rows outside the hour ignored). */
export function hourRollup(station: Station, startMs: number, rows: readonly RawRow[]): BucketRollup {
  const endMs = startMs + HOUR_MS;
  const inHour = rows.filter((r) => r.time >= startMs && r.time < endMs).sort((a, b) => a.time - b.time);
  const params = new Map<string, ParamStats | { count: 0; coverage: 0 }>();
  for (const p of paramsOf(station)) {
    let count = 0, sum = 0, min = Infinity, max = -Infinity, maxAt = 0, seen = false;
    for (const r of inHour) {
      if (typeof r[p] === 'number') seen = true;
      if (!isValidValue(r, p)) continue;
      const v = r[p] as number;
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) [max, maxAt] = [v, r.time];
    }
    if (count > 0) params.set(p, { mean: sum / count, min, max, count, coverage: coverageOf(count, HOUR_MS, station), sum, maxAt });
    else if (seen) params.set(p, { count: 0, coverage: 0 });
  }
  if (station.kind !== 'flood' || station.floodType !== 'river') return { startMs, params };
  return { startMs, params, hoursAbove: hoursAbove(inHour, station.levelsM, station.intervalS * 1000, endMs) };
}

/**
 * Time at or above each level: each valid reading stands for the time to the next valid one, at
 * most the station's interval (a gap is unknown, not flooded), and never past the bucket's end.
 */
function hoursAbove(sorted: readonly RawRow[], levels: Readonly<Record<FloodLevel, number>>, intervalMs: number, endMs: number): Record<FloodLevel, number> {
  const valid = sorted.filter((r) => isValidValue(r, 'level_m'));
  const out: Record<FloodLevel, number> = { I: 0, II: 0, III: 0 };
  valid.forEach((r, i) => {
    const until = Math.min(valid[i + 1]?.time ?? endMs, r.time + intervalMs, endMs);
    for (const l of FLOOD_LEVELS) if ((r.level_m as number) >= levels[l]) out[l] += (until - r.time) / HOUR_MS;
  });
  return out;
}

/** The Hanoi day starting at `startMs` from its hourly rollups (hours outside the day ignored). */
export function dayRollup(station: Station, startMs: number, hours: readonly BucketRollup[]): BucketRollup {
  const inDay = hours.filter((h) => h.startMs >= startMs && h.startMs < startMs + DAY_MS);
  const params = new Map<string, ParamStats | { count: 0; coverage: 0 }>();
  for (const p of paramsOf(station)) {
    let count = 0, sum = 0, min = Infinity, max = -Infinity, maxAt = 0, nHours = 0, maxHourSum = 0, seen = false;
    for (const h of inDay) {
      const s = h.params.get(p);
      if (!s) continue;
      seen = true;
      if (s.count === 0) continue;
      const st = s as ParamStats;
      count += st.count;
      sum += st.sum;
      nHours++;
      if (st.min < min) min = st.min;
      if (st.max > max) [max, maxAt] = [st.max, st.maxAt];
      if (st.sum > maxHourSum) maxHourSum = st.sum;
    }
    if (count > 0) params.set(p, { mean: sum / count, min, max, count, coverage: coverageOf(count, DAY_MS, station), sum, maxAt, hours: nHours, maxHourSum });
    else if (seen) params.set(p, { count: 0, coverage: 0 });
  }
  if (station.kind !== 'flood' || station.floodType !== 'river') return { startMs, params };
  const above: Record<FloodLevel, number> = { I: 0, II: 0, III: 0 };
  for (const h of inDay) for (const l of FLOOD_LEVELS) above[l] += h.hoursAbove?.[l] ?? 0;
  return { startMs, params, hoursAbove: above };
}

/** The AQI pollutants' hourly means of one hourly rollup (valid values only). */
export function hourMeans(hour: BucketRollup | undefined): HourMeans | undefined {
  if (!hour) return undefined;
  const means: HourMeans = {};
  for (const p of AQI_POLLUTANTS) {
    const s = hour.params.get(p);
    if (s && s.count > 0) means[p] = (s as ParamStats).mean;
  }
  return Object.keys(means).length > 0 ? means : undefined;
}

export interface AqiPair {
  readonly vn: Aqi | null;
  readonly us: Aqi | null;
}

/** Hourly AQI of hour `h` from hourly rollups keyed by start (NowCast over h and the 11 before). */
export function hourlyAqiAt(h: number, hours: ReadonlyMap<number, BucketRollup>): AqiPair {
  const series = Array.from({ length: 12 }, (_, i) => hourMeans(hours.get(h - i * HOUR_MS)));
  return { vn: hourlyAqi(series, 'vn', h), us: hourlyAqi(series, 'us', h) };
}

/** Daily AQI of the Hanoi day starting at `d` (its 24 hours and the 7 before, for O₃ 8 h). */
export function dailyAqiAt(d: number, hours: ReadonlyMap<number, BucketRollup>): AqiPair {
  const day = Array.from({ length: 24 }, (_, i) => hourMeans(hours.get(d + i * HOUR_MS)));
  const before = Array.from({ length: 7 }, (_, i) => hourMeans(hours.get(d - (7 - i) * HOUR_MS)));
  return { vn: dailyAqi(day, before, 'vn', d), us: dailyAqi(day, before, 'us', d) };
}
