// Flood and rain view models: a river gauge against its levels I/II/III (Decision 05/2020) with
// trend and time to the next level, street-flooding depth bands, and rainfall terms (rain.ts).
import { FLOOD_LEVEL_LABELS, floodLevelAt, nextFloodLevel, type FloodLevel } from '../../../contracts/standards/flood.ts';
import { RAIN_CATEGORY_LABELS, rainCategory } from '../../../contracts/standards/rain.ts';
import type { Text } from '../i18n.ts';
import type { RiverGauge, ServerFlood } from '../data/types.ts';

export interface RiverState {
  readonly levelM: number;
  /** Highest level reached, undefined below level I. */
  readonly reached: FloodLevel | undefined;
  readonly label: Text;
  /** cm per hour; undefined without enough recent readings. */
  readonly trendCmPerH: number | undefined;
  readonly next: { level: FloodLevel; label: Text; thresholdM: number; etaMinutes: number | undefined } | undefined;
}

const BELOW_I: Text = { vi: 'Dưới báo động I', en: 'Below alert level I' };

/** Least-squares slope in cm/h over (epoch ms, metres) points; undefined under 3 points or 20 min. */
export function trendCmPerH(points: readonly { ts: number; v: number }[]): number | undefined {
  if (points.length < 3) return undefined;
  const first = points[0] as { ts: number };
  const last = points[points.length - 1] as { ts: number };
  if (last.ts - first.ts < 20 * 60_000) return undefined;
  const xs = points.map((p) => (p.ts - first.ts) / 3_600_000);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = points.reduce((a, p) => a + p.v, 0) / points.length;
  let num = 0;
  let den = 0;
  points.forEach((p, i) => {
    const dx = (xs[i] as number) - mx;
    num += dx * (p.v - my);
    den += dx * dx;
  });
  return den === 0 ? undefined : (num / den) * 100;
}

export function riverState(gauge: RiverGauge, levelM: number, history: readonly { ts: number; v: number }[], server?: ServerFlood | null): RiverState {
  const reached = floodLevelAt(gauge.levelsM, levelM);
  const trend = server?.trendCmPerH ?? trendCmPerH(history);
  const nxt = nextFloodLevel(gauge.levelsM, levelM);
  let next: RiverState['next'];
  if (nxt) {
    const eta = server?.etaMinutes ?? (trend !== undefined && trend > 0 ? ((nxt.thresholdM - levelM) * 100 * 60) / trend : undefined);
    next = { level: nxt.level, label: FLOOD_LEVEL_LABELS[nxt.level], thresholdM: nxt.thresholdM, etaMinutes: eta ?? undefined };
  }
  return { levelM, reached, label: reached ? FLOOD_LEVEL_LABELS[reached] : BELOW_I, trendCmPerH: trend ?? undefined, next };
}

export const RIVER_COLOURS: Readonly<Record<FloodLevel | 'none', string>> = { none: '#2e7d32', I: '#f9a825', II: '#ef6c00', III: '#c62828' };

/**
 * Street-flooding depth bands. Display bands chosen for the portal (no regulation defines them):
 * ~10 cm wets shoes, ~30 cm stalls motorbikes, ~50 cm is dangerous to wade.
 */
export const DEPTH_BANDS: readonly { key: string; minCm: number; label: Text; colour: string }[] = [
  { key: 'dry', minCm: 0, label: { vi: 'Không ngập', en: 'Not flooded' }, colour: '#9e9e9e' },
  { key: 'shallow', minCm: 1, label: { vi: 'Ngập nhẹ', en: 'Shallow' }, colour: '#81d4fa' },
  { key: 'moderate', minCm: 10, label: { vi: 'Ngập vừa — xe máy khó đi', en: 'Moderate — hard for motorbikes' }, colour: '#29b6f6' },
  { key: 'deep', minCm: 30, label: { vi: 'Ngập sâu — tránh đi qua', en: 'Deep — avoid' }, colour: '#1565c0' },
  { key: 'danger', minCm: 50, label: { vi: 'Rất sâu — nguy hiểm', en: 'Very deep — dangerous' }, colour: '#4a148c' },
];

export function depthBand(depthCm: number): (typeof DEPTH_BANDS)[number] {
  let band = DEPTH_BANDS[0] as (typeof DEPTH_BANDS)[number];
  for (const b of DEPTH_BANDS) if (depthCm >= b.minCm) band = b;
  return band;
}

/** The national forecasting term for a 24-hour accumulation (docs/standards.md §7). */
export function rainTerm(mm24h: number): { key: string; label: Text } {
  const key = rainCategory(mm24h, '24h');
  return { key, label: RAIN_CATEGORY_LABELS[key] };
}

export const RAIN_COLOURS: Readonly<Record<string, string>> = { light: '#b3e5fc', rain: '#4fc3f7', moderate: '#0288d1', heavy: '#01579b', very_heavy: '#6a1b9a' };
