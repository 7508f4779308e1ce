// AQI of a station from its hourly means, on the VN_AQI scale (Decision 1459, the default) or the
// US EPA scale (the table in force at the hour or day rated), using contracts/standards; every
// result is labelled with its scale and breakpoint table, and carries each pollutant's sub-index.
import type { Aqi } from '../contracts/api.ts';
import { usAqiPm10, usAqiPm25, usAqiTableAt, usNowCast } from '../contracts/standards/us-aqi.ts';
import { vnAqiDaily, vnAqiHourly, type VnAqiResult } from '../contracts/standards/vn-aqi.ts';

export const AQI_POLLUTANTS = ['pm25', 'pm10', 'o3', 'no2', 'so2', 'co'] as const;
export type AqiPollutant = (typeof AQI_POLLUTANTS)[number];
/** Hourly means of one hour; absent = no data that hour. */
export type HourMeans = Partial<Record<AqiPollutant, number>>;
export type Scale = 'vn' | 'us';

const hex = (rgb: readonly [number, number, number]) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

/** EPA categories and colours (AirNow technical assistance document). */
const US_BANDS = [
  { max: 50, category: 'good', colour: '#00e400' },
  { max: 100, category: 'moderate', colour: '#ffff00' },
  { max: 150, category: 'unhealthy_for_sensitive_groups', colour: '#ff7e00' },
  { max: 200, category: 'unhealthy', colour: '#ff0000' },
  { max: 300, category: 'very_unhealthy', colour: '#8f3f97' },
  { max: Infinity, category: 'hazardous', colour: '#7e0023' },
] as const;

const tenth = (x: number) => Math.round(x * 10) / 10;

function fromVn(r: VnAqiResult): Aqi | null {
  if (!r.ok) return null;
  const subIndices = Object.fromEntries(Object.entries(r.subIndices).map(([p, v]) => [p, tenth(v as number)]));
  return { scale: 'VN_AQI', value: r.aqi, category: r.band.category, colour: hex(r.band.colour.rgb), dominant: r.dominant, table: 'VN_AQI_1459_2019', subIndices };
}

/** US AQI of PM concentrations (NowCast or 24 h mean) with the EPA table in force at `atMs`. */
function fromUs(pm25: number | undefined, pm10: number | undefined, atMs: number): Aqi | null {
  const table = usAqiTableAt(atMs);
  const a25 = pm25 === undefined ? undefined : usAqiPm25(pm25, table);
  const a10 = pm10 === undefined ? undefined : usAqiPm10(pm10, table);
  if (a25 === undefined && a10 === undefined) return null;
  const [value, dominant] = a10 !== undefined && (a25 === undefined || a10 > a25) ? [a10, 'pm10'] : [a25 as number, 'pm25'];
  const band = US_BANDS.find((b) => value <= b.max) ?? US_BANDS[5];
  const subIndices = { ...(a25 === undefined ? {} : { pm25: a25 }), ...(a10 === undefined ? {} : { pm10: a10 }) };
  return { scale: 'US_AQI', value, category: band.category, colour: band.colour, dominant, table, subIndices };
}

/**
 * Hourly AQI at hour 0 of `hours` (hours[0] = the current hour, hours[1] the one before, … up to
 * 12), the hour starting at `atMs`: PM via NowCast, gases from the current hour's mean. Null when
 * not computable (no PM).
 */
export function hourlyAqi(hours: readonly (HourMeans | undefined)[], scale: Scale, atMs: number): Aqi | null {
  const series = (p: AqiPollutant) => hours.slice(0, 12).map((h) => h?.[p]);
  if (scale === 'us') return fromUs(usNowCast(series('pm25'), 'pm25'), usNowCast(series('pm10'), 'pm10'), atMs);
  const now = hours[0] ?? {};
  return fromVn(
    vnAqiHourly({
      pm25Hourly: series('pm25'),
      pm10Hourly: series('pm10'),
      ...(now.o3 === undefined ? {} : { o3: now.o3 }),
      ...(now.no2 === undefined ? {} : { no2: now.no2 }),
      ...(now.so2 === undefined ? {} : { so2: now.so2 }),
      ...(now.co === undefined ? {} : { co: now.co }),
    }),
  );
}

/** Hours of a day with data that EPA requires for a daily PM AQI (75 % of 24). */
export const US_DAILY_MIN_HOURS = 18;

const mean = (xs: number[]) => (xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length);
const max = (xs: number[]) => (xs.length === 0 ? undefined : Math.max(...xs));

/**
 * Daily AQI over one day's 24 hourly means (oldest first) plus the 7 hours before it (for the O₃
 * 8-hour means that end inside the day), the day starting at `atMs`. PM from the mean of the
 * hourly means.
 */
export function dailyAqi(day: readonly (HourMeans | undefined)[], before: readonly (HourMeans | undefined)[], scale: Scale, atMs: number): Aqi | null {
  const vals = (p: AqiPollutant, hs: readonly (HourMeans | undefined)[] = day) => hs.flatMap((h) => (h?.[p] === undefined ? [] : [h[p] as number]));
  const pm25 = mean(vals('pm25'));
  const pm10 = mean(vals('pm10'));
  if (scale === 'us') {
    // EPA: a daily PM AQI needs 75 % of the day's hours (18 of 24; AirNow "Daily and Hourly AQI - PM2.5").
    const complete = (p: AqiPollutant) => vals(p).length >= US_DAILY_MIN_HOURS;
    return fromUs(complete('pm25') ? pm25 : undefined, complete('pm10') ? pm10 : undefined, atMs);
  }
  const all = [...before, ...day];
  const o3Max8h = max(
    day.flatMap((_, i) => {
      const window = vals('o3', all.slice(before.length + i - 7, before.length + i + 1));
      return window.length >= 6 ? [mean(window) as number] : []; // at least 6 of 8 hours
    }),
  );
  const input = { pm25Mean24h: pm25, pm10Mean24h: pm10, so2Max1h: max(vals('so2')), no2Max1h: max(vals('no2')), coMax1h: max(vals('co')), o3Max1h: max(vals('o3')), o3Max8h };
  return fromVn(vnAqiDaily(Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined))));
}
