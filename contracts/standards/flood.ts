// River flood alert levels of Decision 05/2020/QĐ-TTg: level I least dangerous, III most. Helpers
// over a gauge's levels in metres (the station registry carries them as `levelsM`).

export const FLOOD_LEVELS = ['I', 'II', 'III'] as const;
export type FloodLevel = (typeof FLOOD_LEVELS)[number];

export interface FloodLevelsM {
  readonly I: number;
  readonly II: number;
  readonly III: number;
}

export const FLOOD_LEVEL_LABELS: Readonly<Record<FloodLevel, { readonly vi: string; readonly en: string }>> = {
  I: { vi: 'Báo động I', en: 'Alert level I' },
  II: { vi: 'Báo động II', en: 'Alert level II' },
  III: { vi: 'Báo động III', en: 'Alert level III' },
};

/** The highest level the water has reached (value ≥ threshold), or undefined below level I. */
export function floodLevelAt(levels: FloodLevelsM, levelM: number): FloodLevel | undefined {
  let reached: FloodLevel | undefined;
  for (const l of FLOOD_LEVELS) if (levelM >= levels[l]) reached = l;
  return reached;
}

/** The next level above the current water level and its threshold, or undefined above III. */
export function nextFloodLevel(levels: FloodLevelsM, levelM: number): { level: FloodLevel; thresholdM: number } | undefined {
  for (const l of FLOOD_LEVELS) if (levelM < levels[l]) return { level: l, thresholdM: levels[l] };
  return undefined;
}

/** Metres above (positive) or below (negative) a given level. */
export function marginToLevelM(levels: FloodLevelsM, level: FloodLevel, levelM: number): number {
  return levelM - levels[level];
}
