// Rate of change and time-to-threshold from a least-squares line over recent samples
// (simple-statistics linearRegression). Time is shifted to the first sample before fitting so that
// epoch milliseconds (~1.7e12) do not cost the fit its precision.
import { linearRegression } from 'simple-statistics';

const HOUR_MS = 3_600_000;

export interface Trend {
  /** Slope in value units per hour. */
  readonly perHour: number;
  readonly points: number;
  readonly spanS: number;
}

/** The fitted slope over the samples, or undefined with fewer than minPoints or a zero span. */
export function trend(samples: readonly (readonly [number, number])[], minPoints: number): Trend | undefined {
  if (samples.length < Math.max(2, minPoints)) return undefined;
  const t0 = (samples[0] as readonly [number, number])[0];
  const tN = (samples[samples.length - 1] as readonly [number, number])[0];
  if (tN === t0) return undefined;
  const { m } = linearRegression(samples.map(([t, v]) => [(t - t0) / HOUR_MS, v]));
  if (!Number.isFinite(m)) return undefined;
  return { perHour: m, points: samples.length, spanS: (tN - t0) / 1000 };
}

/** When a value rising at `perHour` from `value` at `atMs` reaches `target`; undefined if never. */
export function timeToReach(value: number, target: number, perHour: number, atMs: number): number | undefined {
  if (value >= target) return atMs;
  if (perHour <= 0) return undefined;
  return Math.round(atMs + ((target - value) / perHour) * HOUR_MS);
}
