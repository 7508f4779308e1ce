// VN_AQI of Decision 1459/QĐ-TCMT: the decision's worked examples (±1), NowCast, cap and bands.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  VN_AQI_BANDS,
  nowCast,
  vnAqiBand,
  vnAqiDaily,
  vnAqiHourly,
  vnAqiSubIndex,
} from '../../../contracts/standards/vn-aqi.ts';
import { VN_AQI_ADVICE } from '../../../contracts/standards/vn-aqi-advice.ts';

describe('worked examples of the decision', () => {
  // §2.3 b: O₃ 136,1 µg/m³, NO₂ 118,7 µg/m³, PM2.5 NowCast 20,3 µg/m³ → AQIx 43, 60, 41 → AQIʰ 60.
  // The decision's 60 for NO₂ is its own arithmetic slip: (100−50)/(200−100)×(118,7−100)+50 = 59,35,
  // and no rounding rule yields every printed value (docs/standards.md §1), hence ±1 on NO₂ and AQIʰ.
  it('hourly AQI = 60 from O₃ 136.1, NO₂ 118.7 and PM2.5 NowCast 20.3 µg/m³ (§2.3 b)', () => {
    const r = vnAqiHourly({ o3: 136.1, no2: 118.7, pm25NowCast: 20.3 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Math.round(r.subIndices.o3 ?? NaN)).toBe(43);
    expect(Math.round(r.subIndices.pm25 ?? NaN)).toBe(41);
    expect(r.subIndices.no2).toBeCloseTo(59.35, 9);
    expect(Math.abs(Math.round(r.subIndices.no2 ?? NaN) - 60)).toBeLessThanOrEqual(1);
    expect(Math.abs(r.aqi - 60)).toBeLessThanOrEqual(1);
    expect(r.dominant).toBe('no2');
    expect(r.band.category).toBe('moderate');
  });

  // §2.3 c: O₃ 8h max 89,3, O₃ 1h max 114,6, NO₂ 1h max 130,8, PM2.5 24h 55,7 → 45, 36, 65, 110.
  it('daily AQI = 110 from the decision\'s four daily values (§2.3 c)', () => {
    const r = vnAqiDaily({ o3Max8h: 89.3, o3Max1h: 114.6, no2Max1h: 130.8, pm25Mean24h: 55.7 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Math.round(vnAqiSubIndex('o3_8h', 89.3) as number)).toBe(45);
    expect(Math.round(vnAqiSubIndex('o3_1h', 114.6) as number)).toBe(36);
    expect(Math.round(r.subIndices.o3 ?? NaN)).toBe(45);
    expect(Math.round(r.subIndices.no2 ?? NaN)).toBe(65);
    expect(Math.round(r.subIndices.pm25 ?? NaN)).toBe(110);
    expect(r.aqi).toBe(110);
    expect(r.dominant).toBe('pm25');
    expect(r.band.label.vi).toBe('Kém');
  });

  // §2.3 a: PM2.5 at 09:00…20:00 (20:00 = c₁) → w* = 16,5/26,9 = 0,61 → NowCast 20,3 µg/m³.
  it('NowCast = 20.3 µg/m³ from the decision\'s 12 hourly PM2.5 values (§2.3 a)', () => {
    const oldestFirst = [26.9, 24.7, 20.5, 23.5, 19.5, 16.5, 19.0, 16.5, 20.3, 22.4, 19.6, 20.6];
    expect(Math.abs((nowCast([...oldestFirst].reverse()) as number) - 20.3)).toBeLessThan(0.05);
  });
});

describe('sub-index', () => {
  it('interpolates linearly between breakpoints', () => {
    expect(vnAqiSubIndex('pm25', 25)).toBe(50);
    expect(vnAqiSubIndex('pm25', 37.5)).toBe(75);
    expect(vnAqiSubIndex('pm10', 150)).toBe(100);
    expect(vnAqiSubIndex('co', 10000)).toBe(50);
  });
  it('caps at 500 above the top breakpoint', () => {
    expect(vnAqiSubIndex('pm25', 500)).toBe(500);
    expect(vnAqiSubIndex('pm25', 900)).toBe(500);
    const r = vnAqiHourly({ pm25NowCast: 1400 });
    expect(r.ok && r.aqi).toBe(500);
  });
  it('is monotonic and within 0..500 for every pollutant', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 200000, noNaN: true }), fc.double({ min: 0, max: 1000, noNaN: true }), (a, d) => {
        for (const t of ['pm25', 'pm10', 'o3_1h', 'co', 'so2', 'no2'] as const) {
          const x = vnAqiSubIndex(t, a) as number;
          const y = vnAqiSubIndex(t, a + d) as number;
          if (!(x >= 0 && x <= 500 && y >= x - 1e-9)) return false;
        }
        return true;
      }),
    );
  });
  it('drops the O₃ 8h branch above 400 µg/m³ and keeps the 1h branch', () => {
    expect(vnAqiSubIndex('o3_8h', 401)).toBeUndefined();
    const r = vnAqiDaily({ pm25Mean24h: 10, o3Max1h: 500, o3Max8h: 450 });
    expect(r.ok && r.dominant).toBe('o3');
    expect(r.ok && r.aqi).toBe(225);
  });
  it('takes the larger of the O₃ 1h and 8h branches for the daily index', () => {
    const r = vnAqiDaily({ pm25Mean24h: 10, o3Max1h: 160, o3Max8h: 170 });
    expect(r.ok && r.aqi).toBe(150);
  });
});

describe('NowCast', () => {
  it('weights hours by w = Cmin/Cmax when above ½', () => {
    // w* = 30/40 = 0.75 → (40 + 0.75·30) / (1 + 0.75)
    expect(nowCast([40, 30])).toBeCloseTo((40 + 0.75 * 30) / 1.75, 9);
  });
  it('floors the weight at ½', () => {
    // w* = 10/100 → w = 0.5: (100 + 0.5·10 + 0.25·10) / 1.75
    expect(nowCast([100, 10, 10])).toBeCloseTo((100 + 5 + 2.5) / 1.75, 9);
  });
  it('gives a missing hour weight 0 (the exponent still counts its position)', () => {
    // w = 0.5; hours c1=80, c2 missing, c3=40 → (80 + 0.25·40) / (1 + 0.25)
    expect(nowCast([80, undefined, 40])).toBeCloseTo((80 + 10) / 1.25, 9);
  });
  it('needs at least 2 of c₁..c₃', () => {
    expect(nowCast([50, undefined, undefined, 40, 40, 40])).toBeUndefined();
    expect(nowCast([undefined, undefined, 50, 40])).toBeUndefined();
    expect(nowCast([undefined, 50, 50])).toBeDefined();
    const r = vnAqiHourly({ pm25Hourly: [50], no2: 150 });
    expect(r).toEqual({ ok: false, reason: 'no_particulate' });
  });
  it('of a constant series is the constant', () => {
    expect(nowCast(Array(12).fill(33))).toBeCloseTo(33, 9);
  });
  it('uses only the last 12 hours', () => {
    expect(nowCast([...Array(12).fill(10), 1000])).toBeCloseTo(10, 9);
  });
});

describe('bands', () => {
  it('puts the band edges where the decision does', () => {
    expect(vnAqiBand(50).category).toBe('good');
    expect(vnAqiBand(51).category).toBe('moderate');
    expect(vnAqiBand(100).category).toBe('moderate');
    expect(vnAqiBand(101).category).toBe('poor');
    expect(vnAqiBand(150).category).toBe('poor');
    expect(vnAqiBand(151).category).toBe('bad');
    expect(vnAqiBand(200).category).toBe('bad');
    expect(vnAqiBand(201).category).toBe('very_bad');
    expect(vnAqiBand(300).category).toBe('very_bad');
    expect(vnAqiBand(301).category).toBe('hazardous');
    expect(vnAqiBand(500).category).toBe('hazardous');
    expect(vnAqiBand(100.4).category).toBe('moderate');
    expect(vnAqiBand(100.5).category).toBe('poor');
  });
  it('carries the decision colours', () => {
    expect(VN_AQI_BANDS.map((b) => b.colour.rgb)).toEqual([
      [0, 228, 0], [255, 255, 0], [255, 126, 0], [255, 0, 0], [143, 63, 151], [126, 0, 35],
    ]);
  });
  it('has advice in both languages for every category and both audiences', () => {
    for (const b of VN_AQI_BANDS) {
      const a = VN_AQI_ADVICE[b.category];
      for (const text of [a.general.vi, a.general.en, a.sensitive.vi, a.sensitive.en]) expect(text.length).toBeGreaterThan(10);
    }
  });
});

describe('hourly index without particulates', () => {
  it('is not computed when neither PM10 nor PM2.5 is present', () => {
    expect(vnAqiHourly({ o3: 300, no2: 300 })).toEqual({ ok: false, reason: 'no_particulate' });
  });
});
