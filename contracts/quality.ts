// The quality contract: QARTOD flags per parameter (US IOOS), the tests that raise them, the station
// status a gateway reports (Vietnam's automatic stations: 00 measuring, 01 calibrating, 02 device
// fault), how both are stored in InfluxDB, and isUsable(): which values AQI, alerts and rollups use.
// The definitions and their sources are copied into docs/qartod.md.
import { z } from 'zod';

/** QARTOD primary flags (Manual for the Use of Real-Time Oceanographic Data QC Flags, v1.2). */
export const QARTOD = { pass: 1, notEvaluated: 2, suspect: 3, fail: 4, missing: 9 } as const;
export type QartodFlag = (typeof QARTOD)[keyof typeof QARTOD];
export const QARTOD_FLAGS = [1, 2, 3, 4, 9] as const satisfies readonly QartodFlag[];
export const QARTOD_FLAG_NAMES: Readonly<Record<QartodFlag, string>> = { 1: 'pass', 2: 'not_evaluated', 3: 'suspect', 4: 'fail', 9: 'missing' };

/** The QARTOD tests quantrac runs on every value. */
export const QC_TESTS = ['gross_range', 'climatology', 'spike', 'rate_of_change', 'flat_line'] as const;
export type QcTest = (typeof QC_TESTS)[number];

/**
 * QARTOD aggregation: the most severe result wins, in the order missing < not evaluated < pass <
 * suspect < fail (ioos_qc qartod_compare).
 */
const PRECEDENCE: Readonly<Record<QartodFlag, number>> = { 9: 0, 2: 1, 1: 2, 3: 3, 4: 4 };
export function worstFlag(a: QartodFlag, b: QartodFlag): QartodFlag {
  return PRECEDENCE[b] > PRECEDENCE[a] ? b : a;
}

/** One parameter's quality: the aggregate flag and the tests that were not passed (3 or 4). */
export interface ParameterQuality {
  readonly flag: QartodFlag;
  readonly tests?: Readonly<Partial<Record<QcTest, QartodFlag>>>;
}
const FlagSchema = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(9)]).meta({ description: 'QARTOD flag: 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing' });
export const ParameterQualitySchema = z.object({
  flag: FlagSchema,
  tests: z.partialRecord(z.enum(QC_TESTS), FlagSchema).optional().meta({ description: 'the QARTOD tests not passed, with their flags' }),
});

// ── station status ──────────────────────────────────────────────────────────
export const STATION_STATUSES = ['measuring', 'calibrating', 'fault'] as const;
export type StationStatus = (typeof STATION_STATUSES)[number];
/** The status codes of Vietnam's automatic monitoring stations' data files. */
export const STATUS_CODES: Readonly<Record<StationStatus, string>> = { measuring: '00', calibrating: '01', fault: '02' };
const STATUS_BY_WORD: Readonly<Record<string, StationStatus>> = {
  '00': 'measuring', '01': 'calibrating', '02': 'fault',
  measuring: 'measuring', calibrating: 'calibrating', calibration: 'calibrating', fault: 'fault', faulty: 'fault', maintenance: 'fault',
};
/** "00"/"01"/"02" or a name (measuring, calibrating, fault/faulty); undefined when unknown. */
export function parseStationStatus(v: unknown): StationStatus | undefined {
  return typeof v === 'string' && Object.hasOwn(STATUS_BY_WORD, v.toLowerCase()) ? STATUS_BY_WORD[v.toLowerCase()] : undefined;
}

/**
 * A gateway's station status message on `gateways/{gatewayId}/status` (the topic also carries the
 * gateway's own online/offline word, which is not a station status and is ignored here):
 * `{"ts": ISO or epoch ms, "stations": {"air-001": "01", "air-002": "measuring"}}`. The status holds
 * for the station's readings from `ts` on until the next message or a reading's own `status`.
 */
export const GatewayStationStatusSchema = z.object({
  ts: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]).optional(),
  stations: z.record(z.string(), z.string()),
});

// ── usability ───────────────────────────────────────────────────────────────
/** What decides whether a stored value may be used by AQI, alerts, rollups and reports. */
export interface UsabilityInput {
  readonly status?: StationStatus | undefined;
  readonly quality?: Readonly<Record<string, ParameterQuality>> | undefined;
}

/**
 * True when the value of `parameter` (or, without one, the reading as a whole) may be used: the
 * station was measuring (not calibrating, not faulty) and the value did not fail QC. Suspect
 * values are usable: they are shown as suspect, never silently dropped.
 */
export function isUsable(reading: UsabilityInput, parameter?: string): boolean {
  if (reading.status !== undefined && reading.status !== 'measuring') return false;
  if (parameter === undefined) return true;
  return reading.quality?.[parameter]?.flag !== QARTOD.fail;
}

// ── storage (InfluxDB) ──────────────────────────────────────────────────────
/**
 * Field names of the stored point. A usable value is stored under the parameter's own field
 * (`pm25`), so every InfluxQL aggregate over `pm25` (AQI, rollups, reports) leaves unusable values
 * out without a condition — InfluxQL cannot test for an absent field, and points written before
 * QC (or imported) carry none. An unusable value is stored beside it, under `pm25_unusable`.
 */
export const unusableField = (parameter: string): string => `${parameter}_unusable`;
/** Integer QARTOD aggregate flag of a parameter, written only when it is not 1 (absent = pass). */
export const flagField = (parameter: string): string => `${parameter}_qc`;
/** Integer status code (1 calibrating, 2 fault), written only when the station was not measuring. */
export const STATUS_FIELD = 'status';
/** String listing the tests not passed: `pm25:spike=3,no2:flat_line=4`. */
export const QC_FIELD = 'qc';

export function statusToField(status: StationStatus): number {
  return Number(STATUS_CODES[status]);
}

/** `qc` field text of a reading's quality (tests not passed only); '' when none. */
export function formatQcTests(quality: Readonly<Record<string, ParameterQuality>>): string {
  let out = '';
  for (const p in quality) {
    const tests = quality[p]!.tests;
    for (const t in tests) out += `${out ? ',' : ''}${p}:${t}=${tests[t as QcTest]}`;
  }
  return out;
}

const LEGACY_TESTS: Readonly<Record<string, QcTest>> = { stuck: 'flat_line', spike: 'spike' };
const isFlag = (n: number): n is QartodFlag => (QARTOD_FLAGS as readonly number[]).includes(n);

/**
 * Quality of a stored row: `{p}_qc` flags, the `qc` test list and, for every value present without a
 * flag, pass. Rows written before QARTOD (`qc="pm25:spike"`) read as suspect from that test.
 */
export function qualityFromRow(row: Readonly<Record<string, unknown>>, parameters: readonly string[]): Record<string, ParameterQuality> {
  const tests: Record<string, Partial<Record<QcTest, QartodFlag>>> = {};
  if (typeof row[QC_FIELD] === 'string') {
    for (const part of (row[QC_FIELD] as string).split(',')) {
      const m = /^([a-z0-9_]+):([a-z_]+)(?:=(\d))?$/.exec(part);
      if (!m) continue;
      const test = (QC_TESTS as readonly string[]).includes(m[2]!) ? (m[2] as QcTest) : LEGACY_TESTS[m[2]!];
      const flag = m[3] === undefined ? QARTOD.suspect : Number(m[3]);
      if (test && isFlag(flag)) (tests[m[1]!] ??= {})[test] = flag;
    }
  }
  const out: Record<string, ParameterQuality> = {};
  for (const p of parameters) {
    const stored = row[flagField(p)];
    const worstTest = Object.values(tests[p] ?? {}).reduce<QartodFlag>((a, b) => worstFlag(a, b), QARTOD.pass);
    const flag = typeof stored === 'number' && isFlag(stored) ? stored : worstTest;
    if (flag !== QARTOD.pass || tests[p]) out[p] = { flag, ...(tests[p] ? { tests: tests[p] } : {}) };
  }
  return out;
}

/** Status of a stored row (absent = measuring). */
export function statusFromRow(row: Readonly<Record<string, unknown>>): StationStatus {
  return row[STATUS_FIELD] === 1 ? 'calibrating' : row[STATUS_FIELD] === 2 ? 'fault' : 'measuring';
}

/** A parameter's value in a stored row, usable or not. */
export function valueFromRow(row: Readonly<Record<string, unknown>>, parameter: string): number | undefined {
  const v = row[parameter] ?? row[unusableField(parameter)];
  return typeof v === 'number' ? v : undefined;
}
