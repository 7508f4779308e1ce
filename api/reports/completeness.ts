// Data completeness of one parameter over a period: valid hours and valid days (rule: hourly.ts).
import type { Completeness } from '../../contracts/reports-api.ts';
import { DAY_MS, HOUR_MS } from '../../contracts/rollups.ts';
import { daysOf, hoursBetween } from './period.ts';
import { pct, VALID_DAY_HOURS, validHour, type HourlySeries } from './hourly.ts';

export function completeness(series: HourlySeries, param: string, fromMs: number, untilMs: number): Completeness {
  const hours = hoursBetween(fromMs, untilMs);
  let validHours = 0;
  for (let h = 0; h < hours; h++) if (validHour(series, fromMs + h * HOUR_MS, param)) validHours++;
  const days = daysOf(fromMs, untilMs);
  const validDays = days.filter((d) => validDayHours(series, d, param) >= VALID_DAY_HOURS).length;
  return { param, hours, validHours, validHourPct: pct(validHours, hours), days: days.length, validDays, validDayPct: pct(validDays, days.length) };
}

export function validDayHours(series: HourlySeries, dayMs: number, param: string): number {
  let n = 0;
  for (let t = dayMs; t < dayMs + DAY_MS; t += HOUR_MS) if (validHour(series, t, param)) n++;
  return n;
}
