// The measured parameters of each station kind: the gateway contract's names, units and the
// physical ranges outside which a value cannot be a real measurement (rejected as out_of_range).

export const STATION_KINDS = ['air', 'water', 'rain', 'flood'] as const;
export type StationKind = (typeof STATION_KINDS)[number];

export interface ParameterSpec {
  /** Unit as shown to people. */
  readonly unit: string;
  /** Lowest physically possible value (inclusive). */
  readonly min: number;
  /** Highest physically possible value (inclusive). */
  readonly max: number;
  readonly label: { readonly vi: string; readonly en: string };
}

const UG = 'µg/m³';

/**
 * Parameters by kind. The ranges are sensor/physics bounds, not regulatory limits: a PM2.5 of
 * 900 µg/m³ is hazardous but possible, a negative one is not.
 */
export const PARAMETERS = {
  air: {
    pm25: { unit: UG, min: 0, max: 1500, label: { vi: 'Bụi PM2.5', en: 'PM2.5' } },
    pm10: { unit: UG, min: 0, max: 3000, label: { vi: 'Bụi PM10', en: 'PM10' } },
    no2: { unit: UG, min: 0, max: 5000, label: { vi: 'NO₂', en: 'NO₂' } },
    so2: { unit: UG, min: 0, max: 5000, label: { vi: 'SO₂', en: 'SO₂' } },
    o3: { unit: UG, min: 0, max: 3000, label: { vi: 'O₃', en: 'O₃' } },
    co: { unit: UG, min: 0, max: 200000, label: { vi: 'CO', en: 'CO' } },
    temp_c: { unit: '°C', min: -10, max: 60, label: { vi: 'Nhiệt độ', en: 'Temperature' } },
    rh_pct: { unit: '%', min: 0, max: 100, label: { vi: 'Độ ẩm', en: 'Humidity' } },
  },
  water: {
    ph: { unit: '', min: 0, max: 14, label: { vi: 'pH', en: 'pH' } },
    do_mgl: { unit: 'mg/L', min: 0, max: 25, label: { vi: 'Oxy hòa tan (DO)', en: 'Dissolved oxygen' } },
    turbidity_ntu: { unit: 'NTU', min: 0, max: 4000, label: { vi: 'Độ đục', en: 'Turbidity' } },
    conductivity_uscm: { unit: 'µS/cm', min: 0, max: 100000, label: { vi: 'Độ dẫn điện', en: 'Conductivity' } },
    temp_c: { unit: '°C', min: 0, max: 50, label: { vi: 'Nhiệt độ nước', en: 'Water temperature' } },
    bod5_mgl: { unit: 'mg/L', min: 0, max: 1000, label: { vi: 'BOD₅', en: 'BOD₅' } },
    cod_mgl: { unit: 'mg/L', min: 0, max: 2000, label: { vi: 'COD', en: 'COD' } },
    tss_mgl: { unit: 'mg/L', min: 0, max: 5000, label: { vi: 'Chất rắn lơ lửng (TSS)', en: 'TSS' } },
    nh4_mgl: { unit: 'mg/L', min: 0, max: 500, label: { vi: 'Amoni (NH₄⁺ theo N)', en: 'Ammonium (as N)' } },
  },
  rain: {
    rain_mm: { unit: 'mm', min: 0, max: 500, label: { vi: 'Lượng mưa', en: 'Rainfall' } },
    interval_s: { unit: 's', min: 1, max: 86400, label: { vi: 'Chu kỳ đo', en: 'Interval' } },
  },
  flood: {
    level_m: { unit: 'm', min: -10, max: 40, label: { vi: 'Mực nước', en: 'Water level' } },
    depth_cm: { unit: 'cm', min: 0, max: 500, label: { vi: 'Độ sâu ngập', en: 'Flood depth' } },
  },
} as const satisfies Record<StationKind, Record<string, ParameterSpec>>;

export type ParameterName<K extends StationKind> = keyof (typeof PARAMETERS)[K] & string;

export function parameterSpec(kind: StationKind, name: string): ParameterSpec | undefined {
  const table: Record<string, ParameterSpec> = PARAMETERS[kind];
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** Parameters a reading of this kind must carry together (the rest are optional). */
export const REQUIRED_TOGETHER: Readonly<Record<StationKind, readonly string[]>> = {
  air: [],
  water: [],
  rain: ['rain_mm', 'interval_s'],
  flood: [],
};
