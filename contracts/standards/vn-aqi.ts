// VN_AQI of Decision 1459/QĐ-TCMT (12 Nov 2019): breakpoints, bands, sub-indices, NowCast and the
// hourly / daily index. Pure functions over concentrations in µg/m³ (CO included), no I/O.

export const VN_AQI_POLLUTANTS = ['pm25', 'pm10', 'o3', 'no2', 'so2', 'co'] as const;
export type VnAqiPollutant = (typeof VN_AQI_POLLUTANTS)[number];

/** The index value Iᵢ at each breakpoint row of the decision's Table 1. */
export const VN_AQI_INDEX_STEPS = [0, 50, 100, 150, 200, 300, 400, 500] as const;

/** Breakpoints BPᵢ (µg/m³) per row of VN_AQI_INDEX_STEPS. O₃ 8h stops at 300: no rows 400/500. */
export const VN_AQI_BREAKPOINTS = {
  o3_1h: [0, 160, 200, 300, 400, 800, 1000, 1200],
  o3_8h: [0, 100, 120, 170, 210, 400],
  co: [0, 10000, 30000, 45000, 60000, 90000, 120000, 150000],
  so2: [0, 125, 350, 550, 800, 1600, 2100, 2630],
  no2: [0, 100, 200, 700, 1200, 2350, 3100, 3850],
  pm10: [0, 50, 150, 250, 350, 420, 500, 600],
  pm25: [0, 25, 50, 80, 150, 250, 350, 500],
} as const satisfies Record<string, readonly number[]>;
export type VnAqiTable = keyof typeof VN_AQI_BREAKPOINTS;

export const VN_AQI_MAX = 500;

export const VN_AQI_CATEGORIES = ['good', 'moderate', 'poor', 'bad', 'very_bad', 'hazardous'] as const;
export type VnAqiCategory = (typeof VN_AQI_CATEGORIES)[number];

export interface VnAqiBand {
  readonly category: VnAqiCategory;
  /** Lowest integer AQI of the band (inclusive). */
  readonly min: number;
  /** Highest integer AQI of the band (inclusive). */
  readonly max: number;
  readonly label: { readonly vi: string; readonly en: string };
  readonly colour: { readonly name: string; readonly rgb: readonly [number, number, number] };
}

/** Bands of the decision's Table 2, best first. */
export const VN_AQI_BANDS: readonly VnAqiBand[] = [
  { category: 'good', min: 0, max: 50, label: { vi: 'Tốt', en: 'Good' }, colour: { name: 'green', rgb: [0, 228, 0] } },
  { category: 'moderate', min: 51, max: 100, label: { vi: 'Trung bình', en: 'Moderate' }, colour: { name: 'yellow', rgb: [255, 255, 0] } },
  { category: 'poor', min: 101, max: 150, label: { vi: 'Kém', en: 'Poor' }, colour: { name: 'orange', rgb: [255, 126, 0] } },
  { category: 'bad', min: 151, max: 200, label: { vi: 'Xấu', en: 'Bad' }, colour: { name: 'red', rgb: [255, 0, 0] } },
  { category: 'very_bad', min: 201, max: 300, label: { vi: 'Rất xấu', en: 'Very bad' }, colour: { name: 'purple', rgb: [143, 63, 151] } },
  { category: 'hazardous', min: 301, max: 500, label: { vi: 'Nguy hại', en: 'Hazardous' }, colour: { name: 'brown', rgb: [126, 0, 35] } },
];

/** The band of an AQI value; the value is rounded first (the decision publishes integers). */
export function vnAqiBand(aqi: number): VnAqiBand {
  const rounded = Math.min(VN_AQI_MAX, Math.max(0, Math.round(aqi)));
  return VN_AQI_BANDS.find((b) => rounded <= b.max) ?? (VN_AQI_BANDS[VN_AQI_BANDS.length - 1] as VnAqiBand);
}

/**
 * Sub-index by linear interpolation (decision, formula 1): AQIx = (Iᵢ₊₁ − Iᵢ)/(BPᵢ₊₁ − BPᵢ) ×
 * (Cx − BPᵢ) + Iᵢ. At or above the top breakpoint the index is capped at 500. Returns undefined
 * for a negative or non-finite concentration, and for O₃ 8h above its last row (400 µg/m³),
 * where the decision drops the 8h branch. Not rounded.
 */
export function vnAqiSubIndex(table: VnAqiTable, concentrationUgM3: number): number | undefined {
  if (!Number.isFinite(concentrationUgM3) || concentrationUgM3 < 0) return undefined;
  const bp: readonly number[] = VN_AQI_BREAKPOINTS[table];
  const top = bp[bp.length - 1] as number;
  if (concentrationUgM3 > top) return table === 'o3_8h' ? undefined : VN_AQI_MAX;
  for (let i = 0; i < bp.length - 1; i++) {
    const lo = bp[i] as number;
    const hi = bp[i + 1] as number;
    if (concentrationUgM3 <= hi) {
      const iLo = VN_AQI_INDEX_STEPS[i] as number;
      const iHi = VN_AQI_INDEX_STEPS[i + 1] as number;
      return ((iHi - iLo) / (hi - lo)) * (concentrationUgM3 - lo) + iLo;
    }
  }
  return VN_AQI_MAX;
}

/**
 * NowCast of the decision over hourly means c₁…c₁₂ (c₁ = current hour; `undefined` = missing
 * hour, weight 0). w* = Cmin/Cmax over the hours present; w = ½ if w* ≤ ½ else w*;
 * NowCast = Σ wⁱ⁻¹·cᵢ / Σ wⁱ⁻¹. Undefined unless at least 2 of c₁, c₂, c₃ exist.
 */
export function nowCast(hourlyMeans: readonly (number | undefined)[]): number | undefined {
  const hours = hourlyMeans.slice(0, 12);
  const recent = hours.slice(0, 3).filter((c) => c !== undefined && Number.isFinite(c)).length;
  if (recent < 2) return undefined;
  let cMin = Infinity;
  let cMax = -Infinity;
  for (const c of hours) {
    if (c === undefined || !Number.isFinite(c)) continue;
    cMin = Math.min(cMin, c);
    cMax = Math.max(cMax, c);
  }
  if (cMax <= 0) return 0;
  const wStar = cMin / cMax;
  const w = nowCastWeight(wStar);
  let num = 0;
  let den = 0;
  hours.forEach((c, i) => {
    if (c === undefined || !Number.isFinite(c)) return;
    const weight = w ** i;
    num += weight * c;
    den += weight;
  });
  return num / den;
}

/** The weight rule shared by VN_AQI and the US EPA NowCast: w = ½ if w* ≤ ½, else w*. */
export function nowCastWeight(wStar: number): number {
  return wStar <= 0.5 ? 0.5 : wStar;
}

export type VnAqiResult =
  | {
      readonly ok: true;
      /** Overall index, rounded: the maximum sub-index. */
      readonly aqi: number;
      readonly band: VnAqiBand;
      /** The pollutant whose sub-index gives the overall index. */
      readonly dominant: VnAqiPollutant;
      /** Unrounded sub-indices of the pollutants that could be computed. */
      readonly subIndices: Readonly<Partial<Record<VnAqiPollutant, number>>>;
    }
  | { readonly ok: false; readonly reason: 'no_particulate' };

function combine(sub: Partial<Record<VnAqiPollutant, number>>): VnAqiResult {
  if (sub.pm25 === undefined && sub.pm10 === undefined) return { ok: false, reason: 'no_particulate' };
  let dominant: VnAqiPollutant = sub.pm25 !== undefined ? 'pm25' : 'pm10';
  let max = -Infinity;
  for (const p of VN_AQI_POLLUTANTS) {
    const v = sub[p];
    if (v !== undefined && v > max) {
      max = v;
      dominant = p;
    }
  }
  const aqi = Math.min(VN_AQI_MAX, Math.round(max));
  return { ok: true, aqi, band: vnAqiBand(aqi), dominant, subIndices: sub };
}

function put(sub: Partial<Record<VnAqiPollutant, number>>, p: VnAqiPollutant, v: number | undefined): void {
  if (v !== undefined) sub[p] = v;
}

export interface VnAqiHourlyInput {
  /** PM hourly means c₁…c₁₂ (c₁ = current hour), µg/m³; NowCast is applied. */
  readonly pm25Hourly?: readonly (number | undefined)[];
  readonly pm10Hourly?: readonly (number | undefined)[];
  /** Already computed NowCast values (take precedence over the hourly series). */
  readonly pm25NowCast?: number;
  readonly pm10NowCast?: number;
  /** Current 1-hour means, µg/m³. */
  readonly o3?: number;
  readonly no2?: number;
  readonly so2?: number;
  readonly co?: number;
}

/** Hourly VN_AQI: gases from their 1h mean (O₃ on the 1h row), PM2.5/PM10 via NowCast. */
export function vnAqiHourly(input: VnAqiHourlyInput): VnAqiResult {
  const sub: Partial<Record<VnAqiPollutant, number>> = {};
  const pm25 = input.pm25NowCast ?? (input.pm25Hourly ? nowCast(input.pm25Hourly) : undefined);
  const pm10 = input.pm10NowCast ?? (input.pm10Hourly ? nowCast(input.pm10Hourly) : undefined);
  if (pm25 !== undefined) put(sub, 'pm25', vnAqiSubIndex('pm25', pm25));
  if (pm10 !== undefined) put(sub, 'pm10', vnAqiSubIndex('pm10', pm10));
  if (input.o3 !== undefined) put(sub, 'o3', vnAqiSubIndex('o3_1h', input.o3));
  if (input.no2 !== undefined) put(sub, 'no2', vnAqiSubIndex('no2', input.no2));
  if (input.so2 !== undefined) put(sub, 'so2', vnAqiSubIndex('so2', input.so2));
  if (input.co !== undefined) put(sub, 'co', vnAqiSubIndex('co', input.co));
  return combine(sub);
}

export interface VnAqiDailyInput {
  /** 24-hour means, µg/m³. */
  readonly pm25Mean24h?: number;
  readonly pm10Mean24h?: number;
  /** The day's highest 1-hour means, µg/m³. */
  readonly so2Max1h?: number;
  readonly no2Max1h?: number;
  readonly coMax1h?: number;
  readonly o3Max1h?: number;
  /** The day's highest 8-hour mean of O₃, µg/m³. */
  readonly o3Max8h?: number;
}

/**
 * Daily VN_AQI: PM from the 24h mean; SO₂, NO₂, CO from the day's highest 1h mean; O₃ the larger
 * of the 1h-branch and the 8h-branch index (the 8h branch is dropped above 400 µg/m³).
 */
export function vnAqiDaily(input: VnAqiDailyInput): VnAqiResult {
  const sub: Partial<Record<VnAqiPollutant, number>> = {};
  if (input.pm25Mean24h !== undefined) put(sub, 'pm25', vnAqiSubIndex('pm25', input.pm25Mean24h));
  if (input.pm10Mean24h !== undefined) put(sub, 'pm10', vnAqiSubIndex('pm10', input.pm10Mean24h));
  if (input.so2Max1h !== undefined) put(sub, 'so2', vnAqiSubIndex('so2', input.so2Max1h));
  if (input.no2Max1h !== undefined) put(sub, 'no2', vnAqiSubIndex('no2', input.no2Max1h));
  if (input.coMax1h !== undefined) put(sub, 'co', vnAqiSubIndex('co', input.coMax1h));
  const o3h = input.o3Max1h === undefined ? undefined : vnAqiSubIndex('o3_1h', input.o3Max1h);
  const o38 = input.o3Max8h === undefined ? undefined : vnAqiSubIndex('o3_8h', input.o3Max8h);
  const o3 = o3h === undefined ? o38 : o38 === undefined ? o3h : Math.max(o3h, o38);
  put(sub, 'o3', o3);
  return combine(sub);
}
