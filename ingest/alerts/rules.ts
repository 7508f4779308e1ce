// The versioned rules file (`{"version":1,"rules":[...]}`): its zod schema, validated once at start
// with every problem listed (AlertRulesError), then frozen. Thresholds default from the standards.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SeveritySchema } from '../../contracts/alerts.ts';
import { PARAMETERS, STATION_KINDS } from '../../contracts/parameters.ts';
import { QCVN05_LIMITS } from '../../contracts/standards/qcvn05.ts';
import { QCVN08_PARAMETERS, WATER_CLASSES } from '../../contracts/standards/qcvn08.ts';
import { RAIN_CATEGORIES, RAIN_CATEGORY_EDGES, type RainCategory } from '../../contracts/standards/rain.ts';
import { AlertRulesError } from './errors.ts';

export const DEFAULT_RULES_PATH = new URL('./rules.default.json', import.meta.url);

const Text = z.object({ vi: z.string().min(1), en: z.string().min(1) });
const Id = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes');

/** One level with numeric set/clear thresholds; their unit is the rule's (see each signal). */
const Level = z.object({ key: z.string().min(1), label: Text, severity: SeveritySchema, set: z.number(), clear: z.number() });
export type RuleLevel = z.infer<typeof Level>;

/** A rain level: numeric `set` (mm), or the national rain category it starts at (12 h / 24 h windows). */
const RainLevel = Level.extend({ set: z.number().optional(), category: z.enum(RAIN_CATEGORIES).optional() });

const timing = {
  id: Id,
  enabled: z.boolean().default(true),
  description: z.string().optional(),
  /** Only these stations (default: every station of the rule's kind). */
  stations: z.array(z.string()).optional(),
  /** A breach must last this long before the alert opens or escalates (debounce), seconds. */
  openAfterS: z.number().nonnegative().default(0),
  /** The value must stay past the clear threshold this long before clearing or de-escalating, s. */
  clearAfterS: z.number().nonnegative().default(0),
  /** At most one `updated` event per this many seconds while the alert is open. */
  updateEveryS: z.number().positive().default(300),
};
const above = { direction: z.literal('above').default('above') };
const levels = z.array(Level).min(1);

const AIR_PARAMETERS = ['pm25', 'pm10', 'no2', 'so2', 'o3', 'co'] as const;

export const RuleSchema = z.discriminatedUnion('signal', [
  /** Hourly VN_AQI (NowCast for PM); levels in AQI units. */
  z.object({ ...timing, ...above, signal: z.literal('vn_aqi_hourly'), levels }),
  /** Rolling mean over a QCVN 05:2023 window; levels in multiples of the limit (1 = the limit). */
  z.object({
    ...timing, ...above,
    signal: z.literal('qcvn05'),
    parameter: z.enum(AIR_PARAMETERS),
    window: z.enum(['1h', '8h', '24h']),
    levels,
  }),
  /** QCVN 08:2023 limit of the station's waterClass; clear once back inside by clearMargin. */
  z.object({
    ...timing,
    signal: z.literal('qcvn08'),
    parameter: z.enum(QCVN08_PARAMETERS),
    clearMargin: z.number().nonnegative().default(0),
    level: Level.omit({ set: true, clear: true }),
  }),
  /** Operator-set limit on one parameter (latest value, or rolling mean over windowS). */
  z.object({
    ...timing,
    signal: z.literal('threshold'),
    kind: z.enum(STATION_KINDS),
    floodType: z.enum(['river', 'street']).optional(),
    parameter: z.string(),
    direction: z.enum(['above', 'below']).default('above'),
    windowS: z.number().nonnegative().default(0),
    levels,
  }),
  /**
   * Rolling rain accumulation over windowH hours; levels in mm, or (12 h and 24 h windows) by the
   * national rain term they start at (`category`), so alerts and categories share one table.
   */
  z
    .object({ ...timing, ...above, signal: z.literal('rain_accumulation'), windowH: z.number().positive().max(24), levels: z.array(RainLevel).min(1) })
    .superRefine((r, ctx) => {
      r.levels.forEach((l, i) => {
        if ((l.set === undefined) === (l.category === undefined)) ctx.addIssue({ code: 'custom', path: ['levels', i], message: 'give either "set" (mm) or "category"' });
        if (l.category !== undefined && r.windowH !== 12 && r.windowH !== 24) ctx.addIssue({ code: 'custom', path: ['levels', i, 'category'], message: 'rain categories are defined per 12 h and 24 h only' });
      });
    }),
  /** River gauge against the station's levelsM I/II/III; clears below a level minus clearMarginM. */
  z.object({
    ...timing,
    signal: z.literal('flood_level'),
    severities: z.object({ I: SeveritySchema, II: SeveritySchema, III: SeveritySchema }),
    clearMarginM: z.number().nonnegative().default(0),
    /** Level forecast from a regression over windowS: at least minPoints readings spanning minSpanS. */
    forecast: z
      .object({ windowS: z.number().positive(), minPoints: z.number().int().min(2).default(3), minSpanS: z.number().nonnegative().default(0) })
      .default({ windowS: 10800, minPoints: 3, minSpanS: 6600 }),
  }),
  /** Rate of rise from a regression over windowS; levels in cm/h. */
  z.object({
    ...timing, ...above,
    signal: z.literal('rate_of_rise'),
    parameter: z.enum(['level_m', 'depth_cm']),
    floodType: z.enum(['river', 'street']).optional(),
    windowS: z.number().positive(),
    minPoints: z.number().int().min(2).default(3),
    /** The readings in the window must span at least this long (s) before a rate is given. */
    minSpanS: z.number().nonnegative().default(0),
    levels,
  }),
  /** No reading for `set` × the station's intervalS; levels in missed intervals. */
  z.object({ ...timing, ...above, signal: z.literal('silence'), kinds: z.array(z.enum(STATION_KINDS)).optional(), levels }),
]);
export type Rule = z.infer<typeof RuleSchema>;

const WaterLimitOverride = z.object({ min: z.number().optional(), max: z.number().optional() });

const FileShape = z.object({
  version: z.number().int().positive(),
  /** Deployment values for QCVN 08 cells (the *unsure* ones above all), by class and parameter. */
  qcvn08Overrides: z.partialRecord(z.enum(WATER_CLASSES), z.partialRecord(z.enum(QCVN08_PARAMETERS), WaterLimitOverride)).default({}),
});

export const RulesFileSchema = FileShape.extend({ rules: z.array(RuleSchema) });
export type RulesFile = z.infer<typeof RulesFileSchema>;

/** Levels must be ordered mildest first and each clear threshold must sit on the safe side of set. */
function checkLevels(list: readonly RuleLevel[], direction: 'above' | 'below', report: (msg: string, j: number) => void): void {
  const sign = direction === 'above' ? 1 : -1;
  list.forEach((l, j) => {
    if (sign * (l.clear - l.set) > 0) report(`clear (${l.clear}) must be on the safe side of set (${l.set}) for "${direction}"`, j);
    const prev = list[j - 1];
    if (prev && sign * (l.set - prev.set) <= 0) report(`levels must be ordered mildest first: set ${l.set} after ${prev.set}`, j);
  });
}

/**
 * Validates parsed JSON; throws AlertRulesError naming every problem (each rule is checked on its
 * own, so one bad rule does not hide the others). The result is deep-frozen.
 */
export function parseRules(raw: unknown, source = 'rules'): RulesFile {
  const problems: string[] = [];
  const report = (path: readonly PropertyKey[], message: string) =>
    problems.push(`${path.length ? path.map(String).join('.') : '(file)'}: ${message}`);
  const file = FileShape.extend({ rules: z.array(z.unknown()) }).safeParse(raw);
  if (!file.success) for (const i of file.error.issues) report(i.path, i.message);
  const list: unknown[] = Array.isArray((raw as { rules?: unknown } | null)?.rules) ? (raw as { rules: unknown[] }).rules : [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const rule = RuleSchema.safeParse(item);
    if (!rule.success) {
      for (const issue of rule.error.issues) report(['rules', i, ...issue.path], issue.message);
      return;
    }
    if (seen.has(rule.data.id)) report(['rules', i, 'id'], `duplicate rule id ${rule.data.id}`);
    seen.add(rule.data.id);
    checkRule(rule.data, (path, message) => report(['rules', i, ...path], message));
  });
  if (problems.length > 0) throw new AlertRulesError(source, problems);
  return deepFreeze(RulesFileSchema.parse(raw));
}

function checkRule(rule: Rule, report: (path: (string | number)[], message: string) => void): void {
  if (rule.signal === 'rain_accumulation') {
    // A category level starts at its category's lower edge (contracts/standards/rain.ts).
    const period = rule.windowH === 12 ? '12h' : '24h';
    const edge = (c: RainCategory) => RAIN_CATEGORY_EDGES[period].find((e) => e.category === c)?.aboveMm ?? 0;
    const levels = rule.levels.map((l) => ({ ...l, set: l.set ?? edge(l.category as RainCategory) }));
    checkLevels(levels, rule.direction, (msg, j) => report(['levels', j], msg));
  } else if ('levels' in rule) checkLevels(rule.levels, rule.direction, (msg, j) => report(['levels', j], msg));
  if (rule.signal === 'qcvn05' && QCVN05_LIMITS[rule.parameter][rule.window] === undefined) {
    report(['window'], `QCVN 05:2023 has no ${rule.window} limit for ${rule.parameter}`);
  }
  if (rule.signal === 'threshold' && !Object.hasOwn(PARAMETERS[rule.kind], rule.parameter)) {
    report(['parameter'], `${rule.kind} stations have no parameter ${rule.parameter}`);
  }
}

/** Reads and validates a rules file (default: ingest/alerts/rules.default.json). */
export function loadRules(path: string | URL = DEFAULT_RULES_PATH): RulesFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AlertRulesError(String(path), [`cannot read or parse: ${(err as Error).message}`], { cause: err });
  }
  return parseRules(raw, String(path));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
