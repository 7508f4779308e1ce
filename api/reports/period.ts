// Report periods: a month (YYYY-MM) or a year (YYYY) in Hanoi time (UTC+7, no daylight saving),
// as epoch-ms bounds with the Hanoi days and months inside them.
import { DAY_MS, HANOI_OFFSET_MS, HOUR_MS } from '../../contracts/rollups.ts';

export interface ReportPeriod {
  readonly label: string;
  readonly kind: 'month' | 'year';
  /** First instant (Hanoi midnight), epoch ms. */
  readonly fromMs: number;
  /** First instant after the period. */
  readonly toMs: number;
}

const hanoiMidnight = (y: number, m0: number) => Date.UTC(y, m0, 1) - HANOI_OFFSET_MS;

export function parsePeriod(label: string): ReportPeriod {
  const [y, m] = label.split('-').map(Number) as [number, number | undefined];
  if (m === undefined) return { label, kind: 'year', fromMs: hanoiMidnight(y, 0), toMs: hanoiMidnight(y + 1, 0) };
  return { label, kind: 'month', fromMs: hanoiMidnight(y, m - 1), toMs: hanoiMidnight(y, m) };
}

/** Start of each Hanoi day in [fromMs, toMs). */
export function daysOf(fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let d = fromMs; d < toMs; d += DAY_MS) out.push(d);
  return out;
}

/** Hanoi months inside a period: label and bounds. */
export function monthsOf(p: ReportPeriod): ReportPeriod[] {
  if (p.kind === 'month') return [p];
  const y = Number(p.label);
  return Array.from({ length: 12 }, (_, i) => parsePeriod(`${y}-${String(i + 1).padStart(2, '0')}`));
}

/** Label of the Hanoi month holding `ms` (YYYY-MM). */
export const hanoiMonthLabel = (ms: number): string => new Date(ms + HANOI_OFFSET_MS).toISOString().slice(0, 7);

/** Clock hours in [fromMs, untilMs) (whole hours; the hour in progress is not counted). */
export const hoursBetween = (fromMs: number, untilMs: number): number => Math.max(0, Math.floor((untilMs - fromMs) / HOUR_MS));
