// Named scenarios: what each one overlays on the normal city, on a timeline measured from the
// scenario's origin (the simulator's --start). Signals ask these shapes; nothing here has state.
import { HOUR_MS, DAY_MS } from './signals/clock.ts';
import { smoothstep } from './signals/noise.ts';

export const SCENARIOS = ['normal', 'winter-smog', 'yagi-flood', 'sensor-faults'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Everything a signal needs besides the station and the time. */
export interface SignalContext {
  readonly seed: number;
  readonly scenario: ScenarioName;
  /** Scenario origin, epoch ms (simulated time at --start). */
  readonly originMs: number;
}

export interface ScenarioInfo {
  readonly description: string;
  /** Simulated time the scenario needs to play out in full (its story has an end). */
  readonly nominalDurationMs: number;
}

export const SCENARIO_INFO: Readonly<Record<ScenarioName, ScenarioInfo>> = {
  normal: { description: 'An ordinary day: traffic cycles, scattered showers, rivers in season.', nominalDurationMs: DAY_MS },
  'winter-smog': {
    description: 'A winter temperature inversion: PM2.5 climbs above 150 µg/m³ for two days, then clears.',
    nominalDurationMs: 4 * DAY_MS,
  },
  'yagi-flood': {
    description: 'Typhoon Yagi (Sep 2024): 30 h of torrential rain, street flooding, the Hồng at Long Biên through levels I and II to 11.2 m and back below I.',
    nominalDurationMs: 5 * DAY_MS,
  },
  'sensor-faults': { description: 'The normal city with every gateway fault injected at a steady rate.', nominalDurationMs: DAY_MS },
};

/** Rise, hold, fall envelope in [0, 1] over hours since the origin. */
function envelope(hours: number, riseStartH: number, riseH: number, holdH: number, fallH: number): number {
  if (hours < riseStartH) return 0;
  const h = hours - riseStartH;
  if (h < riseH) return smoothstep(h / riseH);
  if (h < riseH + holdH) return 1;
  return 1 - smoothstep((h - riseH - holdH) / fallH);
}

const hoursSince = (ctx: SignalContext, tMs: number): number => (tMs - ctx.originMs) / HOUR_MS;

/** winter-smog: inversion strength in [0, 1] (starts 6 h in, 18 h build-up, 48 h hold, 18 h clear-out). */
export function smogShape(ctx: SignalContext, tMs: number): number {
  return ctx.scenario === 'winter-smog' ? envelope(hoursSince(ctx, tMs), 6, 18, 48, 18) : 0;
}

/** yagi-flood: torrential-rain strength in [0, 1] (6 h to arrive, 24 h of rain, 6 h to pass). */
export function typhoonRainShape(ctx: SignalContext, tMs: number): number {
  return ctx.scenario === 'yagi-flood' ? envelope(hoursSince(ctx, tMs), 0, 6, 24, 6) : 0;
}

/** Yagi hydrograph timeline: rise from the origin to the peak, then recession. */
export const YAGI_RISE_H = 54;
export const YAGI_FALL_H = 66;

/**
 * yagi-flood: where a river gauge stands on its hydrograph, as (start, peak, end) weights.
 * Returns undefined outside the scenario, so the normal seasonal level applies.
 */
export function yagiStage(ctx: SignalContext, tMs: number): { toPeak: number; fromPeak: number } | undefined {
  if (ctx.scenario !== 'yagi-flood') return undefined;
  const h = Math.max(0, hoursSince(ctx, tMs));
  if (h <= YAGI_RISE_H) return { toPeak: smoothstep(h / YAGI_RISE_H), fromPeak: 0 };
  return { toPeak: 1, fromPeak: smoothstep((h - YAGI_RISE_H) / YAGI_FALL_H) };
}

export function isScenario(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}
