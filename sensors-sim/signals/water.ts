// Surface-water quality: each station wanders slowly around the typical values of its QCVN
// 08:2023 class (so it sometimes strays past its limits), with a daily oxygen cycle and rain
// bringing turbidity and diluting conductivity. Some stations also carry BOD/COD/TSS/NH₄ analysers.
import type { SignalContext } from '../scenarios.ts';
import { DAY_MS, HOUR_MS, localHour, winterness } from './clock.ts';
import { clamp, gaussian, hash01, round, valueNoise } from './noise.ts';
import { rainIntensityMmH, type Place } from './weather.ts';

export type WaterClass = 'A' | 'B' | 'C' | 'D';

export interface WaterSite extends Place {
  readonly key: number;
  readonly waterClass: WaterClass;
}

interface Typical { ph: number; doMgL: number; bod5: number; cod: number; tss: number; nh4: number; turbidity: number; conductivity: number }

/** Typical values by class (QCVN 08:2023 table, docs/standards.md §5); D is a sewage-laden canal. */
const TYPICAL: Readonly<Record<WaterClass, Typical>> = {
  A: { ph: 7.3, doMgL: 7.0, bod5: 2.8, cod: 7.5, tss: 15, nh4: 0.12, turbidity: 10, conductivity: 240 },
  B: { ph: 7.4, doMgL: 5.8, bod5: 5, cod: 12, tss: 40, nh4: 0.5, turbidity: 25, conductivity: 330 },
  C: { ph: 7.2, doMgL: 4.6, bod5: 8.5, cod: 18, tss: 70, nh4: 1.6, turbidity: 45, conductivity: 460 },
  D: { ph: 7.0, doMgL: 1.6, bod5: 32, cod: 70, tss: 95, nh4: 11, turbidity: 60, conductivity: 780 },
};

/** Whether this station carries the lab-grade analysers (about half of them do). */
export const hasAnalysers = (ctx: SignalContext, site: WaterSite): boolean => hash01(ctx.seed, site.key, 20) < 0.5;

export function waterValues(ctx: SignalContext, site: WaterSite, tMs: number): Record<string, number> {
  const t = TYPICAL[site.waterClass];
  const drift = (k: number, amp: number): number => 1 + amp * valueNoise(ctx.seed, site.key + k, tMs, 4 * DAY_MS);
  const jitter = (k: number, sd: number): number => 1 + sd * gaussian(ctx.seed, site.key + k, Math.floor(tMs / 1000));
  const recentRainMmH =
    (rainIntensityMmH(ctx, site, tMs) + rainIntensityMmH(ctx, site, tMs - HOUR_MS) + rainIntensityMmH(ctx, site, tMs - 2 * HOUR_MS)) / 3;
  const runoff = 1 + Math.min(recentRainMmH, 40) / 6;
  const h = localHour(tMs);
  const photosynthesis = 1 + 0.15 * Math.cos((2 * Math.PI * (h - 15)) / 24);
  const tempC = 24 - 6 * winterness(tMs) + 1.2 * Math.cos((2 * Math.PI * (h - 16)) / 24);

  const values: Record<string, number> = {
    ph: round(clamp(t.ph + 0.4 * valueNoise(ctx.seed, site.key + 1, tMs, 5 * DAY_MS) + 0.03 * gaussian(ctx.seed, site.key + 1, Math.floor(tMs / 1000)), 5.5, 9.5), 2),
    do_mgl: round(clamp(t.doMgL * drift(2, 0.3) * photosynthesis * jitter(2, 0.03) / (1 + Math.max(0, tempC - 28) * 0.03), 0.1, 14), 2),
    turbidity_ntu: round(clamp(t.turbidity * drift(3, 0.35) * runoff * jitter(3, 0.05), 0.5, 3500), 1),
    conductivity_uscm: round(clamp(t.conductivity * drift(4, 0.2) / (1 + (runoff - 1) * 0.3) * jitter(4, 0.02), 20, 50_000), 0),
    temp_c: round(clamp(tempC + 0.5 * valueNoise(ctx.seed, site.key + 5, tMs, DAY_MS), 8, 38), 1),
  };
  if (hasAnalysers(ctx, site)) {
    values.bod5_mgl = round(clamp(t.bod5 * drift(6, 0.35) * jitter(6, 0.04), 0.5, 900), 1);
    values.cod_mgl = round(clamp(t.cod * drift(6, 0.35) * drift(7, 0.1) * jitter(7, 0.04), 1, 1800), 1);
    values.tss_mgl = round(clamp(t.tss * drift(8, 0.3) * runoff * jitter(8, 0.05), 1, 4500), 1);
    values.nh4_mgl = round(clamp(t.nh4 * drift(9, 0.4) * jitter(9, 0.05), 0.01, 450), 2);
  }
  return values;
}
