// docs/standards.md and the code's tables cannot drift: every table marked `<!-- table: id -->` is
// parsed from the markdown and compared with the constant the code computes with.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRegistry, RegistrySchema } from '../../../contracts/stations.ts';
import { QCVN05_LIMITS, QCVN05_PARAMETERS, QCVN05_WINDOWS, qcvn05Limit, PM25_24H_TIGHTENS_AT_MS } from '../../../contracts/standards/qcvn05.ts';
import { QCVN08_LIMITS, WATER_CLASSES } from '../../../contracts/standards/qcvn08.ts';
import {
  HANOI_HOTSPOTS_UPPER_2H_MM,
  HANOI_STREET_FLOOD_2H_MM,
  RAIN_CATEGORIES,
  RAIN_CATEGORY_LABELS,
  RAIN_RISK_LEVEL1_MM,
  rainCategoryEdgeText,
} from '../../../contracts/standards/rain.ts';
import { US_AQI_BREAKPOINTS, usNowCast, type UsAqiTable } from '../../../contracts/standards/us-aqi.ts';
import { VN_AQI_BANDS, VN_AQI_BREAKPOINTS, VN_AQI_INDEX_STEPS, nowCast, nowCastWeight } from '../../../contracts/standards/vn-aqi.ts';
import { loadRules } from '../../../ingest/alerts/rules.ts';
import { WARDS } from '../../../contracts/registry/generate-stations.ts';

const DOC = readFileSync(new URL('../../../docs/standards.md', import.meta.url), 'utf8');

/** The body rows of the markdown table after `<!-- table: id -->`, as trimmed cells. */
function table(id: string): string[][] {
  const at = DOC.indexOf(`<!-- table: ${id} -->`);
  if (at < 0) throw new Error(`docs/standards.md has no table "${id}"`);
  const lines = DOC.slice(at).split('\n').slice(1);
  const rows: string[][] = [];
  for (const line of lines.slice(lines[0]?.trim() === '' ? 1 : 0)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows.slice(2); // header and separator
}

const num = (cell: string): number | undefined => (cell === '–' ? undefined : Number(cell.replace(/[^\d.]/g, '')));
/** "a–b" → [a, b]. */
const range = (cell: string): [number, number] => {
  const [a, b] = cell.split('–').map((x) => Number(x.trim()));
  return [a as number, b as number];
};

describe('docs/standards.md equals the code', () => {
  it('VN_AQI bands', () => {
    expect(table('vn-aqi-bands')).toEqual(VN_AQI_BANDS.map((b) => [`${b.min}–${b.max}`, b.label.vi, b.label.en, b.colour.name, b.colour.rgb.join(',')]));
  });

  it('VN_AQI breakpoints', () => {
    const cols = ['o3_1h', 'o3_8h', 'co', 'so2', 'no2', 'pm10', 'pm25'] as const;
    const rows = table('vn-aqi-breakpoints');
    expect(rows.map((r) => Number(r[0]))).toEqual([...VN_AQI_INDEX_STEPS]);
    cols.forEach((c, j) => {
      const column = rows.map((r) => num(r[j + 1] as string)).filter((v) => v !== undefined);
      expect(column, c).toEqual([...VN_AQI_BREAKPOINTS[c]]);
    });
  });

  it('NowCast rules, as the code applies them', () => {
    const rules = Object.fromEntries(table('nowcast-rules').map((r) => [r[0], { vn: r[1] as string, us: r[2] as string }]));
    const floor = Number(rules['Weight floor']?.vn);
    expect(Number(rules['Weight floor']?.us)).toBe(floor);
    expect(nowCastWeight(floor - 0.01)).toBe(floor);
    expect(nowCastWeight(floor + 0.01)).toBeCloseTo(floor + 0.01, 9);
    const needed = Number(rules['Valid when present, of the 3 latest hours']?.vn);
    expect(Number(rules['Valid when present, of the 3 latest hours']?.us)).toBe(needed);
    const latest = (present: number) => Array.from({ length: 3 }, (_, i) => (i < present ? 10 : undefined));
    expect(nowCast(latest(needed))).toBeDefined();
    expect(nowCast(latest(needed - 1))).toBeUndefined();
    expect(usNowCast(latest(needed), 'pm25')).toBeDefined();
    expect(usNowCast(latest(needed - 1), 'pm25')).toBeUndefined();
    const step25 = Number(rules['Truncation of the result, PM2.5 (µg/m³)']?.us);
    const step10 = Number(rules['Truncation of the result, PM10 (µg/m³)']?.us);
    expect(usNowCast([12.37, 12.37], 'pm25')).toBeCloseTo(Math.floor(12.37 / step25) * step25, 9);
    expect(usNowCast([12.97, 12.97], 'pm10')).toBe(Math.floor(12.97 / step10) * step10);
    expect(rules['Truncation of the result, PM2.5 (µg/m³)']?.vn).toBe('none');
    expect(nowCast([12.37, 12.37])).toBeCloseTo(12.37, 9);
  });

  for (const [id, key] of [['us-aqi-2012', 'US_EPA_2012'], ['us-aqi-2024', 'US_EPA_2024']] as const satisfies readonly (readonly [string, UsAqiTable])[]) {
    it(`US AQI ${key}`, () => {
      const segs = (p: 'pm25' | 'pm10') => US_AQI_BREAKPOINTS[key][p].map((s) => ({ i: [s.iLo, s.iHi], c: [s.cLo, s.cHi] }));
      const rows = table(id);
      expect(rows.map((r) => ({ i: range(r[0] as string), c: range(r[1] as string) }))).toEqual(segs('pm25'));
      expect(rows.map((r) => ({ i: range(r[0] as string), c: range(r[2] as string) }))).toEqual(segs('pm10'));
    });
  }

  it('QCVN 05:2023 limits, annual included, and the PM2.5 24 h tightening', () => {
    const names: Record<string, string> = { 'SO₂': 'so2', CO: 'co', 'NO₂': 'no2', 'O₃': 'o3', TSP: 'tsp', PM10: 'pm10', 'PM2.5': 'pm25' };
    const rows = table('qcvn05');
    expect(rows.map((r) => names[r[0] as string])).toEqual([...QCVN05_PARAMETERS]);
    for (const r of rows) {
      const p = names[r[0] as string] as (typeof QCVN05_PARAMETERS)[number];
      const fromDoc = Object.fromEntries(QCVN05_WINDOWS.flatMap((w, j) => (num((r[j + 1] as string).split(' ')[0] as string) === undefined ? [] : [[w, num((r[j + 1] as string).split(' ')[0] as string)]])));
      expect(fromDoc, p).toEqual(QCVN05_LIMITS[p]);
    }
    const later = /\((\d+) from (\d{4}-\d{2}-\d{2})\)/.exec(rows.find((r) => r[0] === 'PM2.5')?.[3] ?? '');
    expect(later).not.toBeNull();
    expect(Date.parse(`${later![2]}T00:00:00+07:00`)).toBe(PM25_24H_TIGHTENS_AT_MS);
    expect(qcvn05Limit('pm25', '24h', PM25_24H_TIGHTENS_AT_MS)).toBe(Number(later![1]));
  });

  it('QCVN 08:2023 classes', () => {
    const cols = ['ph', 'bod5_mgl', 'cod_mgl', 'tss_mgl', 'do_mgl', 'nh4_mgl'] as const;
    const cell = (c: string) => {
      if (c === '–') return undefined;
      const unsure = c.includes('(unsure)') ? { unsure: true } : {};
      const v = c.replace('(unsure)', '').trim();
      if (v.includes('–')) return { min: range(v)[0], max: range(v)[1], ...unsure };
      if (v.startsWith('≤')) return { max: Number(v.slice(1)), ...unsure };
      return { min: Number(v.slice(1)), ...unsure };
    };
    const rows = table('qcvn08');
    expect(rows.map((r) => r[0])).toEqual([...WATER_CLASSES]);
    for (const r of rows) {
      const fromDoc = Object.fromEntries(cols.flatMap((p, j) => (cell(r[j + 1] as string) ? [[p, cell(r[j + 1] as string)]] : [])));
      expect(fromDoc, r[0]).toEqual(QCVN08_LIMITS[r[0] as 'A']);
    }
  });

  it('flood levels of Decision 05/2020 for the five gauges of the registry', () => {
    const registry = createRegistry(RegistrySchema.parse(JSON.parse(readFileSync(new URL('../../../contracts/stations.json', import.meta.url), 'utf8'))));
    const gauges = registry.stations.filter((s) => s.kind === 'flood' && s.floodType === 'river');
    const rows = table('flood-levels');
    expect(rows.map((r) => r[0]).sort()).toEqual(gauges.map((g) => g.id).sort());
    for (const r of rows) {
      const g = registry.get(r[0] as string);
      expect(g && 'levelsM' in g ? g.levelsM : undefined, r[0]).toEqual({ I: Number(r[2]), II: Number(r[3]), III: Number(r[4]) });
    }
  });

  it('rain categories (the one table of categories and rain alerts)', () => {
    expect(table('rain-categories')).toEqual(RAIN_CATEGORIES.map((c) => [c, RAIN_CATEGORY_LABELS[c].vi, rainCategoryEdgeText(c, '12h'), rainCategoryEdgeText(c, '24h')]));
  });

  it('Hanoi rain thresholds, risk level 1 and the operator-set alert levels', () => {
    const value = Object.fromEntries(table('hanoi-rain-thresholds').map((r) => [r[0], (r[1] as string).split(',').map((x) => Number(x))]));
    expect(value['Heavy-rain risk level 1 from, 12 h (mm)']).toEqual([RAIN_RISK_LEVEL1_MM['12h']]);
    expect(value['Heavy-rain risk level 1 from, 24 h (mm)']).toEqual([RAIN_RISK_LEVEL1_MM['24h']]);
    expect(value['Street flooding at hotspots from, 2 h (mm)']).toEqual([HANOI_STREET_FLOOD_2H_MM]);
    expect(value['Widespread flooding above, 2 h (mm)']).toEqual([HANOI_HOTSPOTS_UPPER_2H_MM]);
    const rules = loadRules().rules;
    const setsOf = (id: string) => {
      const r = rules.find((x) => x.id === id);
      return r && 'levels' in r ? r.levels.map((l) => ('set' in l ? l.set : undefined)) : [];
    };
    expect(setsOf('flood-street-depth')).toEqual(value['Street-flood depth alert levels (cm)']);
    expect(setsOf('rain-1h')).toEqual(value['Intense rain alert, 1 h (mm)']);
    expect(setsOf('rain-3h')).toEqual(value['Heavy rain alert, 3 h (mm)']);
    expect(setsOf('rain-2h-hanoi')).toEqual([HANOI_STREET_FLOOD_2H_MM, HANOI_HOTSPOTS_UPPER_2H_MM]);
  });

  it('the 51 wards of the registry', () => {
    const text = /The 51 wards: ([^]*?)\.\n/.exec(DOC)?.[1] ?? '';
    const names = text.replace(/\s+/g, ' ').split(', ').map((n) => n.trim());
    expect(names).toHaveLength(51);
    expect(names).toEqual(WARDS.map((w) => w.ward));
  });
});
