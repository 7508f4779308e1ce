// Each fault produces what its name says, on the wire, decided deterministically per reading.
import { describe, expect, it } from 'vitest';
import { parameterSpec } from '../../contracts/parameters.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { applyFault, CLOCK_RESET_MS, isStuck, pickFault, SKEW_AHEAD_MS, toWireItems, PAYLOAD_FAULTS, type FaultPlan } from '../../sensors-sim/faults.ts';
import { generateScenarioReadings, readingAt, type SimReading } from '../../sensors-sim/readings.ts';
import { batchMessages, singleMessage } from '../../sensors-sim/wire.ts';

const registry = loadRegistry();
const HOUR_MS = 3_600_000;
const start = Date.parse('2026-11-23T08:00:00+07:00');
const ctx = { seed: 4, scenario: 'normal' as const, originMs: start };
const air = readingAt(ctx, registry.get('air-001')!, start, 60_000);
const rain = readingAt(ctx, registry.get('rain-001')!, start, 300_000);

const body = (r: SimReading, kind: (typeof PAYLOAD_FAULTS)[number]) => applyFault(kind, r)[0]!;

describe('payload faults', () => {
  it('a normal reading is valid JSON with ts in +07:00, an integer seq and numeric values', () => {
    const m = singleMessage(toWireItems(air, 4, undefined)[0]!);
    expect(m.topic).toBe('sensors/air-001/reading');
    const parsed = JSON.parse(m.payload) as { ts: string; seq: number; values: Record<string, number> };
    expect(parsed.ts).toBe('2026-11-23T08:00:00+07:00');
    expect(Date.parse(parsed.ts)).toBe(start);
    expect(parsed.seq).toBe(Math.floor(start / 1000));
    expect(Object.values(parsed.values).every((v) => typeof v === 'number')).toBe(true);
  });

  it('malformed-json is not parseable, and stays a single message even from a batch gateway', () => {
    const item = body(rain, 'malformed-json');
    expect(() => JSON.parse(item.raw!)).toThrow();
    const messages = batchMessages('gw-rain-01', [item, applyFault('spike', rain)[0]!]);
    expect(messages.map((m) => m.topic).sort()).toEqual(['gateways/gw-rain-01/readings', 'sensors/rain-001/reading']);
  });

  it('out-of-range puts a value outside the physical range of its parameter (both above and below)', () => {
    for (const r of [air, { ...air, seq: air.seq + 1 }, rain]) {
      const values = body(r, 'out-of-range').body.values as Record<string, number>;
      const outside = Object.entries(values).filter(([name, v]) => {
        const spec = parameterSpec(r.kind, name)!;
        return v < spec.min || v > spec.max;
      });
      expect(outside).toHaveLength(1);
    }
  });

  it('spike jumps one value far from the signal but stays physically possible', () => {
    const values = body(air, 'spike').body.values as Record<string, number>;
    expect(values.pm25!).toBeGreaterThan(air.values.pm25! * 5);
    expect(values.pm25!).toBeLessThanOrEqual(parameterSpec('air', 'pm25')!.max);
  });

  it('wrong-type sends a value that is not a number', () => {
    for (const r of [air, { ...air, seq: air.seq + 1 }]) {
      const values = body(r, 'wrong-type').body.values as Record<string, unknown>;
      expect(Object.values(values).some((v) => typeof v !== 'number')).toBe(true);
    }
  });

  it('unknown-station names a station that is not in the registry', () => {
    const item = body(air, 'unknown-station');
    expect(registry.get(item.stationId)).toBeUndefined();
    expect(singleMessage(item).topic).toBe(`sensors/${item.stationId}/reading`);
  });

  it('clock-skew stamps the reading two hours ahead or at a reset clock (year 2000)', () => {
    const ahead = Date.parse(body(air, 'clock-skew').body.ts as string);
    const reset = Date.parse(body({ ...air, seq: air.seq + 1 }, 'clock-skew').body.ts as string);
    expect([ahead, reset].sort()).toEqual([CLOCK_RESET_MS + (air.tsMs % HOUR_MS), air.tsMs + SKEW_AHEAD_MS].sort());
  });

  it('duplicate sends the same reading twice with the same seq', () => {
    const items = applyFault('duplicate', air);
    expect(items).toHaveLength(2);
    expect(singleMessage(items[1]!).payload).toBe(singleMessage(items[0]!).payload);
  });
});

describe('fault plans', () => {
  it('stuck sensors repeat one value set for a whole hour', () => {
    const plan: FaultPlan = { kinds: ['stuck'], rate: 1 };
    const station = registry.get('air-001')!;
    expect(isStuck(plan, 4, station, start + 10 * 60_000)).toBe(Math.floor(start / HOUR_MS) * HOUR_MS);
    const rs = generateScenarioReadings({ seed: 4, start: Math.floor(start / HOUR_MS) * HOUR_MS, durationMs: HOUR_MS, stations: [station], faults: plan });
    expect(new Set(rs.map((r) => JSON.stringify(r.values))).size).toBe(1);
    expect(new Set(rs.map((r) => r.seq)).size).toBe(rs.length);
  });

  it('at a given rate, about that share of readings carry a payload fault, and every enabled kind occurs', () => {
    const plan: FaultPlan = { kinds: [...PAYLOAD_FAULTS], rate: 0.2 };
    const rs = generateScenarioReadings({ seed: 4, start, durationMs: 6 * HOUR_MS, stations: ['air-001', 'air-002', 'air-003'] });
    const picked = rs.map((r) => pickFault(plan, 4, r));
    const share = picked.filter(Boolean).length / rs.length;
    expect(share).toBeGreaterThan(0.12);
    expect(share).toBeLessThan(0.28);
    expect(new Set(picked.filter(Boolean))).toEqual(new Set(PAYLOAD_FAULTS));
    expect(rs.map((r) => pickFault(plan, 4, r))).toEqual(picked);
  });

  it('no plan, no fault', () => {
    expect(toWireItems(air, 4, undefined)).toHaveLength(1);
    expect(pickFault({ kinds: ['disconnect', 'burst'], rate: 1 }, 4, air)).toBeUndefined();
  });
});
