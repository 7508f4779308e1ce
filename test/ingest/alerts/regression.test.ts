// The hot path's least-squares slope against simple-statistics' linearRegression, on random
// series shaped like gauge readings (epoch-ms times, metres or centimetres), plus its edge cases.
import fc from 'fast-check';
import { linearRegression } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { timeToReach, trend } from '../../../ingest/alerts/regression.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 8, 7, 0, 0);

/** Strictly increasing times from T0, 10 s to 30 min apart, with levels 0-2,000. */
const series = fc
  .array(fc.tuple(fc.integer({ min: 10_000, max: 1_800_000 }), fc.double({ min: 0, max: 2000, noNaN: true })), { minLength: 2, maxLength: 300 })
  .map((steps) => {
    let t = T0;
    return steps.map(([dt, v]) => [(t += dt), v] as const);
  });

describe('trend', () => {
  it('agrees with simple-statistics linearRegression (time in hours from the first sample)', () => {
    fc.assert(
      fc.property(series, (samples) => {
        const t = trend(samples, 2)!;
        const expected = linearRegression(samples.map(([ts, v]) => [(ts - samples[0]![0]) / HOUR, v])).m;
        expect(t.perHour).toBeCloseTo(expected, 6);
        expect(t.points).toBe(samples.length);
        expect(t.spanS).toBe((samples.at(-1)![0] - samples[0]![0]) / 1000);
      }),
      { seed: 4, numRuns: 300 },
    );
  });

  it('gives a known slope exactly and refuses too few points or a zero span', () => {
    const rising = Array.from({ length: 7 }, (_, i) => [T0 + i * 10 * 60_000, 9 + i * 0.05] as const); // 5 cm per 10 min
    expect(trend(rising, 3)?.perHour).toBeCloseTo(0.3, 12);
    expect(trend(rising, 8)).toBeUndefined();
    expect(trend([[T0, 1], [T0, 2]], 2)).toBeUndefined();
    expect(timeToReach(9.3, 9.5, 0.3, T0)).toBe(T0 + 40 * 60_000);
    expect(timeToReach(9.3, 9.5, 0, T0)).toBeUndefined();
  });
});
