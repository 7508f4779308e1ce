// Each signal against its standard: QCVN 05 rolling 1h/8h/24h means, QCVN 08 per water class,
// rain accumulations, hourly VN_AQI, river rate of rise and the level forecast, and silence.
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../contracts/alerts.ts';
import type { Reading } from '../../../contracts/reading.ts';
import { createAlertEngine } from '../../../ingest/alerts/engine.ts';
import { compileRules } from '../../../ingest/alerts/signals.ts';
import { rainCategory } from '../../../contracts/standards/rain.ts';
import { createMemoryAlertStore } from '../../../ingest/alerts/store.ts';
import { loadRules, type RulesFile } from '../../../ingest/alerts/rules.ts';
import { HOUR, MIN, T0, lv, reading, registry, rules } from './fixtures.ts';

function engineFor(r: RulesFile, now = { t: T0 }) {
  return createAlertEngine({ registry, rules: r, store: createMemoryAlertStore(), clock: () => now.t });
}
function feed(r: RulesFile, readings: Reading[]): AlertEvent[] {
  const e = engineFor(r);
  return readings.flatMap((x) => e.onReading(x));
}
/** One reading every `stepMs` from `startMs` for `durationMs`, value from a function of the time offset. */
function series(stationId: string, param: string, durationMs: number, stepMs: number, f: (offsetMs: number) => number, startMs = T0): Reading[] {
  const out: Reading[] = [];
  for (let t = 0; t < durationMs; t += stepMs) out.push(reading(stationId, startMs + t, { [param]: f(t) }));
  return out;
}
const exceeds = [lv('exceeds', 1, 0.95, 'moderate')];
const opened = (events: AlertEvent[]) => events.filter((e) => e.type === 'opened');
/** Lifecycle moves only (value updates left out). */
const moves = (events: AlertEvent[]) => events.filter((e) => !(e.type === 'updated' && e.reason === 'value'));

describe('QCVN 05:2023 rolling windows', () => {
  it('1h: NO₂ above 200 µg/m³ as a 1-hour mean, not as one reading', () => {
    const r = rules([{ id: 'no2-1h', signal: 'qcvn05', parameter: 'no2', window: '1h', levels: exceeds }]);
    // one 900 µg/m³ spike in an hour of 150: mean ≈ 162, no exceedance
    expect(opened(feed(r, series('air-001', 'no2', 2 * HOUR, MIN, (t) => (t === 90 * MIN ? 900 : 150))))).toHaveLength(0);
    const ev = opened(feed(r, series('air-001', 'no2', 2 * HOUR, MIN, (t) => (t < HOUR ? 150 : 260))));
    expect(ev).toHaveLength(1);
    // the rolling mean crosses 200 roughly halfway into the high half-hour… not before 1h of data
    expect(ev[0]!.at).toBeGreaterThan(T0 + HOUR + 20 * MIN);
    expect(ev[0]!.at).toBeLessThan(T0 + HOUR + 40 * MIN);
    expect(ev[0]!.alert.value).toBeGreaterThan(200);
  });
  it('8h: O₃ above 120 µg/m³ as an 8-hour mean', () => {
    const r = rules([{ id: 'o3-8h', signal: 'qcvn05', parameter: 'o3', window: '8h', levels: exceeds }]);
    // 4 h at 50 then 4 h at 180: the 8h mean reaches 115, never over 120 (hourly peaks of 180 are)
    expect(opened(feed(r, series('air-001', 'o3', 8 * HOUR, 5 * MIN, (t) => (t < 4 * HOUR ? 50 : 180))))).toHaveLength(0);
    const ev = opened(feed(r, series('air-001', 'o3', 10 * HOUR, 5 * MIN, () => 130)));
    expect(ev).toHaveLength(1);
    // judged only once 75 % of the 8 h window is covered
    expect(ev[0]!.at).toBeGreaterThanOrEqual(T0 + 6 * HOUR - 5 * MIN);
  });
  it('24h: PM2.5 limit 50 before 2026 and 45 after, on the 24-hour mean', () => {
    const r = rules([{ id: 'pm25-24h', signal: 'qcvn05', parameter: 'pm25', window: '24h', levels: exceeds }]);
    const at2025 = Date.parse('2025-06-01T00:00:00Z');
    expect(opened(feed(r, series('air-001', 'pm25', 30 * HOUR, 10 * MIN, () => 47, at2025)))).toHaveLength(0);
    const ev = opened(feed(r, series('air-001', 'pm25', 30 * HOUR, 10 * MIN, () => 47, T0)));
    expect(ev).toHaveLength(1);
    expect(ev[0]!.alert.level.threshold).toContain('45');
    expect(ev[0]!.at).toBeGreaterThanOrEqual(T0 + 18 * HOUR - 10 * MIN);
  });
});

describe('QCVN 08:2023 by water class', () => {
  const r = rules([
    { id: 'ph', signal: 'qcvn08', parameter: 'ph', clearMargin: 0.1, level: { key: 'ph', label: { vi: 'pH', en: 'pH' }, severity: 'moderate' } },
    { id: 'do', signal: 'qcvn08', parameter: 'do_mgl', clearMargin: 0.2, level: { key: 'do', label: { vi: 'DO', en: 'DO' }, severity: 'moderate' } },
    { id: 'nh4', signal: 'qcvn08', parameter: 'nh4_mgl', level: { key: 'nh4', label: { vi: 'NH4', en: 'NH4' }, severity: 'severe' } },
  ]);
  it('checks pH on both sides of the class B range with a clear margin', () => {
    const ev = moves(feed(r, [5.9, 6.05, 6.2, 8.6].map((ph, i) => reading('water-b', T0 + i * 5 * MIN, { ph }))));
    expect(ev.map((e) => e.type)).toEqual(['opened', 'cleared', 'opened']);
  });
  it('alerts on DO below the class B minimum (5.0) and NH₄⁺ above 0.3', () => {
    const ev = feed(r, [reading('water-b', T0, { do_mgl: 4.6, nh4_mgl: 0.35 })]);
    expect(ev.map((e) => e.alert.ruleId).sort()).toEqual(['do', 'nh4']);
    expect(ev.find((e) => e.alert.ruleId === 'do')?.alert.peakValue).toBe(4.6);
  });
  it('uses the overrides of the rules file', () => {
    const strict = rules(
      [{ id: 'do', signal: 'qcvn08', parameter: 'do_mgl', level: { key: 'do', label: { vi: 'DO', en: 'DO' }, severity: 'moderate' } }],
      { qcvn08Overrides: { B: { do_mgl: { min: 6 } } } },
    );
    expect(feed(strict, [reading('water-b', T0, { do_mgl: 5.5 })])).toHaveLength(1);
  });
});

describe('rain accumulations', () => {
  it('sums rain over rolling 2 h against Hanoi’s 50 mm band and escalates past 100 mm', () => {
    const r = rules([{ id: 'rain-2h', signal: 'rain_accumulation', windowH: 2, levels: [lv('hotspots', 50, 45, 'moderate'), lv('beyond', 100, 95, 'severe')] }]);
    // 5 mm every 5 minutes = 60 mm/h
    const readings = series('rain-001', 'rain_mm', 3 * HOUR, 5 * MIN, () => 5).map((x) => ({ ...x, values: { ...x.values, interval_s: 300 } }));
    const ev = feed(r, readings);
    expect(moves(ev).map((e) => `${e.type}:${e.alert.level.key}`)).toEqual(['opened:hotspots', 'escalated:beyond']);
    expect(ev[0]!.at).toBe(T0 + 45 * MIN); // the 10th reading brings 50 mm
    expect(ev[0]!.alert.value).toBe(50);
  });
  it('forgets rain that left the window', () => {
    const r = rules([{ id: 'rain-1h', signal: 'rain_accumulation', windowH: 1, levels: [lv('intense', 25, 20)] }]);
    const readings = [
      ...series('rain-001', 'rain_mm', 30 * MIN, 5 * MIN, () => 5),
      ...series('rain-001', 'rain_mm', 2 * HOUR, 5 * MIN, () => 0, T0 + 30 * MIN),
    ];
    const ev = moves(feed(r, readings));
    expect(ev.map((e) => e.type)).toEqual(['opened', 'cleared']);
    const cleared = ev[1]!;
    expect(cleared.at).toBeGreaterThan(T0 + HOUR);
    expect(cleared.at).toBeLessThanOrEqual(T0 + 90 * MIN);
  });
  it('uses 12 h and 24 h windows', () => {
    const r = rules([
      { id: 'rain-12h', signal: 'rain_accumulation', windowH: 12, levels: [lv('heavy', 25, 23)] },
      { id: 'rain-24h', signal: 'rain_accumulation', windowH: 24, levels: [lv('heavy', 51, 48)] },
    ]);
    // 1 mm every 10 min = 6 mm/h: 25 mm after ~4 h, 51 mm after ~8.5 h
    const ev = opened(feed(r, series('rain-001', 'rain_mm', 10 * HOUR, 10 * MIN, () => 1)));
    expect(ev.map((e) => e.alert.ruleId)).toEqual(['rain-12h', 'rain-24h']);
    expect(ev[1]!.at).toBe(T0 + 50 * 10 * MIN);
  });
});

describe('rain alerts and rain categories: one table', () => {
  const shipped = loadRules();
  const station = registry.get('rain-001')!;
  const levelsOf = (id: string) => compileRules(shipped).find((x) => x.rule.id === id)!.levels(station, T0);
  const keyAt = (id: string, mm: number) => [...levelsOf(id)].reverse().find((l) => l.set(mm))?.key ?? 'none';
  const expected = (mm: number, period: '12h' | '24h') => ({ heavy: 'heavy', very_heavy: 'very-heavy-risk1' })[rainCategory(mm, period) as 'heavy'] ?? 'none';
  it('agrees at the published edges: 25 and 50 mm per 12 h, 50–51 and 100 mm per 24 h', () => {
    expect([25, 25.1, 50, 50.1].map((mm) => keyAt('rain-12h', mm))).toEqual(['none', 'heavy', 'heavy', 'very-heavy-risk1']);
    expect([50, 50.5, 51, 100, 100.1].map((mm) => keyAt('rain-24h', mm))).toEqual(['none', 'heavy', 'heavy', 'heavy', 'very-heavy-risk1']);
    expect(rainCategory(25, '12h')).toBe('moderate');
    expect(rainCategory(50.5, '24h')).toBe('heavy');
  });
  it('agrees at every 0.1 mm from 0 to 130 mm', () => {
    for (let tenths = 0; tenths <= 1300; tenths++) {
      const mm = tenths / 10;
      expect(keyAt('rain-12h', mm), `${mm} mm / 12 h`).toBe(expected(mm, '12h'));
      expect(keyAt('rain-24h', mm), `${mm} mm / 24 h`).toBe(expected(mm, '24h'));
    }
  });
  it('refuses a category on a window the terms do not define', () => {
    expect(() => rules([{ id: 'r3', signal: 'rain_accumulation', windowH: 3, levels: [{ ...lv('heavy', 0, 40), set: undefined, category: 'heavy' }] }])).toThrow(/12 h and 24 h only/);
    expect(() => rules([{ id: 'r12', signal: 'rain_accumulation', windowH: 12, levels: [{ ...lv('heavy', 30, 20), category: 'heavy' }] }])).toThrow(/either "set"/);
  });
});

describe('hourly VN_AQI', () => {
  it('opens at Kém (101+) from NowCast PM2.5 and escalates to Xấu', () => {
    const r = rules([{ id: 'aqi', signal: 'vn_aqi_hourly', levels: [lv('poor', 101, 96), lv('bad', 151, 146, 'moderate')] }]);
    // 3 hours at 40 µg/m³ (AQI 80), then 60 (AQI ≈ 117), then 120 (AQI ≈ 179)
    const ev = moves(feed(r, series('air-001', 'pm25', 9 * HOUR, 10 * MIN, (t) => (t < 3 * HOUR ? 40 : t < 6 * HOUR ? 60 : 120))));
    expect(ev.map((e) => `${e.type}:${e.alert.level.key}`)).toEqual(['opened:poor', 'escalated:bad']);
    expect(ev[0]!.alert.message.vi).toContain('Khuyến nghị');
    expect(ev[0]!.alert.message.en).toContain('Sensitive groups');
  });
  it('is silent without particulate data', () => {
    const r = rules([{ id: 'aqi', signal: 'vn_aqi_hourly', levels: [lv('poor', 101, 96)] }]);
    expect(feed(r, series('air-001', 'no2', 3 * HOUR, 10 * MIN, () => 1000))).toEqual([]);
  });
});

describe('river rate of rise and forecast', () => {
  it('measures the rise in cm/h from a regression', () => {
    const r = rules([{ id: 'rise', signal: 'rate_of_rise', parameter: 'level_m', windowS: 3600, minPoints: 4, levels: [lv('fast', 10, 5), lv('very-fast', 20, 15, 'moderate')] }]);
    // 15 cm/h = 0.0125 m per 5 minutes
    const ev = feed(r, series('flood-longbien', 'level_m', 2 * HOUR, 5 * MIN, (t) => 8 + (0.15 * t) / HOUR));
    expect(opened(ev)).toHaveLength(1);
    expect(opened(ev)[0]!.alert.value).toBeCloseTo(15, 5);
    expect(ev.some((e) => e.type === 'escalated')).toBe(false);
  });
  it('forecasts when the next level will be reached', () => {
    const r = rules([{ id: 'flood', signal: 'flood_level', severities: { I: 'moderate', II: 'severe', III: 'extreme' }, forecast: { windowS: 10800, minPoints: 4 } }]);
    // 20 cm/h from 9.4 m: level I (9.5) after 30 min, level II (10.5) after 5.5 h
    const ev = feed(r, series('flood-longbien', 'level_m', 2 * HOUR, 5 * MIN, (t) => 9.4 + (0.2 * t) / HOUR));
    const open = opened(ev)[0]!;
    expect(open.alert.level.key).toBe('I');
    expect(open.alert.forecast?.nextLevel).toBe('II');
    expect(open.alert.forecast?.rateCmH).toBeCloseTo(20, 5);
    expect(Math.abs((open.alert.forecast?.nextLevelAt ?? 0) - (T0 + 5.5 * HOUR))).toBeLessThan(MIN);
    expect(open.alert.message.vi).toContain('dự kiến đạt mức II');
  });
});

describe('hourly river gauges (the usual cadence of published river levels)', () => {
  // Long Biên rising 15 cm/h, one reading an hour (jittered by up to 40 s), judged with the shipped rules.
  const shipped = loadRules();
  const hourly = Array.from({ length: 6 }, (_, i) => reading('flood-longbien', T0 + i * HOUR + (i % 2 === 0 ? 40_000 : 0), { level_m: 9.0 + 0.15 * i }));
  it('gives a rate of rise from 3 readings over 2 hours, not from 2', () => {
    const ev = feed(shipped, hourly).filter((e) => e.alert.ruleId === 'flood-river-rise');
    const open = opened(ev)[0];
    expect(open?.alert.level.key).toBe('fast');
    expect(open?.at).toBe(hourly[2]!.ts);
    expect(open?.alert.value).toBeCloseTo(15, 0);
  });
  it('forecasts the next level from hourly readings', () => {
    const ev = feed(shipped, hourly).filter((e) => e.alert.ruleId === 'flood-river-level');
    const open = opened(ev)[0]!; // level I (9.5 m) reached at the 4th reading, 9.45 → 9.6 m
    expect(open.alert.level.key).toBe('I');
    expect(open.alert.forecast?.nextLevel).toBe('II');
    expect(open.alert.forecast?.rateCmH).toBeCloseTo(15, 0);
    // 10.5 m from 9.45 m at 15 cm/h: 7 h after the 4th reading
    expect(Math.abs((open.alert.forecast?.nextLevelAt ?? 0) - (hourly[3]!.ts + 7 * HOUR))).toBeLessThan(10 * MIN);
  });
  it('still gives nothing from two readings an hour apart', () => {
    const ev = feed(shipped, hourly.slice(0, 2).map((x) => ({ ...x, values: { level_m: x.values.level_m! + 0.5 } })));
    expect(ev.filter((e) => e.alert.ruleId === 'flood-river-rise')).toEqual([]);
    expect(opened(ev).find((e) => e.alert.ruleId === 'flood-river-level')?.alert.forecast ?? null).toBeNull();
  });
});

describe('silence', () => {
  const r = rules([{ id: 'silent', signal: 'silence', kinds: ['rain'], levels: [lv('silent', 3, 3), lv('long', 12, 12, 'moderate')] }]);
  it('opens after N × intervalS without readings, escalates, and clears on the next reading', () => {
    const now = { t: T0 };
    const e = engineFor(r, now);
    e.onReading(reading('rain-001', T0, { rain_mm: 0, interval_s: 300 }));
    expect(e.tick(T0 + 14 * MIN)).toEqual([]);
    const [open] = e.tick(T0 + 15 * MIN);
    expect(open?.type).toBe('opened');
    expect(open?.alert.stationId).toBe('rain-001');
    expect(e.tick(T0 + 60 * MIN).map((x) => x.type)).toEqual(['escalated']);
    now.t = T0 + 61 * MIN;
    const back = e.onReading(reading('rain-001', now.t, { rain_mm: 0, interval_s: 300 }));
    expect(back.map((x) => x.type)).toEqual(['cleared']);
  });
  it('counts a station never heard from since the engine started', () => {
    const e = engineFor(r);
    expect(e.tick(T0 + 16 * MIN).map((x) => `${x.type}:${x.alert.stationId}`)).toEqual(['opened:rain-001']);
  });
});
