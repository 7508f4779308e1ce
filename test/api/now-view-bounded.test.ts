// The now view holds at most one point per station and bucket (its interval, at most a minute),
// whatever the rate a gateway sends at: readings of one bucket are merged into sums and counts,
// so the snapshot is the same as from one reading a minute carrying that minute's mean.
import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../contracts/api.ts';
import type { Reading } from '../../contracts/reading.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { createNowView } from '../../api/now-view.ts';

const registry = loadRegistry();
const MIN = 60_000;
const nowMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 17 * MIN; // a minute's start
const station = registry.stations.find((s) => s.kind === 'air' && s.intervalS >= 60)!;
const air = (ts: number, pm25: number, pm10: number): Reading => ({ stationId: station.id, kind: 'air', ts, values: { pm25, pm10 } }) as Reading;

describe('now view under a fast gateway', () => {
  it('ten readings a minute for 13 hours: one point a minute, and the same index as one reading a minute with each minute’s mean', () => {
    const fast = createNowView({ registry, now: () => nowMs });
    const slow = createNowView({ registry, now: () => nowMs });
    for (let m = 13 * 60; m >= 1; m--) {
      const minute = nowMs - m * MIN;
      const burst = Array.from({ length: 10 }, (_, k) => air(minute + (3 + 6 * k) * 1000, 20 + ((m * 7 + k * 13) % 90), 40 + ((m * 3 + k * 11) % 120)));
      fast.onReadings(burst);
      const mean = (p: 'pm25' | 'pm10') => burst.reduce((a, r) => a + r.values[p]!, 0) / burst.length;
      slow.onReadings([air(burst.at(-1)!.ts, mean('pm25'), mean('pm10'))]);
    }
    // Not 10 × (12 h + the 10 pruning minutes) points: as many as one reading a minute leaves.
    expect(fast.stats().values).toBe(slow.stats().values);
    // The index (NowCast over the trailing hours' means) is the same; `latest` is each view's own last reading.
    const aqi = (v: typeof fast) => (v.snapshot('air', 'vn', nowMs).features.find((f) => f.id === station.id)?.properties as { aqi?: unknown } | undefined)?.aqi;
    expect(aqi(fast)).toMatchObject({ value: expect.any(Number) });
    expect(aqi(fast)).toEqual(aqi(slow));
  });
});
