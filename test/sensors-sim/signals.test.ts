// Pure signal generation: reproducible by seed, physically possible, and the scenarios tell
// the stories they promise (Yagi at Long Biên, a winter smog episode) — no broker needed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterSpec } from '../../contracts/parameters.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { generateScenarioReadings, type SimReading } from '../../sensors-sim/readings.ts';
import { SCENARIO_INFO } from '../../sensors-sim/scenarios.ts';
import { stationValues } from '../../sensors-sim/signals/index.ts';
import { trafficLevel } from '../../sensors-sim/signals/air.ts';
import { rainIntensityMmH } from '../../sensors-sim/signals/weather.ts';

const registry = loadRegistry();
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const sample = ['air-001', 'air-050', 'water-001', 'water-010', 'rain-001', 'rain-030', 'street-001', 'street-020', 'flood-longbien', 'flood-batha'];

const series = (rs: readonly SimReading[], id: string, p: string): number[] => rs.filter((r) => r.stationId === id).map((r) => r.values[p]!);

describe('reproducibility', () => {
  it('the same seed gives the same readings; a different seed gives different ones', () => {
    const req = { scenario: 'normal' as const, start: '2026-11-23T06:00:00+07:00', durationMs: 2 * HOUR_MS, stations: sample };
    const a = generateScenarioReadings({ ...req, seed: 1 });
    const b = generateScenarioReadings({ ...req, seed: 1 });
    const c = generateScenarioReadings({ ...req, seed: 2 });
    expect(a.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
    expect(c.map((r) => r.values)).not.toEqual(a.map((r) => r.values));
  });

  it('a reading depends only on seed, station and time, not on when the run started', () => {
    const station = registry.get('air-001')!;
    const ctx = (originMs: number) => ({ seed: 9, scenario: 'normal' as const, originMs });
    const t = Date.parse('2026-12-01T08:00:00+07:00');
    expect(stationValues(ctx(t - DAY_MS), station, t)).toEqual(stationValues(ctx(t - 5 * HOUR_MS), station, t));
  });

  it('returns readings in time order, each station at its interval, the first within 5 s of the start', () => {
    const start = Date.parse('2026-11-23T00:00:00+07:00');
    const rs = generateScenarioReadings({ start, durationMs: HOUR_MS, stations: ['air-001', 'street-001', 'rain-001'] });
    for (let i = 1; i < rs.length; i++) expect(rs[i]!.tsMs).toBeGreaterThanOrEqual(rs[i - 1]!.tsMs);
    expect(rs.filter((r) => r.stationId === 'air-001')).toHaveLength(60);
    expect(rs.filter((r) => r.stationId === 'street-001')).toHaveLength(30);
    for (const id of ['air-001', 'street-001', 'rain-001']) expect(rs.find((r) => r.stationId === id)!.tsMs - start).toBeLessThan(5000);
  });
});

describe('physical ranges (contracts/parameters.ts)', () => {
  it('every normal reading of every station over a day is a possible measurement of its kind', () => {
    const rs = generateScenarioReadings({ start: '2026-07-15T00:00:00+07:00', durationMs: DAY_MS, stations: registry.stations, rateMultiplier: 0.1 });
    expect(rs.length).toBeGreaterThan(registry.stations.length * 20);
    for (const r of rs) {
      expect(Object.keys(r.values).length).toBeGreaterThan(0);
      for (const [name, v] of Object.entries(r.values)) {
        const spec = parameterSpec(r.kind, name);
        expect(spec, `${r.stationId} ${name}`).toBeDefined();
        expect(Number.isFinite(v) && v >= spec!.min && v <= spec!.max, `${r.stationId} ${name}=${v}`).toBe(true);
      }
    }
  });

  it('holds for any seed, any time and any scenario (property)', () => {
    const stations = sample.map((id) => registry.get(id)!);
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: Date.parse('2020-01-01'), max: Date.parse('2035-01-01') }),
        fc.constantFrom('normal', 'winter-smog', 'yagi-flood', 'sensor-faults' as const),
        fc.integer({ min: 0, max: 5 * DAY_MS }),
        (seed, originMs, scenario, offsetMs) => {
          for (const s of stations) {
            for (const [name, v] of Object.entries(stationValues({ seed, scenario, originMs }, s, originMs + offsetMs))) {
              const spec = parameterSpec(s.kind, name)!;
              if (!(v >= spec.min && v <= spec.max)) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('plausible city', () => {
  it('traffic peaks in the rush hours and is lower on Sunday than on a weekday', () => {
    const monday = Date.parse('2026-11-23T00:00:00+07:00');
    const at = (day: number, h: number) => trafficLevel(monday + day * DAY_MS + h * HOUR_MS);
    expect(at(0, 8)).toBeGreaterThan(at(0, 3) * 2);
    expect(at(0, 18)).toBeGreaterThan(at(0, 3) * 2);
    expect(at(6, 8)).toBeLessThan(at(0, 8));
  });

  it('NO₂ at a street station is higher in the evening rush than before dawn, on average over a month', () => {
    const rs = generateScenarioReadings({ start: '2026-03-02T00:00:00+07:00', durationMs: 28 * DAY_MS, stations: ['air-001'], rateMultiplier: 1 / 15 });
    const hourOf = (r: SimReading) => new Date(r.tsMs + 7 * HOUR_MS).getUTCHours();
    const mean = (h: number) => {
      const xs = rs.filter((r) => hourOf(r) === h).map((r) => r.values.no2!);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(mean(18)).toBeGreaterThan(mean(4) * 1.5);
  });

  it('rain falls in cells: some stations wet while others stay dry at the same moment, and more in July than January', () => {
    const rains = registry.stations.filter((s) => s.kind === 'rain');
    const total = (month: string) =>
      generateScenarioReadings({ start: `2026-${month}-01T00:00:00+07:00`, durationMs: 20 * DAY_MS, stations: rains.slice(0, 15) }).reduce((a, r) => a + r.values.rain_mm!, 0);
    expect(total('07')).toBeGreaterThan(total('01') * 3);
    const july = generateScenarioReadings({ start: '2026-07-01T00:00:00+07:00', durationMs: 10 * DAY_MS, stations: rains });
    const byTime = new Map<number, number[]>();
    for (const r of july) {
      const slot = Math.floor(r.tsMs / 300_000);
      byTime.set(slot, [...(byTime.get(slot) ?? []), r.values.rain_mm!]);
    }
    expect([...byTime.values()].some((xs) => xs.some((x) => x >= 1) && xs.some((x) => x === 0))).toBe(true);
  });
});

describe('scenarios', () => {
  it('yagi-flood: Long Biên rises through levels I (9.5 m) and II (10.5 m), peaks near 11.2 m, and falls back below I', () => {
    const rs = generateScenarioReadings({ scenario: 'yagi-flood', seed: 3, start: '2024-09-07T00:00:00+07:00', durationMs: SCENARIO_INFO['yagi-flood'].nominalDurationMs, stations: ['flood-longbien'] });
    const level = series(rs, 'flood-longbien', 'level_m');
    const firstAbove = (x: number) => level.findIndex((v) => v >= x);
    const peak = Math.max(...level);
    const peakAt = level.indexOf(peak);
    expect(level[0]!).toBeLessThan(9.5);
    expect(firstAbove(9.5)).toBeGreaterThan(0);
    expect(firstAbove(10.5)).toBeGreaterThan(firstAbove(9.5));
    expect(peak).toBeGreaterThan(11.1);
    expect(peak).toBeLessThan(11.3);
    expect(level.slice(peakAt).some((v) => v < 9.5)).toBe(true);
    expect(level.at(-1)!).toBeLessThan(9.5);
  });

  it('yagi-flood: heavy rain floods a street hotspot, and the water peaks after the rain does', () => {
    const start = Date.parse('2024-09-07T00:00:00+07:00');
    const rs = generateScenarioReadings({ scenario: 'yagi-flood', seed: 3, start, durationMs: 2 * DAY_MS, stations: ['rain-001', 'street-001', 'street-002', 'street-003'] });
    expect(series(rs, 'rain-001', 'rain_mm').reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    const streets = ['street-001', 'street-002', 'street-003'].map((id) => rs.filter((r) => r.stationId === id));
    expect(streets.every((s) => s[0]!.values.depth_cm === 0)).toBe(true);
    const deepest = streets.map((s) => s.reduce((m, r) => (r.values.depth_cm! > m.values.depth_cm! ? r : m))).reduce((m, r) => (r.values.depth_cm! > m.values.depth_cm! ? r : m));
    expect(deepest.values.depth_cm!).toBeGreaterThan(10);
    // Drainage lag: at that hotspot, the heaviest rain came before the deepest water.
    const site = registry.get(deepest.stationId)!;
    const ctx = { seed: 3, scenario: 'yagi-flood' as const, originMs: start };
    let wettestMs = start;
    for (let t = start; t <= deepest.tsMs; t += 60_000) if (rainIntensityMmH(ctx, site, t) > rainIntensityMmH(ctx, site, wettestMs)) wettestMs = t;
    expect(deepest.tsMs).toBeGreaterThan(wettestMs);
    expect(rainIntensityMmH(ctx, site, deepest.tsMs)).toBeLessThan(rainIntensityMmH(ctx, site, wettestMs));
  });

  it('winter-smog: PM2.5 goes above 150 µg/m³ at some station, which a normal run of the same days does not reach as often', () => {
    const req = { seed: 5, start: '2026-12-10T00:00:00+07:00', durationMs: 4 * DAY_MS, stations: ['air-001', 'air-010', 'air-060'], rateMultiplier: 1 / 10 };
    const smog = generateScenarioReadings({ ...req, scenario: 'winter-smog' });
    const normal = generateScenarioReadings({ ...req, scenario: 'normal' });
    const above = (rs: SimReading[]) => rs.filter((r) => r.values.pm25! > 150).length;
    expect(above(smog)).toBeGreaterThan(0);
    expect(above(smog)).toBeGreaterThan(above(normal));
  });
});
