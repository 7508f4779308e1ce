// Lifecycle behaviour officers rely on: one alert per breach (hysteresis), no alert for a lone spike
// (debounce), escalation and de-escalation under one identity, clear only past the clear threshold.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AlertEvent } from '../../../contracts/alerts.ts';
import { createAlertEngine } from '../../../ingest/alerts/engine.ts';
import { createMemoryAlertStore } from '../../../ingest/alerts/store.ts';
import { HOUR, MIN, T0, lv, reading, registry, rules } from './fixtures.ts';

const depthRule = (extra: Record<string, unknown> = {}) =>
  rules([{ id: 'depth', signal: 'threshold', kind: 'flood', floodType: 'street', parameter: 'depth_cm', levels: [lv('wet', 10, 5), lv('deep', 30, 25, 'moderate')], ...extra }]);

function run(values: number[], rulesFile = depthRule(), stepMs = MIN) {
  const engine = createAlertEngine({ registry, rules: rulesFile, store: createMemoryAlertStore(), clock: () => T0 });
  const events: AlertEvent[] = [];
  values.forEach((v, i) => events.push(...engine.onReading(reading('street-001', T0 + i * stepMs, { depth_cm: v }))));
  return { engine, events, types: events.map((e) => e.type) };
}

describe('hysteresis', () => {
  it('opens one alert for a value hovering around the set threshold', () => {
    const { events, engine } = run([8, 10.5, 9.5, 10.2, 9.1, 11, 9.8, 10.1, 6]);
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'cleared')).toHaveLength(0);
    expect(engine.list({ state: 'active' })).toHaveLength(1);
  });
  it('clears only below the clear threshold', () => {
    const { types, engine } = run([12, 6, 5, 4.9]);
    expect(types).toEqual(['opened', 'cleared']);
    const [a] = engine.list();
    expect(a?.state).toBe('cleared');
    expect(a?.value).toBe(4.9);
    expect(a?.peakValue).toBe(12);
  });
});

describe('debounce', () => {
  const debounced = depthRule({ openAfterS: 600, clearAfterS: 600, updateEveryS: 86_400 });
  it('opens nothing for a single spike', () => {
    expect(run([0, 0, 80, 0, 0, 0], debounced).events).toEqual([]);
  });
  it('opens once the breach has lasted openAfterS', () => {
    const { events } = run([12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12], debounced);
    expect(events.map((e) => e.type)).toEqual(['opened']);
    expect(events[0]?.at).toBe(T0 + 10 * MIN);
    expect(events[0]?.alert.openedAt).toBe(T0 + 10 * MIN);
  });
  it('clears only after the value stayed below clear for clearAfterS', () => {
    const vals = [...Array(11).fill(12), 0, 0, 12, ...Array(12).fill(0)];
    const { events } = run(vals, debounced);
    expect(events.map((e) => e.type)).toEqual(['opened', 'cleared']);
    expect(events[1]?.at).toBe(T0 + 24 * MIN);
  });
});

describe('escalation', () => {
  it('escalates and de-escalates one alert identity, keeping the peak level', () => {
    const { events, engine } = run([12, 31, 29, 24, 12, 2]);
    expect(events.map((e) => [e.type, e.alert.level.key])).toEqual([
      ['opened', 'wet'],
      ['escalated', 'deep'],
      ['updated', 'wet'],
      ['cleared', 'wet'],
    ]);
    expect(new Set(events.map((e) => e.alert.id)).size).toBe(1);
    const last = engine.get(events[0]!.alert.id);
    expect(last?.peakLevel.key).toBe('deep');
    expect(last?.peakValue).toBe(31);
  });
  it('withdraws an acknowledgement on escalation but keeps it on de-escalation', () => {
    const engine = createAlertEngine({ registry, rules: depthRule(), store: createMemoryAlertStore(), clock: () => T0 });
    const [opened] = engine.onReading(reading('street-001', T0, { depth_cm: 12 }));
    const ack = engine.acknowledge(opened!.alert.id, { by: 'officer-1', note: 'đã cử đội', at: T0 + 1 });
    expect(ack.type).toBe('acknowledged');
    expect(engine.get(opened!.alert.id)?.acknowledged).toEqual({ by: 'officer-1', at: T0 + 1, note: 'đã cử đội' });
    engine.onReading(reading('street-001', T0 + MIN, { depth_cm: 35 }));
    expect(engine.get(opened!.alert.id)?.acknowledged).toBeNull();
    engine.acknowledge(opened!.alert.id, { by: 'officer-2', at: T0 + 2 * MIN });
    engine.onReading(reading('street-001', T0 + 3 * MIN, { depth_cm: 20 }));
    expect(engine.get(opened!.alert.id)?.acknowledged?.by).toBe('officer-2');
  });
  it('escalates a river gauge through levels I → II under one alert', () => {
    const engine = createAlertEngine({
      registry, store: createMemoryAlertStore(), clock: () => T0,
      rules: rules([{ id: 'flood', signal: 'flood_level', severities: { I: 'moderate', II: 'severe', III: 'extreme' }, clearMarginM: 0.05, updateEveryS: 86_400 }]),
    });
    const levels = [9.2, 9.45, 9.5, 9.9, 10.4, 10.52, 10.6, 10.48, 10.3, 9.46, 9.44];
    const events = levels.flatMap((m, i) => engine.onReading(reading('flood-longbien', T0 + i * 5 * MIN, { level_m: m })));
    expect(events.map((e) => `${e.type}:${e.alert.level.key}`)).toEqual([
      'opened:I', 'escalated:II', 'updated:I', 'cleared:I',
    ]);
    expect(events[1]?.alert.level.severity).toBe('severe');
    expect(events[1]?.type === 'escalated' && events[1].from.key).toBe('I');
    expect(new Set(events.map((e) => e.alert.id)).size).toBe(1);
  });
});

describe('updates', () => {
  it('throttles updated events to one per updateEveryS', () => {
    const r = depthRule({ updateEveryS: 600 });
    const { types } = run(Array.from({ length: 30 }, (_, i) => 12 + (i % 5)), r);
    // opened at 0, then an update at 10 and 20 minutes: not one per reading
    expect(types).toEqual(['opened', 'updated', 'updated']);
  });
  it('ignores a late reading for the lifecycle', () => {
    const engine = createAlertEngine({ registry, rules: depthRule(), store: createMemoryAlertStore(), clock: () => T0 });
    engine.onReading(reading('street-001', T0 + HOUR, { depth_cm: 12 }));
    expect(engine.onReading(reading('street-001', T0, { depth_cm: 0 }))).toEqual([]);
    expect(engine.list({ state: 'active' })).toHaveLength(1);
  });
});

describe('invariants', () => {
  it('never holds two active alerts for one (station, rule), and opens again only after a clear', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 60, noNaN: true }), { maxLength: 80 }), fc.boolean(), (values, debounce) => {
        const { events, engine } = run(values, depthRule(debounce ? { openAfterS: 120, clearAfterS: 120 } : {}));
        let open = false;
        for (const e of events) {
          if (e.type === 'opened') {
            if (open) return false;
            open = true;
          } else if (e.type === 'cleared') {
            if (!open) return false;
            open = false;
          } else if (!open) return false;
        }
        return engine.list({ state: 'active' }).length === (open ? 1 : 0);
      }),
    );
  });
});
