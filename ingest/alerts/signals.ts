// Rules compiled into signals: what each rule measures from a station's rolling windows, and the
// levels it is judged against (from the rules file, the station registry and the standards).
import type { Forecast } from '../../contracts/alerts.ts';
import type { Reading } from '../../contracts/reading.ts';
import type { Station } from '../../contracts/stations.ts';
import { FLOOD_LEVEL_LABELS, FLOOD_LEVELS, nextFloodLevel } from '../../contracts/standards/flood.ts';
import { QCVN05_WINDOW_MS, qcvn05Limit } from '../../contracts/standards/qcvn05.ts';
import { qcvn08Limit, type WaterLimitOverrides } from '../../contracts/standards/qcvn08.ts';
import { RAIN_CATEGORY_LABELS, rainCategoryEdgeText, reachesRainCategory } from '../../contracts/standards/rain.ts';
import { vnAqiHourly } from '../../contracts/standards/vn-aqi.ts';
import { PARAMETERS } from '../../contracts/parameters.ts';
import { aboveLevel, belowLevel, fmt, level, type CompiledLevel } from './levels.ts';
import { timeToReach, trend } from './regression.ts';
import type { Rule, RulesFile } from './rules.ts';
import type { BucketWindow, SampleWindow } from './windows.ts';

const HOUR_MS = 3_600_000;
/** Resolution of rolling means and sums. */
export const BUCKET_MS = 300_000;
/** A rolling mean is judged only once data covers this share of its window (75 %, the usual data-capture rule). */
export const MIN_COVERAGE = 0.75;

export interface WindowSpec {
  readonly key: string;
  readonly parameter: string;
  readonly type: 'buckets' | 'samples';
  readonly windowMs: number;
  readonly bucketMs: number;
}

export interface StationWindows {
  readonly buckets: Map<string, BucketWindow>;
  readonly samples: Map<string, SampleWindow>;
}

export interface Measurement {
  readonly value: number;
  readonly forecast?: Forecast | null;
}

export interface Signal {
  readonly rule: Rule;
  readonly measure: { readonly vi: string; readonly en: string };
  readonly unit: string;
  /** Which way is worse (for the peak value). */
  readonly worse: 'higher' | 'lower';
  readonly windows: readonly WindowSpec[];
  appliesTo(station: Station): boolean;
  /** The value after `reading`, or undefined when the data do not allow judging yet. */
  evaluate(station: Station, windows: StationWindows, reading: Reading): Measurement | undefined;
  /** Levels for this station at this time (empty: the rule does not apply, e.g. no limit). */
  levels(station: Station, atMs: number): readonly CompiledLevel[];
}

const buckets = (parameter: string, windowMs: number, bucketMs = BUCKET_MS): WindowSpec => ({
  key: `${parameter}:${windowMs}:${bucketMs}`, parameter, type: 'buckets', windowMs, bucketMs: Math.min(bucketMs, windowMs),
});
const samples = (parameter: string, windowMs: number): WindowSpec => ({
  key: `${parameter}:samples:${windowMs}`, parameter, type: 'samples', windowMs, bucketMs: 0,
});
/** Clock-hour means for NowCast: 12 buckets of one hour, c₁ = the current hour so far. */
const hourly = (parameter: string): WindowSpec => buckets(parameter, 12 * HOUR_MS, HOUR_MS);

function rollingMean(w: StationWindows, spec: WindowSpec): number | undefined {
  const win = w.buckets.get(spec.key);
  if (!win || win.coveredMs < MIN_COVERAGE * spec.windowMs) return undefined;
  return win.mean;
}

const forStations = (rule: Rule, s: Station) => (rule.stations ? rule.stations.includes(s.id) : true);
const unitOf = (kind: keyof typeof PARAMETERS, p: string): string => (PARAMETERS[kind] as Record<string, { unit: string }>)[p]?.unit ?? '';
const labelOf = (kind: keyof typeof PARAMETERS, p: string) =>
  (PARAMETERS[kind] as Record<string, { label: { vi: string; en: string } }>)[p]?.label ?? { vi: p, en: p };

/** Compiles every enabled rule of a validated file. */
export function compileRules(file: RulesFile): Signal[] {
  return file.rules.filter((r) => r.enabled).map((r) => compile(r, file.qcvn08Overrides));
}

function absoluteLevels(rule: Rule & { levels: readonly { key: string; label: { vi: string; en: string }; severity: 'minor' | 'moderate' | 'severe' | 'extreme'; set: number; clear: number }[] }, unit: string, direction: 'above' | 'below' = 'above'): readonly CompiledLevel[] {
  return rule.levels.map((l, i) => (direction === 'above' ? aboveLevel(i, l, unit) : belowLevel(i, l, unit)));
}

/** Numeric levels, or levels that start where a national rain category starts (rain.ts edges). */
function rainLevels(rule: Extract<Rule, { signal: 'rain_accumulation' }>): readonly CompiledLevel[] {
  const period = rule.windowH === 12 ? '12h' : '24h';
  return rule.levels.map((l, i) => {
    const { category } = l;
    if (category === undefined) return aboveLevel(i, { ...l, set: l.set as number }, 'mm');
    const text = `${rainCategoryEdgeText(category, period)} (${RAIN_CATEGORY_LABELS[category].vi}, ${period})`;
    return level(i, l.key, l.label, l.severity, text, (v) => reachesRainCategory(v, category, period), (v) => v >= l.clear);
  });
}

function compile(rule: Rule, overrides: WaterLimitOverrides): Signal {
  switch (rule.signal) {
    case 'vn_aqi_hourly': {
      const gases = ['o3', 'no2', 'so2', 'co'] as const;
      const gasSpecs = Object.fromEntries(gases.map((g) => [g, buckets(g, HOUR_MS)])) as Record<(typeof gases)[number], WindowSpec>;
      const pm = { pm25: hourly('pm25'), pm10: hourly('pm10') };
      const lv = absoluteLevels(rule, '');
      const series = (w: StationWindows, spec: WindowSpec) => {
        const win = w.buckets.get(spec.key);
        if (!win) return undefined;
        const out: (number | undefined)[] = new Array(12);
        for (let i = 0; i < 12; i++) out[i] = win.bucketMean(i);
        return out;
      };
      return {
        rule, measure: { vi: 'VN_AQI giờ', en: 'Hourly VN_AQI' }, unit: '', worse: 'higher',
        windows: [...Object.values(gasSpecs), pm.pm25, pm.pm10],
        appliesTo: (s) => s.kind === 'air' && forStations(rule, s),
        evaluate: (_s, w) => {
          const r = vnAqiHourly({
            pm25Hourly: series(w, pm.pm25), pm10Hourly: series(w, pm.pm10),
            o3: rollingMean(w, gasSpecs.o3), no2: rollingMean(w, gasSpecs.no2),
            so2: rollingMean(w, gasSpecs.so2), co: rollingMean(w, gasSpecs.co),
          });
          return r.ok ? { value: r.aqi } : undefined;
        },
        levels: () => lv,
      };
    }
    case 'qcvn05': {
      const windowMs = QCVN05_WINDOW_MS[rule.window];
      const spec = buckets(rule.parameter, windowMs);
      const unit = 'µg/m³';
      const byLimit = new Map<number, readonly CompiledLevel[]>();
      return {
        rule, unit, worse: 'higher', windows: [spec],
        measure: { vi: `${labelOf('air', rule.parameter).vi} trung bình ${rule.window}`, en: `${labelOf('air', rule.parameter).en} ${rule.window} mean` },
        appliesTo: (s) => s.kind === 'air' && forStations(rule, s),
        evaluate: (_s, w) => {
          const mean = rollingMean(w, spec);
          return mean === undefined ? undefined : { value: mean };
        },
        // The limit depends on the date only (PM2.5 24 h tightens in 2026): levels are built once per limit.
        levels: (_s, atMs) => {
          const limit = qcvn05Limit(rule.parameter, rule.window, atMs);
          if (limit === undefined) return [];
          let out = byLimit.get(limit);
          if (!out) {
            out = rule.levels.map((l, i) =>
              level(i, l.key, l.label, l.severity, `> ${fmt(l.set * limit)} ${unit} (QCVN 05:2023 ${rule.window})`, (v) => v > l.set * limit, (v) => v > l.clear * limit),
            );
            byLimit.set(limit, out);
          }
          return out;
        },
      };
    }
    case 'qcvn08': {
      const p = rule.parameter;
      const m = rule.clearMargin;
      const unit = unitOf('water', p);
      const cache = new Map<string, readonly CompiledLevel[]>();
      return {
        rule, unit, worse: p === 'do_mgl' ? 'lower' : 'higher', windows: [],
        measure: labelOf('water', p),
        appliesTo: (s) => s.kind === 'water' && forStations(rule, s),
        evaluate: (_s, _w, reading) => (reading.values[p] === undefined ? undefined : { value: reading.values[p] }),
        levels: (s) => {
          if (s.kind !== 'water') return [];
          const hit = cache.get(s.waterClass);
          if (hit) return hit;
          const lim = qcvn08Limit(s.waterClass, p, overrides);
          const lo = lim?.min ?? -Infinity;
          const hi = lim?.max ?? Infinity;
          const text =
            lim?.min !== undefined && lim.max !== undefined ? `< ${lo} | > ${hi}` : lim?.min !== undefined ? `< ${lo} ${unit}` : `> ${hi} ${unit}`;
          const out = lim
            ? [level(0, rule.level.key, rule.level.label, rule.level.severity, `${text} (QCVN 08:2023 ${s.waterClass})`, (v) => v < lo || v > hi, (v) => v < lo + m || v > hi - m)]
            : [];
          cache.set(s.waterClass, out);
          return out;
        },
      };
    }
    case 'threshold': {
      const spec = rule.windowS > 0 ? buckets(rule.parameter, rule.windowS * 1000) : undefined;
      const unit = unitOf(rule.kind, rule.parameter);
      const lv = absoluteLevels(rule, unit, rule.direction);
      return {
        rule, unit, worse: rule.direction === 'above' ? 'higher' : 'lower', windows: spec ? [spec] : [],
        measure: labelOf(rule.kind, rule.parameter),
        appliesTo: (s) => s.kind === rule.kind && (!rule.floodType || ('floodType' in s && s.floodType === rule.floodType)) && forStations(rule, s),
        evaluate: (_s, w, reading) => {
          if (spec) {
            const mean = rollingMean(w, spec);
            return mean === undefined ? undefined : { value: mean };
          }
          const v = reading.values[rule.parameter];
          return v === undefined ? undefined : { value: v };
        },
        levels: () => lv,
      };
    }
    case 'rain_accumulation': {
      const spec = buckets('rain_mm', rule.windowH * HOUR_MS);
      const lv = rainLevels(rule);
      return {
        rule, unit: 'mm', worse: 'higher', windows: [spec],
        measure: { vi: `Lượng mưa ${rule.windowH} giờ`, en: `Rainfall over ${rule.windowH} h` },
        appliesTo: (s) => s.kind === 'rain' && forStations(rule, s),
        evaluate: (_s, w) => {
          const win = w.buckets.get(spec.key);
          return win ? { value: Math.round(win.sum * 10) / 10 } : undefined;
        },
        levels: () => lv,
      };
    }
    case 'flood_level':
      return compileFloodLevel(rule);
    case 'rate_of_rise': {
      const spec = samples(rule.parameter, rule.windowS * 1000);
      const toCm = rule.parameter === 'level_m' ? 100 : 1;
      const lv = absoluteLevels(rule, 'cm/h');
      return {
        rule, unit: 'cm/h', worse: 'higher', windows: [spec],
        measure: { vi: 'Tốc độ nước lên', en: 'Rate of rise' },
        appliesTo: (s) => s.kind === 'flood' && (!rule.floodType || s.floodType === rule.floodType) && forStations(rule, s),
        evaluate: (_s, w, reading) => {
          if (reading.values[rule.parameter] === undefined) return undefined;
          const t = trend(w.samples.get(spec.key)?.points ?? [], rule.minPoints, rule.minSpanS);
          return t ? { value: Math.round(t.perHour * toCm * 10) / 10 } : undefined;
        },
        levels: () => lv,
      };
    }
    case 'silence': {
      const lv = absoluteLevels(rule, '');
      return {
        rule, unit: '', worse: 'higher', windows: [],
        measure: { vi: 'Số chu kỳ không có dữ liệu', en: 'Missed reporting intervals' },
        appliesTo: (s) => (!rule.kinds || rule.kinds.includes(s.kind)) && forStations(rule, s),
        // A reading ends the silence; tick() measures it (engine.ts).
        evaluate: () => ({ value: 0 }),
        levels: () => lv,
      };
    }
  }
}

function compileFloodLevel(rule: Extract<Rule, { signal: 'flood_level' }>): Signal {
  const spec = samples('level_m', rule.forecast.windowS * 1000);
  const cache = new Map<string, readonly CompiledLevel[]>();
  return {
    rule, unit: 'm', worse: 'higher', windows: [spec],
    measure: { vi: 'Mực nước', en: 'Water level' },
    appliesTo: (s) => s.kind === 'flood' && s.floodType === 'river' && forStations(rule, s),
    evaluate: (s, w, reading) => {
      const v = reading.values.level_m;
      if (v === undefined || s.kind !== 'flood' || s.floodType !== 'river') return undefined;
      const t = trend(w.samples.get(spec.key)?.points ?? [], rule.forecast.minPoints, rule.forecast.minSpanS);
      if (!t) return { value: v, forecast: null };
      const next = nextFloodLevel(s.levelsM, v);
      const at = next ? timeToReach(v, next.thresholdM, t.perHour, reading.ts) : undefined;
      const forecast: Forecast = {
        rateCmH: Math.round(t.perHour * 1000) / 10, points: t.points, spanS: t.spanS,
        ...(next ? { nextLevel: next.level } : {}),
        ...(at !== undefined ? { nextLevelAt: at } : {}),
      };
      return { value: v, forecast };
    },
    levels: (s) => {
      if (s.kind !== 'flood' || s.floodType !== 'river') return [];
      const hit = cache.get(s.id);
      if (hit) return hit;
      const out = FLOOD_LEVELS.map((l, i) => {
        const m = s.levelsM[l];
        return level(i, l, FLOOD_LEVEL_LABELS[l], rule.severities[l], `≥ ${m} m`, (v) => v >= m, (v) => v >= m - rule.clearMarginM);
      });
      cache.set(s.id, out);
      return out;
    },
  };
}
