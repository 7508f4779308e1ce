// The air-quality index a marker shows, on one scale at a time: VN_AQI (default) or US EPA AQI.
// The server's index is used when it describes the latest reading; otherwise it is computed here
// with the same contracts/standards functions (the latest concentrations standing in for the
// NowCast / 1-hour means), and marked as indicative.
import { US_AQI_SCALE, usAqiPm10, usAqiPm25 } from '../../../contracts/standards/us-aqi.ts';
import { VN_AQI_ADVICE, VN_AQI_SENSITIVE_GROUPS, type HealthAdvice } from '../../../contracts/standards/vn-aqi-advice.ts';
import { VN_AQI_BANDS, vnAqiBand, vnAqiHourly, type VnAqiCategory } from '../../../contracts/standards/vn-aqi.ts';
import { PARAMETERS } from '../../../contracts/parameters.ts';
import type { Text } from '../i18n.ts';
import type { Latest, ServerAqi } from '../data/types.ts';

export type Scale = 'vn' | 'us';

export interface Band {
  readonly category: string;
  readonly min: number;
  readonly max: number;
  readonly label: Text;
  readonly rgb: readonly [number, number, number];
}

/** US EPA categories (AirNow). Same six colours as VN_AQI, different names and meaning. */
export const US_AQI_BANDS: readonly Band[] = [
  { category: 'good', min: 0, max: 50, label: { vi: 'Tốt', en: 'Good' }, rgb: [0, 228, 0] },
  { category: 'moderate', min: 51, max: 100, label: { vi: 'Trung bình', en: 'Moderate' }, rgb: [255, 255, 0] },
  { category: 'usg', min: 101, max: 150, label: { vi: 'Có hại cho nhóm nhạy cảm', en: 'Unhealthy for sensitive groups' }, rgb: [255, 126, 0] },
  { category: 'unhealthy', min: 151, max: 200, label: { vi: 'Có hại cho sức khỏe', en: 'Unhealthy' }, rgb: [255, 0, 0] },
  { category: 'very_unhealthy', min: 201, max: 300, label: { vi: 'Rất có hại', en: 'Very unhealthy' }, rgb: [143, 63, 151] },
  { category: 'hazardous', min: 301, max: 500, label: { vi: 'Nguy hại', en: 'Hazardous' }, rgb: [126, 0, 35] },
];

export const VN_BANDS: readonly Band[] = VN_AQI_BANDS.map((b) => ({ category: b.category, min: b.min, max: b.max, label: b.label, rgb: b.colour.rgb }));

export const bandsOf = (scale: Scale): readonly Band[] => (scale === 'vn' ? VN_BANDS : US_AQI_BANDS);

export const SCALE_NAME: Readonly<Record<Scale, Text>> = {
  vn: { vi: 'VN_AQI', en: 'VN_AQI' },
  us: { vi: US_AQI_SCALE.label.vi, en: US_AQI_SCALE.label.en },
};

export interface AirIndex {
  readonly scale: Scale;
  readonly value: number;
  readonly band: Band;
  /** Parameter name (pm25, pm10, o3, ...). */
  readonly dominant: string;
  /** Computed in the browser from the latest reading rather than by the server. */
  readonly indicative: boolean;
}

function bandOf(scale: Scale, value: number): Band {
  if (scale === 'vn') {
    const b = vnAqiBand(value);
    return VN_BANDS.find((x) => x.category === b.category) as Band;
  }
  const v = Math.min(500, Math.max(0, Math.round(value)));
  return US_AQI_BANDS.find((b) => v <= b.max) ?? (US_AQI_BANDS[5] as Band);
}

/** Index of a set of concentrations (µg/m³), computed in the browser. */
export function computeIndex(scale: Scale, values: Readonly<Record<string, number>>): AirIndex | undefined {
  if (scale === 'vn') {
    const r = vnAqiHourly({ pm25NowCast: values.pm25, pm10NowCast: values.pm10, o3: values.o3, no2: values.no2, so2: values.so2, co: values.co });
    return r.ok ? { scale, value: r.aqi, band: bandOf(scale, r.aqi), dominant: r.dominant, indicative: true } : undefined;
  }
  const pm25 = values.pm25 === undefined ? undefined : usAqiPm25(values.pm25);
  const pm10 = values.pm10 === undefined ? undefined : usAqiPm10(values.pm10);
  if (pm25 === undefined && pm10 === undefined) return undefined;
  const [value, dominant] = (pm25 ?? -1) >= (pm10 ?? -1) ? [pm25 as number, 'pm25'] : [pm10 as number, 'pm10'];
  return { scale, value, band: bandOf(scale, value), dominant, indicative: true };
}

/** The server's index when it is for this scale and complete, else undefined. */
export function fromServer(scale: Scale, aqi: ServerAqi | null | undefined): AirIndex | undefined {
  if (!aqi || aqi.value === null || aqi.value === undefined) return undefined;
  const isUs = /us/i.test(aqi.scale);
  if (isUs !== (scale === 'us')) return undefined;
  return { scale, value: aqi.value, band: bandOf(scale, aqi.value), dominant: aqi.dominant ?? 'pm25', indicative: false };
}

export function airIndex(scale: Scale, latest: Latest | null, server: ServerAqi | null | undefined, serverForTs: string | undefined): AirIndex | undefined {
  if (!latest) return undefined;
  // A reading taken while the station calibrates or is faulty changes no index (the server leaves
  // it out too): the server's index from the usable readings stands, whatever reading it was for.
  if (latest.status !== undefined && latest.status !== 'measuring') return fromServer(scale, server);
  if (serverForTs === latest.ts) {
    const s = fromServer(scale, server);
    if (s) return s;
  }
  return computeIndex(scale, usableValues(latest));
}

/**
 * The values an index may use: not those that failed QC (flag 4) nor those an officer marked
 * invalid. The rule of isUsable() in contracts/quality.ts, restated here so the portal bundle does
 * not load that module's zod schemas.
 */
function usableValues(latest: Latest): Readonly<Record<string, number>> {
  if (!latest.quality && !latest.excluded) return latest.values;
  const out: Record<string, number> = {};
  for (const [p, v] of Object.entries(latest.values)) if (latest.quality?.[p]?.flag !== 4 && !latest.excluded?.includes(p)) out[p] = v;
  return out;
}

/** Health advice (VN_AQI only: the decision's advice table is tied to its own categories). */
export function advice(index: AirIndex): HealthAdvice | undefined {
  return index.scale === 'vn' ? VN_AQI_ADVICE[index.band.category as VnAqiCategory] : undefined;
}

export const SENSITIVE_GROUPS: Text = VN_AQI_SENSITIVE_GROUPS;

export function pollutantLabel(name: string): Text {
  const spec = (PARAMETERS.air as Record<string, { label: Text } | undefined>)[name];
  return spec?.label ?? { vi: name, en: name };
}

export const rgbCss = (rgb: readonly [number, number, number]): string => `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;

/** Dark text on the light bands, white on the dark ones (WCAG contrast). */
export const textOn = (rgb: readonly [number, number, number]): string => (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140 ? '#111' : '#fff');
