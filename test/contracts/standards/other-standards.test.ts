// US AQI comparison, QCVN 05/08 limits, flood levels and rain categories.
import { describe, expect, it } from 'vitest';
import { US_AQI_2024_FROM_MS, usAqiPm10, usAqiPm25, usAqiTableAt, usNowCast } from '../../../contracts/standards/us-aqi.ts';
import { vnAqiSubIndex } from '../../../contracts/standards/vn-aqi.ts';
import { PM25_24H_TIGHTENS_AT_MS, qcvn05Exceeds, qcvn05Limit } from '../../../contracts/standards/qcvn05.ts';
import { qcvn08Limit, waterLimitBreached } from '../../../contracts/standards/qcvn08.ts';
import { floodLevelAt, nextFloodLevel } from '../../../contracts/standards/flood.ts';
import { hanoiStreetFloodBand, rainCategory, reachesRainRiskLevel1 } from '../../../contracts/standards/rain.ts';

describe('US AQI (EPA 2024)', () => {
  it('rates 45 µg/m³ PM2.5 ≈ 124 US against ≈ 90 on VN_AQI', () => {
    expect(Math.abs((usAqiPm25(45) as number) - 124)).toBeLessThanOrEqual(1);
    expect(Math.abs((vnAqiSubIndex('pm25', 45) as number) - 90)).toBeLessThanOrEqual(1);
  });
  it('uses the 2024 PM2.5 breakpoints and truncation', () => {
    expect(usAqiPm25(9.0)).toBe(50);
    expect(usAqiPm25(9.09)).toBe(50); // truncated to 9.0
    expect(usAqiPm25(35.4)).toBe(100);
    expect(usAqiPm25(55.5)).toBe(151);
    expect(usAqiPm25(1000)).toBe(500);
    expect(usAqiPm10(154.9)).toBe(100);
    expect(usAqiPm10(155)).toBe(101);
  });
  it('reports NowCast when 2 of the 3 latest hours exist, not with fewer', () => {
    expect(usNowCast([10, undefined, 10], 'pm25')).toBe(10);
    expect(usNowCast([undefined, 10, 10], 'pm25')).toBe(10);
    expect(usNowCast([10, undefined, undefined, 10], 'pm25')).toBeUndefined();
    expect(usNowCast([10, 10], 'pm10')).toBe(10);
  });
});

describe('US AQI: EPA\'s published NowCast example and the table in force', () => {
  // EPA, "Computing the NowCast" (AirNow training): 12 hours 50 80 75 90 82 53 64 74 21 10 16 13
  // (oldest first), range 80, weight 1 − 80/90 → 0.5, NowCast = 17.4 µg/m³.
  const epaOldestFirst = [50, 80, 75, 90, 82, 53, 64, 74, 21, 10, 16, 13];
  it('gives 17.4 µg/m³ for EPA\'s example, truncated to 0.1', () => {
    expect(usNowCast([...epaOldestFirst].reverse(), 'pm25')).toBe(17.4); // 17.4139… before truncation
    expect(usNowCast([99.99, 99.99], 'pm25')).toBe(99.9);
    expect(usNowCast([99.99, 99.99], 'pm10')).toBe(99);
  });
  it('rates that NowCast with the 2012 table before 6 May 2024 and the 2024 table from then', () => {
    expect(usAqiTableAt(US_AQI_2024_FROM_MS - 1)).toBe('US_EPA_2012');
    expect(usAqiTableAt(US_AQI_2024_FROM_MS)).toBe('US_EPA_2024');
    // AQI equation: 2012 12.1–35.4 → 51–100: 49/23.3 × (17.4 − 12.1) + 51 = 62.1; 2024 9.1–35.4: 66.5.
    expect(usAqiPm25(17.4, 'US_EPA_2012')).toBe(62);
    expect(usAqiPm25(17.4, 'US_EPA_2024')).toBe(66);
    expect(usAqiPm25(12.0, 'US_EPA_2012')).toBe(50);
    expect(usAqiPm25(12.0, 'US_EPA_2024')).toBe(56);
    expect(usAqiPm25(150.4, 'US_EPA_2012')).toBe(200);
    expect(usAqiPm25(150.4, 'US_EPA_2024')).toBe(226); // 99/99.9 × 24.9 + 201 = 225.7
    expect(usAqiPm10(504, 'US_EPA_2012')).toBe(400);
    expect(usAqiPm10(504, 'US_EPA_2024')).toBe(389);
  });
});

describe('QCVN 05:2023', () => {
  it('tightens PM2.5 24h from 50 to 45 on 1 Jan 2026 Hanoi time', () => {
    expect(qcvn05Limit('pm25', '24h', PM25_24H_TIGHTENS_AT_MS - 1)).toBe(50);
    expect(qcvn05Limit('pm25', '24h', Date.parse('2026-01-01T00:00:00+07:00'))).toBe(45);
    expect(qcvn05Exceeds('pm25', '24h', 47, Date.parse('2025-06-01T00:00:00Z'))).toBe(false);
    expect(qcvn05Exceeds('pm25', '24h', 47, Date.parse('2026-06-01T00:00:00Z'))).toBe(true);
  });
  it('does not regulate windows the table leaves empty', () => {
    expect(qcvn05Limit('pm10', '1h', 0)).toBeUndefined();
    expect(qcvn05Limit('co', '8h', 0)).toBe(10000);
    expect(qcvn05Limit('pm10', '24h', 0)).toBe(100);
  });
});

describe('QCVN 08:2023', () => {
  it('gives class limits and the NH₄⁺ health limit', () => {
    expect(qcvn08Limit('B', 'do_mgl')).toEqual({ min: 5.0 });
    expect(qcvn08Limit('A', 'do_mgl')?.unsure).toBe(true);
    expect(qcvn08Limit('D', 'nh4_mgl')?.max).toBe(0.3);
    expect(qcvn08Limit('D', 'bod5_mgl')).toBeUndefined();
  });
  it('lets deployments override an unsure value', () => {
    expect(qcvn08Limit('A', 'do_mgl', { A: { do_mgl: { min: 5.5 } } })).toEqual({ min: 5.5, unsure: false });
  });
  it('checks a pH range on both sides', () => {
    const ph = qcvn08Limit('B', 'ph');
    expect(ph && waterLimitBreached(ph, 5.9)).toBe(true);
    expect(ph && waterLimitBreached(ph, 8.6)).toBe(true);
    expect(ph && waterLimitBreached(ph, 7)).toBe(false);
  });
});

describe('flood levels (Decision 05/2020)', () => {
  const longBien = { I: 9.5, II: 10.5, III: 11.5 };
  it('names the level reached', () => {
    expect(floodLevelAt(longBien, 9.39)).toBeUndefined();
    expect(floodLevelAt(longBien, 9.5)).toBe('I');
    expect(floodLevelAt(longBien, 11.2)).toBe('II'); // Yagi peak, 12 Sep 2024
    expect(floodLevelAt(longBien, 12)).toBe('III');
  });
  it('names the next level', () => {
    expect(nextFloodLevel(longBien, 11.2)).toEqual({ level: 'III', thresholdM: 11.5 });
    expect(nextFloodLevel(longBien, 11.6)).toBeUndefined();
  });
});

describe('rain', () => {
  it('classifies 12 h and 24 h accumulations', () => {
    expect(rainCategory(2, '12h')).toBe('light');
    expect(rainCategory(3, '12h')).toBe('rain');
    expect(rainCategory(30, '12h')).toBe('heavy');
    expect(rainCategory(51, '12h')).toBe('very_heavy');
    expect(rainCategory(16, '24h')).toBe('moderate');
    expect(rainCategory(100, '24h')).toBe('heavy');
    expect(rainCategory(101, '24h')).toBe('very_heavy');
  });
  it('knows risk level 1 of Decision 18/2021 and the Hanoi 2 h band', () => {
    expect(reachesRainRiskLevel1(99, '24h')).toBe(false);
    expect(reachesRainRiskLevel1(50, '12h')).toBe(true);
    expect(hanoiStreetFloodBand(49)).toBe('none');
    expect(hanoiStreetFloodBand(50)).toBe('hotspots');
    expect(hanoiStreetFloodBand(120)).toBe('beyond');
  });
});

describe('US daily AQI completeness (EPA: 18 of 24 hours)', () => {
  it('rates a day with 18 hourly PM2.5 values and not one with 17', async () => {
    const { dailyAqi } = await import('../../../api/aqi.ts');
    const day = (n: number) => Array.from({ length: 24 }, (_, i) => (i < n ? { pm25: 40 } : undefined));
    const at = Date.parse('2026-06-01T00:00:00+07:00');
    expect(dailyAqi(day(18), [], 'us', at)).toMatchObject({ value: 112, table: 'US_EPA_2024' }); // 35.5–55.4 → 101–150
    expect(dailyAqi(day(17), [], 'us', at)).toBeNull();
    expect(dailyAqi(day(17), [], 'vn', at)?.value).toBe(80); // the decision sets no such rule
  });
});
