// Air station report: days per daily VN_AQI category, QCVN 05:2023 exceedances on their averaging
// windows (1 h, 8 h, 24 h), the period's mean against the annual limit, and data completeness.
import type { AirReport, Exceedance } from '../../contracts/reports-api.ts';
import { DAY_MS, HOUR_MS } from '../../contracts/rollups.ts';
import { qcvn05Limit, type Qcvn05Parameter } from '../../contracts/standards/qcvn05.ts';
import { AQI_POLLUTANTS, dailyAqi, type HourMeans } from '../aqi.ts';
import { completeness, validDayHours } from './completeness.ts';
import { ANNUAL_MEAN_HOUR_SHARE, dayMeans, definedOnly, meanOf, VALID_8H_HOURS, VALID_DAY_HOURS, validHour, type HourlySeries } from './hourly.ts';
import { daysOf, hoursBetween } from './period.ts';

/** Pollutants the report judges: the AQI ones, all regulated by QCVN 05:2023. */
const PARAMS = AQI_POLLUTANTS as readonly Qcvn05Parameter[];

const hourMeans = (series: HourlySeries, hourMs: number): HourMeans | undefined => {
  const m: HourMeans = {};
  for (const p of AQI_POLLUTANTS) {
    const s = validHour(series, hourMs, p);
    if (s) m[p] = s.mean;
  }
  return Object.keys(m).length ? m : undefined;
};

/** The daily VN_AQI category of each day, or 'insufficient' without a valid PM2.5/PM10 day. */
export function dailyCategories(series: HourlySeries, days: readonly number[]): string[] {
  return days.map((d) => {
    if (validDayHours(series, d, 'pm25') < VALID_DAY_HOURS && validDayHours(series, d, 'pm10') < VALID_DAY_HOURS) return 'insufficient';
    const day = Array.from({ length: 24 }, (_, i) => hourMeans(series, d + i * HOUR_MS));
    const before = Array.from({ length: 7 }, (_, i) => hourMeans(series, d - (7 - i) * HOUR_MS));
    return dailyAqi(day, before, 'vn', d)?.category ?? 'insufficient';
  });
}

/** 8-hour running means ending at each hour of the day (valid with ≥ 6 valid hours of 8). */
function eightHourMeans(series: HourlySeries, dayMs: number, param: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < 24; i++) {
    const end = dayMs + i * HOUR_MS;
    const window = definedOnly(Array.from({ length: 8 }, (_, k) => validHour(series, end - (7 - k) * HOUR_MS, param)?.mean));
    if (window.length >= VALID_8H_HOURS) out.push(meanOf(window)!);
  }
  return out;
}

function exceedances(series: HourlySeries, param: Qcvn05Parameter, fromMs: number, untilMs: number, days: readonly number[]): Exceedance[] {
  const out: Exceedance[] = [];
  const hours = hoursBetween(fromMs, untilMs);
  if (qcvn05Limit(param, '1h', fromMs) !== undefined) {
    let count = 0;
    let evaluated = 0;
    for (let h = 0; h < hours; h++) {
      const t = fromMs + h * HOUR_MS;
      const s = validHour(series, t, param);
      if (!s) continue;
      evaluated++;
      if (s.mean > qcvn05Limit(param, '1h', t + HOUR_MS)!) count++;
    }
    out.push({ param, window: '1h', limitUgM3: qcvn05Limit(param, '1h', untilMs)!, unit: 'hours', count, evaluated });
  }
  if (qcvn05Limit(param, '8h', fromMs) !== undefined) {
    let count = 0;
    let evaluated = 0;
    for (const d of days) {
      const means = eightHourMeans(series, d, param);
      if (means.length < VALID_DAY_HOURS) continue; // a day's maximum needs 18 valid 8-hour means (75 %)
      evaluated++;
      if (Math.max(...means) > qcvn05Limit(param, '8h', d + DAY_MS)!) count++;
    }
    out.push({ param, window: '8h', limitUgM3: qcvn05Limit(param, '8h', untilMs)!, unit: 'days', count, evaluated });
  }
  if (qcvn05Limit(param, '24h', fromMs) !== undefined) {
    let count = 0;
    let evaluated = 0;
    for (const d of days) {
      const means = definedOnly(dayMeans(series, d, param));
      if (means.length < VALID_DAY_HOURS) continue;
      evaluated++;
      if (meanOf(means)! > qcvn05Limit(param, '24h', d + DAY_MS)!) count++;
    }
    out.push({ param, window: '24h', limitUgM3: qcvn05Limit(param, '24h', untilMs)!, unit: 'days', count, evaluated });
  }
  return out;
}

/** The report of one air station over [fromMs, untilMs) (untilMs = the period's end, or now). */
export function airReport(series: HourlySeries, fromMs: number, untilMs: number): AirReport {
  const days = daysOf(fromMs, untilMs);
  const measured = PARAMS.filter((p) => [...series.values()].some((h) => h[p] !== undefined));
  const daysByCategory: Record<string, number> = { good: 0, moderate: 0, poor: 0, bad: 0, very_bad: 0, hazardous: 0, insufficient: 0 };
  for (const c of dailyCategories(series, days)) daysByCategory[c]!++;
  const hours = hoursBetween(fromMs, untilMs);
  const annualMeans = measured.flatMap((param) => {
    const limit = qcvn05Limit(param, 'year', untilMs);
    if (limit === undefined) return [];
    const means = definedOnly(Array.from({ length: hours }, (_, h) => validHour(series, fromMs + h * HOUR_MS, param)?.mean));
    const mean = meanOf(means);
    return [{ param, meanUgM3: mean === undefined ? null : Math.round(mean * 10) / 10, annualLimitUgM3: limit, exceeds: mean === undefined ? null : mean > limit, complete: hours > 0 && means.length >= ANNUAL_MEAN_HOUR_SHARE * hours }];
  });
  return {
    daysByCategory: daysByCategory as AirReport['daysByCategory'],
    exceedances: measured.flatMap((p) => exceedances(series, p, fromMs, untilMs, days)),
    annualMeans,
    completeness: measured.map((p) => completeness(series, p, fromMs, untilMs)),
  };
}
