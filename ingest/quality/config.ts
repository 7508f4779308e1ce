// The versioned QC configuration (`ingest/quality/qc.default.json`, or QC_CONFIG_PATH): QARTOD test
// thresholds per parameter of each station kind, overridden per area (former district) and per
// station. Validated once at start with every problem listed (QcConfigError), then frozen.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PARAMETERS, STATION_KINDS, type StationKind } from '../../contracts/parameters.ts';
import type { Station } from '../../contracts/stations.ts';

export const DEFAULT_QC_CONFIG_PATH = new URL('./qc.default.json', import.meta.url);

const Span = z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, 'a span is [low, high] with low < high');

/** Each test is optional; `null` switches it off for that parameter (its result is 2, not evaluated). */
export const TestsSchema = z.strictObject({
  /** Sensor (fail) and operator (suspect) limits, in the parameter's unit. */
  grossRange: z
    .strictObject({ fail: Span, suspect: Span.optional() })
    .refine((g) => !g.suspect || (g.suspect[0] >= g.fail[0] && g.suspect[1] <= g.fail[1]), 'the suspect span must lie inside the fail span')
    .nullable()
    .optional(),
  /** Expected range per calendar month (months 1–12, local time UTC+7); outside → suspect. */
  climatology: z
    .array(z.strictObject({ months: z.array(z.number().int().min(1).max(12)).min(1), range: Span }))
    .min(1)
    .nullable()
    .optional(),
  /** |v(n) − (v(n−1) + v(n+1))/2| above these (parameter units) → suspect / fail. */
  spike: z
    .strictObject({ suspect: z.number().positive(), fail: z.number().positive().optional() })
    .refine((s) => s.fail === undefined || s.fail > s.suspect, 'spike.fail must be above spike.suspect')
    .nullable()
    .optional(),
  /** |v(n) − v(n−1)| per hour above these → suspect / fail. */
  rateOfChange: z
    .strictObject({ suspectPerH: z.number().positive(), failPerH: z.number().positive().optional() })
    .refine((r) => r.failPerH === undefined || r.failPerH > r.suspectPerH, 'rateOfChange.failPerH must be above suspectPerH')
    .nullable()
    .optional(),
  /** Values within `tolerance` of each other for suspectS / failS seconds → suspect / fail. */
  flatLine: z
    .strictObject({ tolerance: z.number().positive(), suspectS: z.number().positive(), failS: z.number().positive() })
    .refine((f) => f.failS > f.suspectS, 'flatLine.failS must be above suspectS')
    .nullable()
    .optional(),
});
export type QcTests = z.infer<typeof TestsSchema>;

const ByParameter = z.record(z.string(), TestsSchema);
const ByKind = z.partialRecord(z.enum(STATION_KINDS), ByParameter);

export const QcConfigSchema = z.strictObject({
  /** Bumped on every change (recorded in the audit log at start). */
  version: z.number().int().positive(),
  description: z.string().optional(),
  /** Defaults: every parameter of every kind in contracts/parameters.ts. */
  parameters: ByKind,
  /** Overrides per former district (e.g. a climatology of an area). */
  areas: z.record(z.string(), ByKind).default({}),
  /** Overrides per station id, by parameter. */
  stations: z.record(z.string(), ByParameter).default({}),
});
export type QcConfig = z.infer<typeof QcConfigSchema>;

/** The QC file is unusable; `problems` lists every issue, one line each. Fatal at start-up. */
export class QcConfigError extends Error {
  override readonly name = 'QcConfigError';
  readonly source: string;
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], options?: ErrorOptions) {
    super(`invalid QC configuration ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
    this.source = source;
    this.problems = problems;
  }
}

const kindsOfParameter = (name: string): StationKind[] => STATION_KINDS.filter((k) => Object.hasOwn(PARAMETERS[k], name));

/**
 * Validates parsed JSON; throws QcConfigError naming every problem. With `stations` (the registry),
 * station overrides must name known stations and their parameters.
 */
export function parseQcConfig(raw: unknown, source = 'qc config', stations?: readonly Station[]): QcConfig {
  const problems: string[] = [];
  const report = (path: readonly PropertyKey[], message: string) => problems.push(`${path.length ? path.map(String).join('.') : '(file)'}: ${message}`);
  const parsed = QcConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) report(i.path, i.message);
    throw new QcConfigError(source, problems);
  }
  const cfg = parsed.data;
  const checkKinds = (byKind: z.infer<typeof ByKind>, at: string[]) => {
    for (const [kind, params] of Object.entries(byKind) as [StationKind, Record<string, unknown>][]) {
      for (const p of Object.keys(params)) if (!Object.hasOwn(PARAMETERS[kind], p)) report([...at, kind, p], `${kind} stations have no parameter ${p}`);
    }
  };
  checkKinds(cfg.parameters, ['parameters']);
  for (const kind of STATION_KINDS) {
    for (const p of Object.keys(PARAMETERS[kind])) {
      if (!cfg.parameters[kind]?.[p]) report(['parameters', kind, p], 'missing: every parameter of the contract needs its defaults (null switches a test off)');
    }
  }
  for (const [area, byKind] of Object.entries(cfg.areas)) {
    checkKinds(byKind, ['areas', area]);
    if (stations && !stations.some((s) => s.formerDistrict === area)) report(['areas', area], `no station lies in the area "${area}"`);
  }
  for (const [id, params] of Object.entries(cfg.stations)) {
    const station = stations?.find((s) => s.id === id);
    if (stations && !station) report(['stations', id], `station ${id} is not in the registry`);
    for (const p of Object.keys(params)) {
      const ok = station ? Object.hasOwn(PARAMETERS[station.kind], p) : kindsOfParameter(p).length > 0;
      if (!ok) report(['stations', id, p], `${station ? `${station.kind} station ${id}` : 'no station kind'} has no parameter ${p}`);
    }
  }
  if (problems.length > 0) throw new QcConfigError(source, problems);
  return deepFreeze(cfg);
}

/** Reads and validates a QC file (default: ingest/quality/qc.default.json). */
export function loadQcConfig(path: string | URL = DEFAULT_QC_CONFIG_PATH, stations?: readonly Station[]): QcConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new QcConfigError(String(path), [`cannot read or parse: ${(err as Error).message}`], { cause: err });
  }
  return parseQcConfig(raw, String(path), stations);
}

/** The tests in force for one parameter at one station: station over area over the kind's defaults, test by test. */
export function testsFor(cfg: QcConfig, station: Pick<Station, 'id' | 'kind' | 'formerDistrict'>, parameter: string): QcTests {
  return {
    ...cfg.parameters[station.kind]?.[parameter],
    ...cfg.areas[station.formerDistrict]?.[station.kind]?.[parameter],
    ...cfg.stations[station.id]?.[parameter],
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
