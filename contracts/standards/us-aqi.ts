// US EPA AQI for PM2.5 and PM10 (2024 revision), for comparison only. Always label it as the
// US scale: it must never share a map or a legend with VN_AQI (STANDARDS.md §6).

export const US_AQI_SCALE = { id: 'US_AQI', label: { vi: 'AQI (thang Hoa Kỳ, US EPA)', en: 'AQI (US EPA scale)' } } as const;

interface Segment {
  readonly cLo: number;
  readonly cHi: number;
  readonly iLo: number;
  readonly iHi: number;
}

/** PM2.5 24h, µg/m³ (EPA 2024). */
export const US_AQI_PM25: readonly Segment[] = [
  { cLo: 0, cHi: 9.0, iLo: 0, iHi: 50 },
  { cLo: 9.1, cHi: 35.4, iLo: 51, iHi: 100 },
  { cLo: 35.5, cHi: 55.4, iLo: 101, iHi: 150 },
  { cLo: 55.5, cHi: 125.4, iLo: 151, iHi: 200 },
  { cLo: 125.5, cHi: 225.4, iLo: 201, iHi: 300 },
  { cLo: 225.5, cHi: 325.4, iLo: 301, iHi: 500 },
];

/** PM10 24h, µg/m³ (EPA). */
export const US_AQI_PM10: readonly Segment[] = [
  { cLo: 0, cHi: 54, iLo: 0, iHi: 50 },
  { cLo: 55, cHi: 154, iLo: 51, iHi: 100 },
  { cLo: 155, cHi: 254, iLo: 101, iHi: 150 },
  { cLo: 255, cHi: 354, iLo: 151, iHi: 200 },
  { cLo: 355, cHi: 424, iLo: 201, iHi: 300 },
  { cLo: 425, cHi: 604, iLo: 301, iHi: 500 },
];

function interpolate(segments: readonly Segment[], c: number): number {
  for (const s of segments) {
    if (c <= s.cHi) return Math.round(((s.iHi - s.iLo) / (s.cHi - s.cLo)) * (c - s.cLo) + s.iLo);
  }
  return 500;
}

/** US AQI of a PM2.5 concentration; EPA truncates to one decimal first. Above the table: 500. */
export function usAqiPm25(concentrationUgM3: number): number | undefined {
  if (!Number.isFinite(concentrationUgM3) || concentrationUgM3 < 0) return undefined;
  return interpolate(US_AQI_PM25, Math.floor(concentrationUgM3 * 10) / 10);
}

/** US AQI of a PM10 concentration; EPA truncates to an integer first. Above the table: 500. */
export function usAqiPm10(concentrationUgM3: number): number | undefined {
  if (!Number.isFinite(concentrationUgM3) || concentrationUgM3 < 0) return undefined;
  return interpolate(US_AQI_PM10, Math.floor(concentrationUgM3));
}

/** EPA NowCast: same weight rule, not reported when c₁ or c₂ is missing. */
export function usNowCast(hourlyMeans: readonly (number | undefined)[]): number | undefined {
  const hours = hourlyMeans.slice(0, 12);
  if (hours[0] === undefined || hours[1] === undefined) return undefined;
  const present = hours.filter((c): c is number => c !== undefined);
  const cMax = Math.max(...present);
  if (cMax <= 0) return 0;
  const wStar = Math.min(...present) / cMax;
  const w = wStar <= 0.5 ? 0.5 : wStar;
  let num = 0;
  let den = 0;
  hours.forEach((c, i) => {
    if (c === undefined) return;
    num += w ** i * c;
    den += w ** i;
  });
  return num / den;
}
