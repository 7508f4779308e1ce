// Water on the ground: street-flooding depth as rain beyond the drains' capacity ponding and
// draining away with a lag, and river-gauge levels rising and falling over days.
import { type SignalContext, yagiStage } from '../scenarios.ts';
import { DAY_MS, HOUR_MS, winterness } from './clock.ts';
import { clamp, gaussian, hash01, round, valueNoise } from './noise.ts';
import { rainIntensityMmH, type Place } from './weather.ts';

export interface StreetSite extends Place {
  readonly key: number;
}

const STEP_MS = 10 * 60_000;
const MEMORY_MS = 8 * HOUR_MS;

/**
 * Depth in cm at a hotspot: a linear reservoir fed by the rain the drains cannot take. Hanoi's
 * drainage copes with ~50 mm in 2 h (docs/standards.md §7), so capacity is ~15–25 mm/h; ponded water
 * drains with a 1–2.5 h time constant, so the depth peaks after the rain and lingers.
 */
export function streetDepthCm(ctx: SignalContext, site: StreetSite, tMs: number): number {
  const capacityMmH = 15 + 10 * hash01(ctx.seed, site.key, 10);
  const drainH = 1 + 1.5 * hash01(ctx.seed, site.key, 11);
  const concentration = 8 + 8 * hash01(ctx.seed, site.key, 12); // low spots collect a catchment
  const dtH = STEP_MS / HOUR_MS;
  const firstStep = Math.floor((tMs - MEMORY_MS) / STEP_MS);
  let storedMm = 0;
  for (let s = firstStep; s * STEP_MS <= tMs; s++) {
    const excess = Math.max(0, rainIntensityMmH(ctx, site, s * STEP_MS) - capacityMmH);
    storedMm += excess * dtH * concentration - storedMm * (dtH / drainH);
  }
  const depthCm = storedMm / 10;
  return depthCm < 0.5 ? 0 : round(clamp(depthCm, 0, 150), 1);
}

export interface GaugeSite {
  readonly id: string;
  readonly key: number;
  readonly levelsM: { readonly I: number; readonly II: number; readonly III: number };
}

/** Yagi peaks by gauge, m (Long Biên 11.20 m on 12 Sep 2024; the others as fractions of I→III). */
function yagiPeakM(g: GaugeSite): number {
  if (g.id === 'flood-longbien') return 11.2;
  const f = g.id === 'flood-trungha' ? 0.3 : g.id === 'flood-batha' ? 1.1 : 0.7;
  return g.levelsM.I + f * (g.levelsM.III - g.levelsM.I);
}

/** Normal level: low in the dry season (~20% of level I), high in August (~72%), wandering over days. */
function seasonalLevelM(ctx: SignalContext, g: GaugeSite, tMs: number): number {
  const wet = (1 - winterness(tMs - 30 * DAY_MS)) / 2; // rivers lag the rains by a month
  const low = 0.2 * g.levelsM.I;
  const high = 0.72 * g.levelsM.I;
  const wander = (0.03 + 0.07 * wet) * g.levelsM.I * valueNoise(ctx.seed, g.key, tMs, 3 * DAY_MS);
  return low + (high - low) * wet + wander;
}

export function riverLevelM(ctx: SignalContext, g: GaugeSite, tMs: number): number {
  const sensor = 0.01 * gaussian(ctx.seed, g.key, Math.floor(tMs / 1000));
  const stage = yagiStage(ctx, tMs);
  let level = seasonalLevelM(ctx, g, tMs);
  if (stage) {
    const startM = Math.max(level, 0.74 * g.levelsM.I); // Yagi arrived on a river already in flood season
    const peakM = yagiPeakM(g);
    const endM = g.levelsM.I - 0.1 * (g.levelsM.III - g.levelsM.I) - 0.35;
    level = stage.fromPeak === 0 ? startM + (peakM - startM) * stage.toPeak : peakM - (peakM - endM) * stage.fromPeak;
  }
  return round(level + sensor, 2);
}
