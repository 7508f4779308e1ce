// Rate of change and time-to-threshold from a least-squares line over recent samples. Time is
// shifted to the first sample before fitting so that epoch milliseconds (~1.7e12) do not cost the
// fit its precision.

const HOUR_MS = 3_600_000;

export interface Trend {
  /** Slope in value units per hour. */
  readonly perHour: number;
  readonly points: number;
  readonly spanS: number;
}

/**
 * The fitted slope over the samples, or undefined with fewer than minPoints, or when the samples
 * span less than minSpanS seconds (never a zero span): hourly river levels give a slope from 3
 * readings over 2 hours, a 5-minute gauge from as many as its window holds. The same
 * least-squares fit as simple-statistics' linearRegression (test/ingest/alerts/regression.test.ts
 * checks they agree), without copying the samples: it runs for every flood reading.
 */
export function trend(samples: readonly (readonly [number, number])[], minPoints: number, minSpanS = 0): Trend | undefined {
  const n = samples.length;
  if (n < Math.max(2, minPoints)) return undefined;
  const t0 = (samples[0] as readonly [number, number])[0];
  const tN = (samples[n - 1] as readonly [number, number])[0];
  if (tN === t0 || tN - t0 < minSpanS * 1000) return undefined;
  // Centred on the means before the cross products, as linearRegression does: two passes.
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    const s = samples[i] as readonly [number, number];
    sx += (s[0] - t0) / HOUR_MS;
    sy += s[1];
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const s = samples[i] as readonly [number, number];
    const dx = (s[0] - t0) / HOUR_MS - mx;
    sxy += dx * (s[1] - my);
    sxx += dx * dx;
  }
  const m = sxy / sxx;
  if (!Number.isFinite(m)) return undefined;
  return { perHour: m, points: n, spanS: (tN - t0) / 1000 };
}

/** When a value rising at `perHour` from `value` at `atMs` reaches `target`; undefined if never. */
export function timeToReach(value: number, target: number, perHour: number, atMs: number): number | undefined {
  if (value >= target) return atMs;
  if (perHour <= 0) return undefined;
  return Math.round(atMs + ((target - value) / perHour) * HOUR_MS);
}
