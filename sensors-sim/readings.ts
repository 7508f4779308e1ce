// Simulated readings: the reporting schedule of each station and the readings it produces,
// before any fault or transport. Pure; `generateScenarioReadings` is the library entry for tests.
import { loadRegistry, type Station } from '../contracts/stations.ts';
import type { StationKind } from '../contracts/parameters.ts';
import { isStuck, type FaultPlan } from './faults.ts';
import { type ScenarioName, type SignalContext } from './scenarios.ts';
import { stationKey, stationValues } from './signals/index.ts';
import { hash01 } from './signals/noise.ts';

/** One simulated reading, in simulated time. */
export interface SimReading {
  readonly stationId: string;
  readonly gatewayId: string;
  readonly kind: StationKind;
  readonly tsMs: number;
  /** Simulated epoch seconds: increases per station across runs without any stored state. */
  readonly seq: number;
  readonly values: Readonly<Record<string, number>>;
}

/** Every station's first reading lands within this much simulated time of the start. */
export const FIRST_READING_WITHIN_MS = 5_000;

export const intervalMsOf = (station: Station, rateMultiplier = 1): number => Math.max(1000, Math.round((station.intervalS * 1000) / rateMultiplier));

/** Deterministic stagger so stations do not all report on the same millisecond. */
export function firstDueMs(station: Station, startMs: number, intervalMs: number): number {
  return startMs + Math.floor(hash01(0x5eed, stationKey(station.id), 7) * Math.min(intervalMs, FIRST_READING_WITHIN_MS));
}

export function readingAt(ctx: SignalContext, station: Station, tsMs: number, intervalMs: number, faults?: FaultPlan): SimReading {
  // A stuck sensor repeats the value it had when it got stuck.
  const stuckSince = faults ? isStuck(faults, ctx.seed, station, tsMs) : undefined;
  return {
    stationId: station.id,
    gatewayId: station.gatewayId,
    kind: station.kind,
    tsMs,
    seq: Math.floor(tsMs / 1000),
    values: stationValues(ctx, station, stuckSince ?? tsMs, intervalMs),
  };
}

export interface ScenarioRequest {
  readonly scenario?: ScenarioName;
  readonly seed?: number;
  /** Simulated start (scenario origin): epoch ms, Date or ISO text. */
  readonly start: number | Date | string;
  readonly durationMs: number;
  /** Stations or station ids; default: the whole committed registry. */
  readonly stations?: readonly Station[] | readonly string[];
  /** Readings per nominal interval (2 = twice as often). */
  readonly rateMultiplier?: number;
  readonly faults?: FaultPlan;
}

export const DEFAULT_SEED = 7;

export function toEpochMs(t: number | Date | string): number {
  const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : t.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${String(t)}`);
  return ms;
}

function resolveStations(stations: ScenarioRequest['stations']): readonly Station[] {
  if (stations === undefined) return loadRegistry().stations;
  if (stations.every((s): s is string => typeof s === 'string')) {
    const registry = loadRegistry();
    return stations.map((id) => {
      const s = registry.get(id);
      if (!s) throw new RangeError(`unknown station ${id}`);
      return s;
    });
  }
  return stations as readonly Station[];
}

/** All readings of a scenario run in [start, start + durationMs), in time order (then station id). */
export function generateScenarioReadings(req: ScenarioRequest): SimReading[] {
  const startMs = toEpochMs(req.start);
  const ctx: SignalContext = { seed: req.seed ?? DEFAULT_SEED, scenario: req.scenario ?? 'normal', originMs: startMs };
  const endMs = startMs + req.durationMs;
  const out: SimReading[] = [];
  for (const station of resolveStations(req.stations)) {
    const intervalMs = intervalMsOf(station, req.rateMultiplier);
    for (let t = firstDueMs(station, startMs, intervalMs); t < endMs; t += intervalMs) {
      out.push(readingAt(ctx, station, t, intervalMs, req.faults));
    }
  }
  return out.sort((a, b) => a.tsMs - b.tsMs || (a.stationId < b.stationId ? -1 : a.stationId > b.stationId ? 1 : 0));
}
