// The rollup schema shared by the writer of rollups (ingest/rollups) and their readers (api/):
// measurement and field names, and the bucket boundaries (clock hours in UTC, Hanoi days).
// README "InfluxDB schema › Rollups" documents it for people.
import type { StationKind } from './parameters.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Hanoi is UTC+7 all year (no daylight saving): a Hanoi day starts at 17:00 UTC. */
export const HANOI_OFFSET_MS = 7 * HOUR_MS;

export type RollupPeriod = '1h' | '1d';
export const ROLLUP_PERIOD_MS: Readonly<Record<RollupPeriod, number>> = { '1h': HOUR_MS, '1d': DAY_MS };

export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;
export const hanoiDayStart = (ms: number): number => Math.floor((ms + HANOI_OFFSET_MS) / DAY_MS) * DAY_MS - HANOI_OFFSET_MS;
export const bucketStart = (period: RollupPeriod, ms: number): number => (period === '1h' ? hourStart(ms) : hanoiDayStart(ms));

/** `air_1h`, `flood_1d`, … */
export const statsMeasurement = (kind: StationKind, period: RollupPeriod): string => `${kind}_${period}`;
/** `aqi_1h` (NowCast hourly index), `aqi_1d` (daily index). */
export const aqiMeasurement = (period: RollupPeriod): string => `aqi_${period}`;

/** The statistics stored per parameter and bucket: `${param}_${stat}`. */
export const STAT_FIELDS = ['mean', 'min', 'max', 'count', 'coverage'] as const;
export type StatField = (typeof STAT_FIELDS)[number];
export const statField = (param: string, stat: StatField | 'hours' | 'sum' | 'max_1h' | 'max_at'): string => `${param}_${stat}`;

/**
 * AQI fields per scale: value (float), category, colour, dominant, detail (strings; detail = the API's
 * Aqi object as JSON), none (boolean: true when a recomputation found the index not computable —
 * InfluxDB cannot remove a point's older fields, so they stay and must not be served; absent = false).
 */
export const AQI_SCALES = ['vn', 'us'] as const;
export type AqiScaleKey = (typeof AQI_SCALES)[number];
export const aqiFields = (scale: AqiScaleKey) =>
  ({ value: scale, category: `${scale}_category`, colour: `${scale}_colour`, dominant: `${scale}_dominant`, detail: `${scale}_detail`, none: `${scale}_none` }) as const;

/** Fields of a river gauge's hours at or above each flood level, per bucket. */
export const hoursAboveField = (level: 'I' | 'II' | 'III'): string => `hours_above_${level}`;

/** Hanoi calendar month start (UTC ms) of `ms`, and the start `n` months later. */
export function hanoiMonthStart(ms: number, addMonths = 0): number {
  const local = new Date(ms + HANOI_OFFSET_MS);
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + addMonths, 1) - HANOI_OFFSET_MS;
}

/** The fields a `{kind}_{period}` rollup row may carry, in a stable order (CSV columns). */
export function rollupFieldNames(kind: StationKind, params: readonly string[], period: RollupPeriod, riverGauge: boolean): string[] {
  const out: string[] = [];
  for (const p of params) {
    out.push(...STAT_FIELDS.map((s) => statField(p, s)));
    if (period === '1d') out.push(statField(p, 'hours'));
    if (kind === 'rain' && p === 'rain_mm') out.push(statField(p, 'sum'), ...(period === '1d' ? [statField(p, 'max_1h')] : []));
    if (kind === 'flood') out.push(statField(p, 'max_at'));
  }
  if (riverGauge) out.push(hoursAboveField('I'), hoursAboveField('II'), hoursAboveField('III'));
  return out;
}
