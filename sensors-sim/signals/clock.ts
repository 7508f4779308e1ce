// Hanoi local time (UTC+7, no daylight saving) as the signals need it: hour, weekday, season.
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const HANOI_OFFSET_MS = 7 * HOUR_MS;
const YEAR_DAYS = 365.2425;

/** Local hour of day, fractional, 0 ≤ h < 24. */
export const localHour = (tMs: number): number => ((((tMs + HANOI_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;

/** Local day of week, 0 = Sunday. */
export const localWeekday = (tMs: number): number => new Date(tMs + HANOI_OFFSET_MS).getUTCDay();

/** Fraction of the year since 1 January (about: ±1 day is irrelevant for seasons). */
export const yearPhase = (tMs: number): number => ((((tMs + HANOI_OFFSET_MS) / DAY_MS) % YEAR_DAYS) + YEAR_DAYS) % YEAR_DAYS / YEAR_DAYS;

/** 1 in mid-January (coldest, driest, most polluted), −1 in mid-July. */
export const winterness = (tMs: number): number => Math.cos(2 * Math.PI * (yearPhase(tMs) - 0.04));

/** ISO 8601 in Hanoi local time with an explicit +07:00 offset, as field gateways stamp readings. */
export function toHanoiIso(tMs: number): string {
  const local = new Date(tMs + HANOI_OFFSET_MS).toISOString();
  const trimmed = local.endsWith('.000Z') ? local.slice(0, -5) : local.slice(0, -1);
  return `${trimmed}+07:00`;
}
