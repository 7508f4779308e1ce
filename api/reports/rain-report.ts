// Rain gauge report: totals per month and for the period, the wettest clock hour and the wettest
// 24 consecutive hours, wet days (≥ 0.1 mm in a Hanoi day); totals count every stored hour.
import type { RainReport } from '../../contracts/reports-api.ts';
import { DAY_MS, HOUR_MS } from '../../contracts/rollups.ts';
import { completeness } from './completeness.ts';
import type { HourlySeries } from './hourly.ts';
import { daysOf, hoursBetween, type ReportPeriod } from './period.ts';

/** Wet day threshold, mm (WMO's usual 0.1 mm precipitation day). */
export const WET_DAY_MM = 0.1;
const round1 = (x: number) => Math.round(x * 10) / 10;

type Peak = { mm: number; at: string } | null;

function summarise(series: HourlySeries, fromMs: number, untilMs: number) {
  const hours = hoursBetween(fromMs, untilMs);
  const sums = Array.from({ length: hours }, (_, h) => series.get(fromMs + h * HOUR_MS)?.rain_mm?.sum ?? 0);
  let total = 0;
  let max1h: Peak = null;
  for (let h = 0; h < hours; h++) {
    total += sums[h]!;
    if (sums[h]! > 0 && (!max1h || sums[h]! > max1h.mm)) max1h = { mm: sums[h]!, at: new Date(fromMs + h * HOUR_MS).toISOString() };
  }
  // Rolling 24-hour totals over the period's hours (windows that start inside the period).
  let max24h: Peak = null;
  let window = 0;
  for (let h = 0; h < hours; h++) {
    window += sums[h]!;
    if (h >= 24) window -= sums[h - 24]!;
    const start = Math.max(0, h - 23);
    if (window > 1e-9 && (!max24h || window > max24h.mm + 1e-9)) max24h = { mm: window, at: new Date(fromMs + start * HOUR_MS).toISOString() };
  }
  const wetDays = daysOf(fromMs, untilMs).filter((d) => {
    let s = 0;
    for (let t = d; t < Math.min(d + DAY_MS, untilMs); t += HOUR_MS) s += series.get(t)?.rain_mm?.sum ?? 0;
    return s >= WET_DAY_MM;
  }).length;
  const r = (p: Peak) => (p ? { mm: round1(p.mm), at: p.at } : null);
  return { totalMm: round1(total), max1h: r(max1h), max24h: r(max24h), wetDays };
}

export function rainReport(series: HourlySeries, months: readonly ReportPeriod[], fromMs: number, untilMs: number): RainReport {
  const all = summarise(series, fromMs, untilMs);
  return {
    totalMm: all.totalMm,
    max1h: all.max1h,
    max24h: all.max24h,
    months: months.filter((m) => m.fromMs < untilMs).map((m) => ({ month: m.label, ...summarise(series, m.fromMs, Math.min(m.toMs, untilMs)) })),
    completeness: [completeness(series, 'rain_mm', fromMs, untilMs)],
  };
}
