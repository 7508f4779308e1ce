// The limit lines drawn on a station chart: QCVN 05:2023 air limits (with their averaging window
// named), QCVN 08:2023 water limits of the station's class, and a river gauge's levels I/II/III.
import { PARAMETERS } from '../../../contracts/parameters.ts';
import { FLOOD_LEVEL_LABELS, FLOOD_LEVELS } from '../../../contracts/standards/flood.ts';
import { qcvn05Limit, type Qcvn05Parameter, type Qcvn05Window } from '../../../contracts/standards/qcvn05.ts';
import { QCVN08_PARAMETERS, qcvn08Limit, type Qcvn08Parameter } from '../../../contracts/standards/qcvn08.ts';
import type { Text } from '../i18n.ts';
import type { Station } from '../data/types.ts';

export interface LimitLine {
  readonly value: number;
  readonly label: Text;
  readonly colour: string;
}

/** The averaging window shown for each air parameter's limit (the shortest one regulated). */
const AIR_WINDOW: Readonly<Partial<Record<string, Qcvn05Window>>> = { pm25: '24h', pm10: '24h', no2: '1h', so2: '1h', o3: '1h', co: '1h' };
const WINDOW_TEXT: Readonly<Record<Qcvn05Window, Text>> = {
  '1h': { vi: 'TB 1 giờ', en: '1-h mean' },
  '8h': { vi: 'TB 8 giờ', en: '8-h mean' },
  '24h': { vi: 'TB 24 giờ', en: '24-h mean' },
  year: { vi: 'TB năm', en: 'annual mean' },
};
const LEVEL_COLOURS = ['#f9a825', '#ef6c00', '#c62828'];

export function limitLines(station: Station, parameter: string, atMs: number): LimitLine[] {
  const unit = (PARAMETERS[station.kind] as Record<string, { unit: string } | undefined>)[parameter]?.unit ?? '';
  if (station.kind === 'air') {
    const window = AIR_WINDOW[parameter];
    const limit = window ? qcvn05Limit(parameter as Qcvn05Parameter, window, atMs) : undefined;
    if (!window || limit === undefined) return [];
    const w = WINDOW_TEXT[window];
    return [{ value: limit, colour: '#c62828', label: { vi: `QCVN 05:2023, ${w.vi}: ${limit} ${unit}`, en: `QCVN 05:2023, ${w.en}: ${limit} ${unit}` } }];
  }
  if (station.kind === 'water' && (QCVN08_PARAMETERS as readonly string[]).includes(parameter)) {
    const l = qcvn08Limit(station.waterClass, parameter as Qcvn08Parameter);
    if (!l) return [];
    const out: LimitLine[] = [];
    const cls = `QCVN 08:2023 ${station.waterClass}`;
    if (l.min !== undefined) out.push({ value: l.min, colour: '#c62828', label: { vi: `${cls}, tối thiểu ${l.min}`, en: `${cls}, minimum ${l.min}` } });
    if (l.max !== undefined) out.push({ value: l.max, colour: '#c62828', label: { vi: `${cls}, tối đa ${l.max}`, en: `${cls}, maximum ${l.max}` } });
    return out;
  }
  if (station.kind === 'flood' && station.floodType === 'river' && parameter === 'level_m') {
    return FLOOD_LEVELS.map((lv, i) => ({
      value: station.levelsM[lv],
      colour: LEVEL_COLOURS[i] as string,
      label: { vi: `${FLOOD_LEVEL_LABELS[lv].vi}: ${station.levelsM[lv]} m`, en: `${FLOOD_LEVEL_LABELS[lv].en}: ${station.levelsM[lv]} m` },
    }));
  }
  return [];
}

/** The parameter a station's page charts first. */
export function primaryParameter(station: Station): string {
  switch (station.kind) {
    case 'air':
      return 'pm25';
    case 'water':
      return 'do_mgl';
    case 'rain':
      return 'rain_mm';
    case 'flood':
      return station.floodType === 'river' ? 'level_m' : 'depth_cm';
  }
}
