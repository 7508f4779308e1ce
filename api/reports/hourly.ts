// The hourly input of every report and the completeness rule applied to it (docs/reports.md):
// an hourly mean is valid when it rests on ≥ 75 % of the readings the station's interval promises;
// a day is valid with ≥ 18 valid hours (75 %); an annual mean needs valid hours for ≥ 90 % of the period.
import { HOUR_MS } from '../../contracts/rollups.ts';

/** One parameter's statistics over one clock hour, from rollups or computed from raw readings. */
export interface HourStat {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  /** Valid values in the hour. */
  readonly count: number;
  /** count ÷ readings promised by the station's interval (0–1). */
  readonly coverage: number;
  /** Total of the hour (rain_mm). */
  readonly sum?: number;
  /** Epoch ms of the highest value (flood), when known; else the hour's start is shown. */
  readonly maxAt?: number;
  /** River gauges: hours (0–1) at or above levels I, II, III. */
  readonly hoursAbove?: Readonly<Record<string, number>>;
}

/** Hour start (epoch ms, UTC clock hour) → parameter → statistics. */
export type HourlySeries = ReadonlyMap<number, Readonly<Record<string, HourStat>>>;

export const VALID_HOUR_COVERAGE = 0.75;
export const VALID_DAY_HOURS = 18;
export const VALID_8H_HOURS = 6;
export const ANNUAL_MEAN_HOUR_SHARE = 0.9;
export const RULES = { validHourCoverage: VALID_HOUR_COVERAGE, validDayHours: VALID_DAY_HOURS, annualMeanHourShare: ANNUAL_MEAN_HOUR_SHARE, document: 'docs/reports.md' } as const;

/** The hour's statistics of `param` when they count (valid hour), else undefined. */
export function validHour(series: HourlySeries, hourMs: number, param: string): HourStat | undefined {
  const s = series.get(hourMs)?.[param];
  return s && s.count > 0 && s.coverage >= VALID_HOUR_COVERAGE - 1e-9 ? s : undefined;
}

/** Valid hourly means of one Hanoi day (24 entries, undefined where not valid). */
export function dayMeans(series: HourlySeries, dayMs: number, param: string): (number | undefined)[] {
  return Array.from({ length: 24 }, (_, i) => validHour(series, dayMs + i * HOUR_MS, param)?.mean);
}

export const definedOnly = (xs: readonly (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined);
export const meanOf = (xs: readonly number[]): number | undefined => (xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length);
export const pct = (n: number, of: number): number => (of === 0 ? 0 : Math.round((1000 * n) / of) / 10);
