// The report functions on small hand-checked hourly series (no database): validity edges, rolling
// rain windows across months, the water class, flood hours from rollups or from hourly maxima, and
// an area's worst day.
import { describe, expect, it } from 'vitest';
import { airReport, dailyCategories } from '../../api/reports/air-report.ts';
import { areaSummary } from '../../api/reports/build-report.ts';
import { floodReport } from '../../api/reports/flood-report.ts';
import type { HourlySeries, HourStat } from '../../api/reports/hourly.ts';
import { parsePeriod } from '../../api/reports/period.ts';
import { rainReport } from '../../api/reports/rain-report.ts';
import { waterClassOf } from '../../api/reports/water-report.ts';

const H = 3_600_000;
const stat = (mean: number, coverage = 1, extra: Partial<HourStat> = {}): HourStat => ({ mean, min: mean, max: mean, count: Math.round(coverage * 60), coverage, ...extra });
const series = (entries: [number, Record<string, HourStat>][]): HourlySeries => new Map(entries);

describe('completeness edges', () => {
  const day = parsePeriod('2026-03').fromMs;
  it('an hour at exactly 75 % counts, below does not; 18 valid hours make a day, 17 do not', () => {
    const hours = (n: number, coverage: number) => Array.from({ length: n }, (_, i): [number, Record<string, HourStat>] => [day + i * H, { pm25: stat(60, coverage) }]);
    const at18 = airReport(series(hours(18, 0.75)), day, day + 24 * H);
    expect(at18.completeness[0]).toMatchObject({ validHours: 18, validDays: 1 });
    expect(at18.exceedances.find((e) => e.window === '24h')).toMatchObject({ count: 1, evaluated: 1 });
    const below = airReport(series(hours(18, 44 / 60)), day, day + 24 * H);
    expect(below.completeness[0]).toMatchObject({ validHours: 0, validDays: 0 });
    expect(below.daysByCategory.insufficient).toBe(1);
    expect(airReport(series(hours(17, 1)), day, day + 24 * H).daysByCategory.insufficient).toBe(1);
  });

  it('the PM2.5 24 h limit is 50 in 2025 and 45 from 2026 (a day at 48 exceeds only in 2026)', () => {
    for (const [label, count] of [['2025-12', 0], ['2026-01', 1]] as const) {
      const from = parsePeriod(label).fromMs;
      const s = series(Array.from({ length: 24 }, (_, i) => [from + i * H, { pm25: stat(48) }]));
      expect(airReport(s, from, from + 24 * H).exceedances.find((e) => e.window === '24h'), label).toMatchObject({ count });
    }
  });
});

describe('rain', () => {
  it('the wettest 24 h window may straddle two months; each month keeps its own peak', () => {
    const year = parsePeriod('2026');
    const nov30 = parsePeriod('2026-12').fromMs - 2 * H; // 22:00 on 30 Nov, Hanoi
    const s = series([
      [nov30, { rain_mm: stat(0, 1, { sum: 10 }) }],
      [nov30 + 3 * H, { rain_mm: stat(0, 1, { sum: 15 }) }], // 01:00 on 1 Dec
    ]);
    const r = rainReport(s, [parsePeriod('2026-11'), parsePeriod('2026-12')], year.fromMs, year.toMs);
    expect(r.totalMm).toBe(25);
    expect(r.max1h).toEqual({ mm: 15, at: new Date(nov30 + 3 * H).toISOString() });
    expect(r.max24h).toEqual({ mm: 25, at: new Date(nov30 + 3 * H - 23 * H).toISOString() });
    expect(r.months.map((m) => [m.month, m.totalMm, m.max24h?.mm, m.wetDays])).toEqual([
      ['2026-11', 10, 10, 1],
      ['2026-12', 15, 15, 1],
    ]);
  });
});

describe('water class (QCVN 08:2023)', () => {
  it('is the best class every mean meets, with what kept it from the class above', () => {
    expect(waterClassOf({ ph: 7, bod5_mgl: 3, cod_mgl: 8, do_mgl: 6.5 })).toEqual({ waterClass: 'A', limiting: [] });
    expect(waterClassOf({ ph: 7, bod5_mgl: 8, cod_mgl: 8, do_mgl: 6.5 })).toEqual({ waterClass: 'C', limiting: ['bod5_mgl'] });
    expect(waterClassOf({ ph: 9, bod5_mgl: 3 })).toEqual({ waterClass: 'D', limiting: ['ph'] });
    expect(waterClassOf({ nh4_mgl: 0.5 })).toEqual({ waterClass: null, limiting: [] });
  });
});

describe('flood', () => {
  const from = parsePeriod('2026-08').fromMs;
  const levels = { I: 9.5, II: 10.5, III: 11.5 };
  it('uses the time at each level when known, else whole hours whose highest reading reached it', () => {
    const s = series([
      [from, { level_m: stat(9.4, 1, { max: 9.7, hoursAbove: { I: 0.25 } }) }],
      [from + H, { level_m: stat(10, 1, { max: 10.6 }) }],
    ]);
    const r = floodReport(s, levels, from, from + 24 * H);
    expect(r.hoursAbove).toEqual({ I: 1.25, II: 1, III: 0 });
    expect(r.peak).toEqual({ value: 10.6, unit: 'm', at: new Date(from + H).toISOString(), level: 'II' });
  });
  it('street points use the depth bands and report the peak depth', () => {
    const s = series([[from, { depth_cm: stat(20, 1, { max: 35, maxAt: from + 600_000 }) }]]);
    expect(floodReport(s, undefined, from, from + 24 * H)).toMatchObject({ floodType: 'street', hoursAbove: { 10: 1, 30: 1, 50: 0 }, peak: { value: 35, unit: 'cm', at: new Date(from + 600_000).toISOString(), level: null } });
  });
});

describe('area summary', () => {
  it('takes the worst category among stations each day; insufficient only when no station has a day', () => {
    const day = parsePeriod('2026-03').fromMs;
    const full = (pm25: number): HourlySeries => series(Array.from({ length: 24 }, (_, i) => [day + i * H, { pm25: stat(pm25) }]));
    const days = [day, day + 24 * H];
    const s = areaSummary([full(10), full(60), new Map()].map((x) => dailyCategories(x, days)), [], days);
    expect(s.airDaysByCategory).toMatchObject({ good: 0, poor: 1, insufficient: 1 });
  });
});
