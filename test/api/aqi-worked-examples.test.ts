// Hourly and daily AQI on both scales, computed through the real API from raw readings written into
// the real InfluxDB, against the standards' own worked examples: Decision 1459/QĐ-TCMT §2.3 (VN_AQI)
// and EPA's NowCast example with the US table in force at the time (2012 before 6 May 2024, then 2024).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StationAqiResponseSchema, type Aqi } from '../../contracts/api.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { HOUR, MIN, writePoints } from './fixtures.ts';

const STATION = 'air-010';
let t: TestQuantrac;

/** Hanoi local time (UTC+7) → epoch ms. */
const hanoi = (isoLocal: string) => Date.parse(`${isoLocal}+07:00`);

/**
 * Raw readings of one hour whose mean is `values`: four readings 15 min apart at ±0.3 and ±0.1
 * around each value, so the API's hourly mean (not a single reading) must give the figure.
 */
function hourOfReadings(hourStartMs: number, values: Record<string, number>): string[] {
  const offsets = [0.3, -0.3, 0.1, -0.1];
  return offsets.map((d, i) => {
    const fields = Object.entries(values).map(([p, v]) => `${p}=${(v + d).toFixed(2)}`).join(',');
    return `air,station=${STATION} ${fields} ${hourStartMs + 5 * MIN + i * 15 * MIN}`;
  });
}

async function aqiAt(period: 'hourly' | 'daily', scale: 'vn' | 'us', atMs: number): Promise<Aqi | null> {
  const span = period === 'hourly' ? HOUR : 24 * HOUR;
  const qs = new URLSearchParams({ period, scale, from: new Date(atMs).toISOString(), to: new Date(atMs + span).toISOString() });
  const res = await fetch(`${t.httpUrl}/api/stations/${STATION}/aqi?${qs}`);
  expect(res.status).toBe(200);
  const body = StationAqiResponseSchema.parse(await res.json());
  expect(body.points[0]?.ts).toBe(new Date(atMs).toISOString());
  return body.points[0]?.aqi ?? null;
}

// Decision 1459 §2.3 a/b: PM2.5 hourly means 09:00…20:00, and at 20:00 O₃ 136,1 and NO₂ 118,7 µg/m³.
const DECISION_PM25 = [26.9, 24.7, 20.5, 23.5, 19.5, 16.5, 19.0, 16.5, 20.3, 22.4, 19.6, 20.6];
const HOURLY_DAY = '2025-11-12';
const hourlyAt = hanoi(`${HOURLY_DAY}T20:00:00`);

// Decision 1459 §2.2.2 a: O₃ hourly means labelled 18:00 (day before) … 0:00, hour-ending labels; the
// day is 01:00 … 00:00, i.e. the hours starting 00:00 … 23:00. Its 8-hour maximum is 74,4 µg/m³.
const DECISION_O3 = [15.7, 14.2, 17.7, 18.9, 19.3, 15.7, 19.7, 22.6, 27.1, 29.0, 31.9, 25.3, 34.7, 35.2, 41.6, 45.7, 49.2, 55.8, 69.6, 78.3, 91.5, 97.7, 81.2, 71.8, 43.5, 34.3, 21.5, 20.5, 19.4, 20.4, 21.3];
const O3_DAY = hanoi('2025-11-20T00:00:00');

// Decision 1459 §2.3 c gives the day's statistics: O₃ 8 h max 89,3, O₃ 1 h max 114,6, NO₂ 1 h max
// 130,8, PM2.5 24 h mean 55,7 µg/m³ → 45, 36, 65, 110. Hourly means with exactly those statistics:
const DAILY_DAY = hanoi('2025-11-25T00:00:00');
function dailyExampleHours(): Record<string, number>[] {
  const o3Run = [64.0, 89.3, 89.3, 89.3, 114.6, 89.3, 89.3, 89.3]; // mean 89,3, max 114,6 (hours 10…17)
  return Array.from({ length: 24 }, (_, h) => ({
    pm25: h % 2 === 0 ? 50.7 : 60.7, // mean 55,7
    no2: h === 14 ? 130.8 : 80,
    o3: h >= 10 && h < 18 ? (o3Run[h - 10] as number) : 20,
  }));
}

// EPA "Computing the NowCast": 50 80 75 90 82 53 64 74 21 10 16 13 µg/m³ (oldest first) → 17.4.
const EPA_PM25 = [50, 80, 75, 90, 82, 53, 64, 74, 21, 10, 16, 13];
const EPA_BEFORE_2024 = hanoi('2024-05-05T12:00:00');
const EPA_FROM_2024 = hanoi('2024-05-07T12:00:00');

beforeAll(async () => {
  t = await startTestQuantrac({ RETENTION_RAW_DAYS: '0' }); // keep the 2024 readings (raw data otherwise kept 400 days)
  await t.q.influx.ensureDatabase();
  const lines: string[] = [];
  DECISION_PM25.forEach((c, i) => lines.push(...hourOfReadings(hourlyAt - (11 - i) * HOUR, { pm25: c, ...(i === 11 ? { o3: 136.1, no2: 118.7 } : {}) })));
  DECISION_O3.forEach((c, i) => lines.push(...hourOfReadings(O3_DAY - 7 * HOUR + i * HOUR, { o3: c, pm25: 20 })));
  dailyExampleHours().forEach((v, h) => lines.push(...hourOfReadings(DAILY_DAY + h * HOUR, v)));
  for (const end of [EPA_BEFORE_2024, EPA_FROM_2024]) EPA_PM25.forEach((c, i) => lines.push(...hourOfReadings(end - (11 - i) * HOUR, { pm25: c })));
  await writePoints(t.database, lines);
});
afterAll(async () => t?.stop());

describe('VN_AQI through the API (Decision 1459/QĐ-TCMT §2.3)', () => {
  it('hourly: NowCast 20.3 → PM2.5 41, O₃ 136.1 → 43, NO₂ 118.7 → 59.35 (printed 60): AQIʰ 60 ± 1, NO₂ dominant', async () => {
    const aqi = await aqiAt('hourly', 'vn', hourlyAt);
    expect(aqi).toMatchObject({ scale: 'VN_AQI', table: 'VN_AQI_1459_2019', dominant: 'no2', category: 'moderate' });
    expect(Math.round(aqi!.subIndices!.pm25!)).toBe(41);
    expect(Math.round(aqi!.subIndices!.o3!)).toBe(43);
    expect(aqi!.subIndices!.no2).toBeCloseTo(59.35, 1);
    expect(Math.abs(aqi!.value - 60)).toBeLessThanOrEqual(1); // the decision's NO₂ slip: see docs/standards.md §1
  });
  it('daily: O₃ 8 h 89.3 → 45, O₃ 1 h 114.6 → 36, NO₂ 130.8 → 65, PM2.5 55.7 → 110: AQIᵈ = 110', async () => {
    const aqi = await aqiAt('daily', 'vn', DAILY_DAY);
    expect(aqi).toMatchObject({ scale: 'VN_AQI', value: 110, dominant: 'pm25', category: 'poor' });
    expect(Math.round(aqi!.subIndices!.o3!)).toBe(45);
    expect(Math.round(aqi!.subIndices!.no2!)).toBe(65);
    expect(Math.round(aqi!.subIndices!.pm25!)).toBe(110);
  });
  it('daily O₃ from the decision\'s hourly table: the 8-hour maximum 74.4 µg/m³ gives the O₃ index (37.2)', async () => {
    const aqi = await aqiAt('daily', 'vn', O3_DAY);
    expect(aqi!.subIndices!.o3).toBeCloseTo((74.4 / 100) * 50, 1); // 8 h branch beats the 1 h max 97,7 (30.5)
  });
});

describe('US AQI through the API (EPA NowCast example, table in force)', () => {
  it('hourly: NowCast 17.4 µg/m³ is 62 on the 2012 table before 6 May 2024 and 66 on the 2024 table after', async () => {
    expect(await aqiAt('hourly', 'us', EPA_BEFORE_2024)).toMatchObject({ scale: 'US_AQI', table: 'US_EPA_2012', value: 62, dominant: 'pm25', category: 'moderate' });
    expect(await aqiAt('hourly', 'us', EPA_FROM_2024)).toMatchObject({ scale: 'US_AQI', table: 'US_EPA_2024', value: 66, dominant: 'pm25' });
  });
  it('daily: the 24-hour PM2.5 mean 55.7 µg/m³ rates 151 (unhealthy) with EPA\'s equation', async () => {
    expect(await aqiAt('daily', 'us', DAILY_DAY)).toMatchObject({ scale: 'US_AQI', table: 'US_EPA_2024', value: 151, category: 'unhealthy' });
  });
});
