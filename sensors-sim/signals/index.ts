// The one entry to signal generation: the values a station reports at a simulated time.
// Pure: a function of (context, station, time, interval) only, so tests need no broker.
import type { Station } from '../../contracts/stations.ts';
import type { SignalContext } from '../scenarios.ts';
import { airValues } from './air.ts';
import { riverLevelM, streetDepthCm } from './flood.ts';
import { hashString, round } from './noise.ts';
import { waterValues } from './water.ts';
import { rainOverMm } from './weather.ts';

const keys = new Map<string, number>();
/** Stable per-station key for the noise functions (memoised: ids repeat millions of times). */
export function stationKey(id: string): number {
  let k = keys.get(id);
  if (k === undefined) {
    k = hashString(id);
    keys.set(id, k);
  }
  return k;
}

/** Values of one reading. `intervalMs` is the period the reading covers (rain accumulates over it). */
export function stationValues(ctx: SignalContext, station: Station, tMs: number, intervalMs = station.intervalS * 1000): Record<string, number> {
  const key = stationKey(station.id);
  switch (station.kind) {
    case 'air':
      return airValues(ctx, { lat: station.lat, lon: station.lon, key, rural: station.wardType === 'xã' }, tMs);
    case 'water':
      return waterValues(ctx, { lat: station.lat, lon: station.lon, key, waterClass: station.waterClass }, tMs);
    case 'rain': {
      const mm = rainOverMm(ctx, station, tMs, intervalMs);
      // Tipping-bucket gauges count in 0.2 mm steps.
      return { rain_mm: round(Math.min(Math.round(mm / 0.2) * 0.2, 500), 1), interval_s: Math.max(1, Math.round(intervalMs / 1000)) };
    }
    case 'flood':
      return station.floodType === 'river'
        ? { level_m: riverLevelM(ctx, { id: station.id, key, levelsM: station.levelsM }, tMs) }
        : { depth_cm: streetDepthCm(ctx, { lat: station.lat, lon: station.lon, key }, tMs) };
  }
}
