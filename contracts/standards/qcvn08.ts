// Surface-water limits of QCVN 08:2023/BTNMT (rivers, streams, canals; classes A best … D worst).
// Cells marked `unsure` could not be read cleanly (docs/standards.md §5): callers pass overrides.

export const WATER_CLASSES = ['A', 'B', 'C', 'D'] as const;
export type WaterClass = (typeof WATER_CLASSES)[number];

/** Parameters with a class limit, named as in contracts/parameters.ts (water kind). */
export const QCVN08_PARAMETERS = ['ph', 'bod5_mgl', 'cod_mgl', 'tss_mgl', 'do_mgl', 'nh4_mgl'] as const;
export type Qcvn08Parameter = (typeof QCVN08_PARAMETERS)[number];

/** An allowed range: a value below `min` or above `max` breaches it. */
export interface WaterLimit {
  readonly min?: number;
  readonly max?: number;
  /** The published value could not be read cleanly; deployments should confirm or override. */
  readonly unsure?: boolean;
}

export type WaterLimits = Readonly<Partial<Record<Qcvn08Parameter, WaterLimit>>>;

/** Human-health limit for ammonium (NH₄⁺ as N), all classes: 0.3 mg/L. */
export const NH4_LIMIT_MGL = 0.3;

/**
 * Limits per designated class. Class D is defined as "worse than C" (pH outside 6.0–8.5, BOD₅ > 10,
 * …): its cells describe the class, they are not limits, so only the NH₄⁺ health limit applies.
 * TSS of class C (> 100, no floating trash) likewise is not a numeric limit.
 * Total P / total N are in the table but not measured by any station kind yet.
 */
export const QCVN08_LIMITS: Readonly<Record<WaterClass, WaterLimits>> = {
  A: {
    ph: { min: 6.5, max: 8.5 },
    bod5_mgl: { max: 4 },
    cod_mgl: { max: 10 },
    tss_mgl: { max: 25 },
    do_mgl: { min: 6.0, unsure: true },
    nh4_mgl: { max: NH4_LIMIT_MGL },
  },
  B: {
    ph: { min: 6.0, max: 8.5 },
    bod5_mgl: { max: 6 },
    cod_mgl: { max: 15 },
    tss_mgl: { max: 100, unsure: true },
    do_mgl: { min: 5.0 },
    nh4_mgl: { max: NH4_LIMIT_MGL },
  },
  C: {
    ph: { min: 6.0, max: 8.5 },
    bod5_mgl: { max: 10 },
    cod_mgl: { max: 20 },
    do_mgl: { min: 4.0 },
    nh4_mgl: { max: NH4_LIMIT_MGL },
  },
  D: {
    nh4_mgl: { max: NH4_LIMIT_MGL },
  },
};

export type WaterLimitOverrides = Readonly<Partial<Record<WaterClass, Partial<Record<Qcvn08Parameter, WaterLimit>>>>>;

/** The limit of one parameter for a class, with deployment overrides applied (override wins). */
export function qcvn08Limit(
  waterClass: WaterClass,
  parameter: Qcvn08Parameter,
  overrides?: WaterLimitOverrides,
): WaterLimit | undefined {
  const override = overrides?.[waterClass]?.[parameter];
  if (override) return { ...override, unsure: false };
  return QCVN08_LIMITS[waterClass][parameter];
}

/** True when the value lies outside the allowed range. */
export function waterLimitBreached(limit: WaterLimit, value: number): boolean {
  return (limit.min !== undefined && value < limit.min) || (limit.max !== undefined && value > limit.max);
}
