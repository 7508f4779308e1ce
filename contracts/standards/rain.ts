// Rainfall: the national forecasting terms per 12 h / 24 h, the heavy-rain risk level 1 of Decision
// 18/2021/QĐ-TTg, and Hanoi's street-flooding band (~50 mm in 2 h; an operator statement, not law).

export const RAIN_CATEGORIES = ['light', 'rain', 'moderate', 'heavy', 'very_heavy'] as const;
export type RainCategory = (typeof RAIN_CATEGORIES)[number];
export type RainPeriod = '12h' | '24h';

export const RAIN_CATEGORY_LABELS: Readonly<Record<RainCategory, { readonly vi: string; readonly en: string }>> = {
  light: { vi: 'Mưa nhỏ', en: 'Light rain' },
  rain: { vi: 'Mưa', en: 'Rain' },
  moderate: { vi: 'Mưa vừa', en: 'Moderate rain' },
  heavy: { vi: 'Mưa to', en: 'Heavy rain' },
  very_heavy: { vi: 'Mưa rất to', en: 'Very heavy rain' },
};

export interface RainCategoryEdge {
  readonly category: RainCategory;
  /** The category starts above (or, when inclusive, at) this accumulation, mm. */
  readonly aboveMm: number;
  readonly inclusive: boolean;
}

/**
 * Lower edges (mm) of each category after `light`: the one source of the rain terms, used by
 * rainCategory() and by the rain alert rules (a rule level names its category, never a number).
 * The published ranges touch or leave gaps (12 h: 3–8, 8–25, 25–50, >50; 24 h: 6–15, 16–50,
 * 51–100, >100): a shared edge belongs to the lower category, a gap's upper side to the higher
 * one — so 25 mm/12 h is still moderate, 50.5 mm/24 h already heavy, 100 mm/24 h still heavy.
 */
export const RAIN_CATEGORY_EDGES: Readonly<Record<RainPeriod, readonly RainCategoryEdge[]>> = {
  '12h': [
    { category: 'rain', aboveMm: 3, inclusive: true },
    { category: 'moderate', aboveMm: 8, inclusive: false },
    { category: 'heavy', aboveMm: 25, inclusive: false },
    { category: 'very_heavy', aboveMm: 50, inclusive: false },
  ],
  '24h': [
    { category: 'rain', aboveMm: 6, inclusive: true },
    { category: 'moderate', aboveMm: 15, inclusive: false },
    { category: 'heavy', aboveMm: 50, inclusive: false },
    { category: 'very_heavy', aboveMm: 100, inclusive: false },
  ],
};

const passes = (mm: number, e: RainCategoryEdge) => (e.inclusive ? mm >= e.aboveMm : mm > e.aboveMm);

/** The forecasting term for an accumulation over 12 h or 24 h. */
export function rainCategory(accumulationMm: number, period: RainPeriod): RainCategory {
  let category: RainCategory = 'light';
  for (const e of RAIN_CATEGORY_EDGES[period]) if (passes(accumulationMm, e)) category = e.category;
  return category;
}

/** True when the accumulation is in `category` or a heavier one. */
export function reachesRainCategory(accumulationMm: number, category: RainCategory, period: RainPeriod): boolean {
  return RAIN_CATEGORIES.indexOf(rainCategory(accumulationMm, period)) >= RAIN_CATEGORIES.indexOf(category);
}

/** The lower edge of a category as text, e.g. "> 25 mm" (light: "≥ 0 mm"). */
export function rainCategoryEdgeText(category: RainCategory, period: RainPeriod): string {
  const e = RAIN_CATEGORY_EDGES[period].find((x) => x.category === category);
  return e ? `${e.inclusive ? '≥' : '>'} ${e.aboveMm} mm` : '≥ 0 mm';
}

/** Decision 18/2021/QĐ-TTg heavy-rain risk level 1 starts at 100 mm/24 h or 50 mm/12 h. */
export const RAIN_RISK_LEVEL1_MM: Readonly<Record<RainPeriod, number>> = { '12h': 50, '24h': 100 };

/** Colours of risk levels 1–5 (Decision 18/2021). */
export const RAIN_RISK_COLOURS = ['light blue', 'light yellow', 'orange', 'red', 'purple'] as const;

/**
 * True when an accumulation reaches at least heavy-rain risk level 1. Higher levels also depend on
 * the area and duration, which this project does not model: callers get "≥ 1", not the level.
 */
export function reachesRainRiskLevel1(accumulationMm: number, period: RainPeriod): boolean {
  return accumulationMm >= RAIN_RISK_LEVEL1_MM[period];
}

/** Hanoi drainage operator: under ~50 mm in 2 h no street flooding; 50–100 mm floods hotspots. */
export const HANOI_STREET_FLOOD_2H_MM = 50;
export const HANOI_HOTSPOTS_UPPER_2H_MM = 100;

export type HanoiStreetFloodBand = 'none' | 'hotspots' | 'beyond';

/** The soft band of a 2-hour accumulation: none (< 50), hotspots (50–100), beyond (> 100). */
export function hanoiStreetFloodBand(accumulation2hMm: number): HanoiStreetFloodBand {
  if (accumulation2hMm < HANOI_STREET_FLOOD_2H_MM) return 'none';
  return accumulation2hMm <= HANOI_HOTSPOTS_UPPER_2H_MM ? 'hotspots' : 'beyond';
}
