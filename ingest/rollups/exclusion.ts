// Which stored values the rollups leave out: the one predicate every rollup (and its rebuild)
// applies to a raw row. Extend it here when the data-trust work adds flags or statuses.
//
// Left out: a value whose quality flag says it failed (QARTOD flag 4, "fail"; IOOS QARTOD manual,
// flag scheme 1 pass / 2 not evaluated / 3 suspect / 4 fail / 9 missing), and every value taken
// while the station reported itself calibrating or faulty (Vietnamese automatic stations' status
// codes 01 calibrating, 02 device fault; 00 = measuring). Suspect values (today's `stuck`/`spike`,
// QARTOD 3) are kept: suspect is not invalid.

import { QARTOD, QARTOD_FLAGS, flagField, qualityFromRow } from '../../contracts/quality.ts';

/** One raw row as InfluxQL returns it: `time` plus tags and fields by column name. */
export type RawRow = Readonly<Record<string, unknown>> & { readonly time: number };

const FAILED_FLAGS = new Set(['fail', '4']);
const NOT_MEASURING = new Set(['calibrating', 'faulty', 'fault', 'maintenance', '01', '02', '1', '2']);

/** Parameter → flag from the `qc` field ("pm25:spike,no2:fail"). */
function qcFlagOf(qc: unknown, param: string): string | undefined {
  if (typeof qc !== 'string' || qc === '' || !qc.includes(`${param}:`)) return undefined;
  for (const part of qc.split(',')) {
    const colon = part.indexOf(':');
    if (colon > 0 && part.slice(0, colon) === param) return part.slice(colon + 1);
  }
  return undefined;
}

/** True when the station was not measuring (calibrating, faulty) when the row was taken. */
export function stationNotMeasuring(row: RawRow): boolean {
  const status = row.status;
  if (status === undefined || status === null) return false;
  return (typeof status === 'string' || typeof status === 'number') && NOT_MEASURING.has(String(status).toLowerCase());
}

/** True when the row's value of `param` counts in rollups. */
export function isValidValue(row: RawRow, param: string): boolean {
  if (typeof row[param] !== 'number' || !Number.isFinite(row[param])) return false;
  if (stationNotMeasuring(row)) return false;
  // A value stored as failed at once is not under `param` (it is `{param}_unusable`, contracts/quality.ts);
  // a spike judged failed one reading later is, with `{param}_qc` = 4 and `qc` "param:spike=4".
  // Fast path (rollups call this for every value of every row): a stored flag decides on its own,
  // as in qualityFromRow; only a row without one whose `qc` text names this parameter needs it parsed.
  const stored = row[flagField(param)];
  if (typeof stored === 'number' && (QARTOD_FLAGS as readonly number[]).includes(stored)) {
    if (stored === QARTOD.fail) return false;
  } else if (typeof row.qc === 'string' && row.qc.includes(`${param}:`) && qualityFromRow(row, [param])[param]?.flag === QARTOD.fail) return false;
  const flag = qcFlagOf(row.qc, param);
  return flag === undefined || !FAILED_FLAGS.has(String(flag));
}
