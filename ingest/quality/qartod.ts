// The QARTOD tests as pure functions of one value and its neighbours (definitions in docs/qartod.md,
// after the IOOS QARTOD manuals and ioos_qc's qartod.py). Each returns a QARTOD flag; a test that is
// switched off or lacks the data it needs returns 2 (not evaluated).
import { QARTOD, type QartodFlag } from '../../contracts/quality.ts';
import type { QcTests } from './config.ts';

const HOUR_MS = 3_600_000;
/** Calendar months of the climatology are Hanoi's (UTC+7). */
const HANOI_OFFSET_MS = 7 * HOUR_MS;

/** Outside the sensor span → fail; outside the operator span → suspect. */
export function grossRange(value: number, cfg: QcTests['grossRange']): QartodFlag {
  if (!cfg) return QARTOD.notEvaluated;
  if (value < cfg.fail[0] || value > cfg.fail[1]) return QARTOD.fail;
  if (cfg.suspect && (value < cfg.suspect[0] || value > cfg.suspect[1])) return QARTOD.suspect;
  return QARTOD.pass;
}

/** Outside the expected range of the reading's month → suspect; no range for the month → not evaluated. */
export function climatology(value: number, tsMs: number, cfg: QcTests['climatology']): QartodFlag {
  if (!cfg) return QARTOD.notEvaluated;
  const month = new Date(tsMs + HANOI_OFFSET_MS).getUTCMonth() + 1;
  const entry = cfg.find((c) => c.months.includes(month));
  if (!entry) return QARTOD.notEvaluated;
  return value < entry.range[0] || value > entry.range[1] ? QARTOD.suspect : QARTOD.pass;
}

/**
 * Spike of the middle value: |v(n−1) − (v(n−2) + v(n))/2| against the thresholds (QARTOD's
 * "average" reference, ioos_qc spike_test method="average"). Judged once v(n) is known.
 */
export function spike(before: number, value: number, after: number, cfg: QcTests['spike']): QartodFlag {
  if (!cfg) return QARTOD.notEvaluated;
  const deviation = Math.abs(value - (before + after) / 2);
  if (cfg.fail !== undefined && deviation > cfg.fail) return QARTOD.fail;
  return deviation > cfg.suspect ? QARTOD.suspect : QARTOD.pass;
}

/** |v(n) − v(n−1)| per hour of the time between them, against the thresholds. */
export function rateOfChange(prev: { tsMs: number; value: number } | undefined, tsMs: number, value: number, cfg: QcTests['rateOfChange']): QartodFlag {
  if (!cfg || !prev || tsMs <= prev.tsMs) return QARTOD.notEvaluated;
  const perH = Math.abs(value - prev.value) / ((tsMs - prev.tsMs) / HOUR_MS);
  if (cfg.failPerH !== undefined && perH > cfg.failPerH) return QARTOD.fail;
  return perH > cfg.suspectPerH ? QARTOD.suspect : QARTOD.pass;
}

/**
 * A flat run: the latest values, which all lie within a range narrower than the tolerance, since
 * `sinceMs` (ioos_qc flat_line_test: the window ending at the newest value). `points` holds them,
 * oldest first, as far back as the fail duration needs (older ones cannot change a flag); a gap of
 * `maxGapMs` without readings starts a new run (two values days apart say nothing of a stuck sensor).
 */
export interface FlatRun {
  sinceMs: number;
  lastMs: number;
  /** [tsMs, value] of the run, oldest first. */
  points: [number, number][];
}

/**
 * Extends the run with a new value (in time order; the run is updated in place): the run becomes the longest stretch of latest
 * values whose range stays under the tolerance — on a slow drift the window slides, it does not
 * restart — then keeps what `keepMs` (the fail duration) needs. Never latches: a value that leaves
 * the range of its neighbours ends the run.
 */
export function extendFlatRun(run: FlatRun | undefined, tsMs: number, value: number, tolerance: number, maxGapMs: number, keepMs = Number.POSITIVE_INFINITY): FlatRun {
  if (!run || tsMs - run.lastMs > maxGapMs) return { sinceMs: tsMs, lastMs: tsMs, points: [[tsMs, value]] };
  const points = run.points;
  points.push([tsMs, value]);
  let start = 0;
  let min = value;
  let max = value;
  for (let i = points.length - 2; i >= 0; i--) {
    const v = points[i]![1];
    if (Math.max(max, v) - Math.min(min, v) >= tolerance) {
      start = i + 1;
      break;
    }
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  // Keep the newest point at or before tsMs − keepMs (it shows the run lasted keepMs), none older.
  let keepFrom = start;
  while (keepFrom + 1 < points.length - 1 && points[keepFrom + 1]![0] <= tsMs - keepMs) keepFrom++;
  if (keepFrom > 0) points.splice(0, keepFrom);
  // Updated in place (one run per parameter, copied by the quality snapshot): no garbage per value.
  run.sinceMs = points[0]![0];
  run.lastMs = tsMs;
  return run;
}

/** The run has lasted failS → fail, suspectS → suspect (ioos_qc flat_line_test). */
export function flatLine(run: FlatRun, cfg: QcTests['flatLine']): QartodFlag {
  if (!cfg) return QARTOD.notEvaluated;
  const lastedS = (run.lastMs - run.sinceMs) / 1000;
  if (lastedS >= cfg.failS) return QARTOD.fail;
  return lastedS >= cfg.suspectS ? QARTOD.suspect : QARTOD.pass;
}
