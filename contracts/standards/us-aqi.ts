// US EPA AQI for PM2.5 and PM10, for comparison only: the 2012 table and the 2024 revision (in force
// from 6 May 2024), EPA's truncation and its NowCast. Always label it as the US scale: it must never
// share a map or a legend with VN_AQI (docs/standards.md §7).
import { nowCast } from './vn-aqi.ts';

export const US_AQI_SCALE = { id: 'US_AQI', label: { vi: 'AQI (thang Hoa Kỳ, US EPA)', en: 'AQI (US EPA scale)' } } as const;

export interface UsAqiSegment {
  readonly cLo: number;
  readonly cHi: number;
  readonly iLo: number;
  readonly iHi: number;
}

export const US_AQI_TABLES = ['US_EPA_2012', 'US_EPA_2024'] as const;
export type UsAqiTable = (typeof US_AQI_TABLES)[number];

/**
 * 6 May 2024, when EPA's revised PM breakpoints took effect (89 FR 16202). A reading (an hour or a
 * Hanoi day, judged by its start) is rated with the table in force on its Hanoi date.
 */
export const US_AQI_2024_FROM_MS = Date.parse('2024-05-06T00:00:00+07:00');

/** PM10 up to AQI 300: the same in both tables (2024 merged the two top segments into one). */
const PM10_UP_TO_300: readonly UsAqiSegment[] = [
  { cLo: 0, cHi: 54, iLo: 0, iHi: 50 },
  { cLo: 55, cHi: 154, iLo: 51, iHi: 100 },
  { cLo: 155, cHi: 254, iLo: 101, iHi: 150 },
  { cLo: 255, cHi: 354, iLo: 151, iHi: 200 },
  { cLo: 355, cHi: 424, iLo: 201, iHi: 300 },
];

/** Breakpoints per table and pollutant, µg/m³ (EPA-454/B-18-007 Table 5; EPA-454/B-24-002 Table 6). */
export const US_AQI_BREAKPOINTS: Readonly<Record<UsAqiTable, { readonly pm25: readonly UsAqiSegment[]; readonly pm10: readonly UsAqiSegment[] }>> = {
  US_EPA_2012: {
    pm25: [
      { cLo: 0, cHi: 12.0, iLo: 0, iHi: 50 },
      { cLo: 12.1, cHi: 35.4, iLo: 51, iHi: 100 },
      { cLo: 35.5, cHi: 55.4, iLo: 101, iHi: 150 },
      { cLo: 55.5, cHi: 150.4, iLo: 151, iHi: 200 },
      { cLo: 150.5, cHi: 250.4, iLo: 201, iHi: 300 },
      { cLo: 250.5, cHi: 350.4, iLo: 301, iHi: 400 },
      { cLo: 350.5, cHi: 500.4, iLo: 401, iHi: 500 },
    ],
    pm10: [...PM10_UP_TO_300, { cLo: 425, cHi: 504, iLo: 301, iHi: 400 }, { cLo: 505, cHi: 604, iLo: 401, iHi: 500 }],
  },
  US_EPA_2024: {
    pm25: [
      { cLo: 0, cHi: 9.0, iLo: 0, iHi: 50 },
      { cLo: 9.1, cHi: 35.4, iLo: 51, iHi: 100 },
      { cLo: 35.5, cHi: 55.4, iLo: 101, iHi: 150 },
      { cLo: 55.5, cHi: 125.4, iLo: 151, iHi: 200 },
      { cLo: 125.5, cHi: 225.4, iLo: 201, iHi: 300 },
      { cLo: 225.5, cHi: 325.4, iLo: 301, iHi: 500 },
    ],
    pm10: [...PM10_UP_TO_300, { cLo: 425, cHi: 604, iLo: 301, iHi: 500 }],
  },
};

/** The table in force at `atMs` (epoch ms). */
export function usAqiTableAt(atMs: number): UsAqiTable {
  return atMs >= US_AQI_2024_FROM_MS ? 'US_EPA_2024' : 'US_EPA_2012';
}

/**
 * EPA truncates (never rounds) concentrations before the AQI equation: PM2.5 to 0.1 µg/m³, PM10
 * to 1 µg/m³. The tiny epsilon keeps binary fractions such as 9.1 (9.0999…) at 9.1.
 */
export function truncatePm25(c: number): number {
  return Math.floor(c * 10 + 1e-9) / 10;
}
export function truncatePm10(c: number): number {
  return Math.floor(c + 1e-9);
}

function interpolate(segments: readonly UsAqiSegment[], c: number): number {
  for (const s of segments) {
    if (c <= s.cHi) return Math.round(((s.iHi - s.iLo) / (s.cHi - s.cLo)) * (c - s.cLo) + s.iLo);
  }
  return 500;
}

/** US AQI of a PM2.5 concentration with the given table (default 2024). Above the table: 500. */
export function usAqiPm25(concentrationUgM3: number, table: UsAqiTable = 'US_EPA_2024'): number | undefined {
  if (!Number.isFinite(concentrationUgM3) || concentrationUgM3 < 0) return undefined;
  return interpolate(US_AQI_BREAKPOINTS[table].pm25, truncatePm25(concentrationUgM3));
}

/** US AQI of a PM10 concentration with the given table (default 2024). Above the table: 500. */
export function usAqiPm10(concentrationUgM3: number, table: UsAqiTable = 'US_EPA_2024'): number | undefined {
  if (!Number.isFinite(concentrationUgM3) || concentrationUgM3 < 0) return undefined;
  return interpolate(US_AQI_BREAKPOINTS[table].pm10, truncatePm10(concentrationUgM3));
}

/**
 * EPA's NowCast over hourly means c₁…c₁₂ (c₁ = current hour): the same weighted mean as VN_AQI's
 * (w = Cmin/Cmax floored at ½, a missing hour weighs 0), valid when at least 2 of c₁, c₂, c₃ exist
 * (AirNow: "2 of the past 3 hourly data points must be valid"), then truncated like any PM
 * concentration: PM2.5 to 0.1 µg/m³, PM10 to 1 µg/m³.
 */
export function usNowCast(hourlyMeans: readonly (number | undefined)[], pollutant: 'pm25' | 'pm10'): number | undefined {
  const c = nowCast(hourlyMeans);
  if (c === undefined) return undefined;
  return pollutant === 'pm25' ? truncatePm25(c) : truncatePm10(c);
}
