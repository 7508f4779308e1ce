// Ambient air limits of QCVN 05:2023/BTNMT (in force 12 Sep 2023), µg/Nm³, with their averaging
// windows. Date-dependent: PM2.5 24h tightens from 50 to 45 on 1 Jan 2026 (Hanoi time).

export const QCVN05_PARAMETERS = ['so2', 'co', 'no2', 'o3', 'tsp', 'pm10', 'pm25'] as const;
export type Qcvn05Parameter = (typeof QCVN05_PARAMETERS)[number];

export const QCVN05_WINDOWS = ['1h', '8h', '24h', 'year'] as const;
export type Qcvn05Window = (typeof QCVN05_WINDOWS)[number];

/** Length of each averaging window in milliseconds (a year as 365 days). */
export const QCVN05_WINDOW_MS: Readonly<Record<Qcvn05Window, number>> = {
  '1h': 3_600_000,
  '8h': 8 * 3_600_000,
  '24h': 24 * 3_600_000,
  year: 365 * 24 * 3_600_000,
};

/** 2026-01-01T00:00 in Hanoi (UTC+7), when the PM2.5 24h limit becomes 45 µg/Nm³. */
export const PM25_24H_TIGHTENS_AT_MS = Date.UTC(2025, 11, 31, 17, 0, 0);

type Table = Readonly<Record<Qcvn05Parameter, Partial<Record<Qcvn05Window, number>>>>;

/** The limits table as in force on 12 Sep 2023 ("–" cells are absent). */
export const QCVN05_LIMITS: Table = {
  so2: { '1h': 350, '24h': 125, year: 50 },
  co: { '1h': 30000, '8h': 10000 },
  no2: { '1h': 200, '24h': 100, year: 40 },
  o3: { '1h': 200, '8h': 120 },
  tsp: { '1h': 300, '24h': 200, year: 100 },
  pm10: { '24h': 100, year: 50 },
  pm25: { '24h': 50, year: 25 },
};

/**
 * The limit for a parameter and averaging window in force at `atMs` (epoch ms), or undefined
 * when QCVN 05:2023 does not regulate that combination. A window is judged by its end time.
 */
export function qcvn05Limit(parameter: Qcvn05Parameter, window: Qcvn05Window, atMs: number): number | undefined {
  if (parameter === 'pm25' && window === '24h') return atMs >= PM25_24H_TIGHTENS_AT_MS ? 45 : 50;
  return QCVN05_LIMITS[parameter][window];
}

/** True when a mean over the named window exceeds the limit (strictly above). */
export function qcvn05Exceeds(parameter: Qcvn05Parameter, window: Qcvn05Window, meanUgM3: number, atMs: number): boolean {
  const limit = qcvn05Limit(parameter, window, atMs);
  return limit !== undefined && meanUgM3 > limit;
}
