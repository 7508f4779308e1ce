// Flood report: a river gauge's hours at or above levels I/II/III (Decision 05/2020/QĐ-TTg) and its
// peak with the time; a street point's hours at or above the portal's depth bands and its peak.
import type { FloodReport } from '../../contracts/reports-api.ts';
import { HOUR_MS } from '../../contracts/rollups.ts';
import { floodLevelAt, type FloodLevelsM } from '../../contracts/standards/flood.ts';
import { completeness } from './completeness.ts';
import type { HourlySeries } from './hourly.ts';
import { hoursBetween } from './period.ts';

/** Street-flood depth bands, cm: the portal's display choice (dashboards/README), not a regulation. */
export const STREET_BANDS_CM = [10, 30, 50] as const;

function peakOf(series: HourlySeries, param: string, fromMs: number, untilMs: number) {
  let peak: { value: number; at: number } | undefined;
  for (let h = 0; h < hoursBetween(fromMs, untilMs); h++) {
    const t = fromMs + h * HOUR_MS;
    const s = series.get(t)?.[param];
    if (s && s.count > 0 && (!peak || s.max > peak.value)) peak = { value: s.max, at: s.maxAt ?? t };
  }
  return peak;
}

/** levels given: a river gauge (level_m); absent: a street point (depth_cm). */
export function floodReport(series: HourlySeries, levels: FloodLevelsM | undefined, fromMs: number, untilMs: number): FloodReport {
  const param = levels ? 'level_m' : 'depth_cm';
  const hours = hoursBetween(fromMs, untilMs);
  const thresholds: Record<string, number> = levels ? { ...levels } : Object.fromEntries(STREET_BANDS_CM.map((b) => [String(b), b]));
  const hoursAbove: Record<string, number> = Object.fromEntries(Object.keys(thresholds).map((k) => [k, 0]));
  for (let h = 0; h < hours; h++) {
    const s = series.get(fromMs + h * HOUR_MS)?.[param];
    if (!s || s.count === 0) continue;
    for (const [k, v] of Object.entries(thresholds)) {
      // Rollups and the raw path give the time at each level (readings × interval); without it, an hour whose highest reading reached the level counts whole.
      hoursAbove[k]! += s.hoursAbove?.[k] ?? (s.max >= v ? 1 : 0);
    }
  }
  for (const k of Object.keys(hoursAbove)) hoursAbove[k] = Math.round(hoursAbove[k]! * 100) / 100;
  const peak = peakOf(series, param, fromMs, untilMs);
  return {
    floodType: levels ? 'river' : 'street',
    thresholds,
    hoursAbove,
    peak: peak ? { value: peak.value, unit: levels ? 'm' : 'cm', at: new Date(peak.at).toISOString(), level: levels ? (floodLevelAt(levels, peak.value) ?? null) : null } : null,
    completeness: [completeness(series, param, fromMs, untilMs)],
  };
}
