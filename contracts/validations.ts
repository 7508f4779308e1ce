// Manual validation by officers: a mark says a time range of one parameter at one station is
// invalid (or valid again), with a reason. Marks apply in the order they were made, so a later
// "valid" mark re-admits part of an earlier "invalid" range; a revoked mark (undo) counts for
// nothing but stays in the record. Pure: the fold of the marks (schemas in contracts/api.ts) into excluded intervals.
import type { ValidationMark } from './api.ts';

export type { ValidationMark } from './api.ts';

/** [fromMs, toMs) */
export type Interval = readonly [number, number];

/** Adds [a, b) to sorted disjoint intervals. */
function add(list: Interval[], [a, b]: Interval): Interval[] {
  const out: Interval[] = [];
  let lo = a;
  let hi = b;
  for (const [x, y] of list) {
    if (y < lo || x > hi) out.push([x, y]);
    else {
      lo = Math.min(lo, x);
      hi = Math.max(hi, y);
    }
  }
  out.push([lo, hi]);
  return out.sort((p, q) => p[0] - q[0]);
}

/** Removes [a, b) from sorted disjoint intervals. */
function remove(list: Interval[], [a, b]: Interval): Interval[] {
  const out: Interval[] = [];
  for (const [x, y] of list) {
    if (y <= a || x >= b) out.push([x, y]);
    else {
      if (x < a) out.push([x, a]);
      if (y > b) out.push([b, y]);
    }
  }
  return out;
}

/** The excluded ranges of every (station, parameter), from the active marks in the order made. */
export type ExclusionIndex = ReadonlyMap<string, ReadonlyMap<string, readonly Interval[]>>;

export function exclusionIndex(marks: readonly ValidationMark[]): ExclusionIndex {
  const byStation = new Map<string, Map<string, Interval[]>>();
  const active = marks.filter((m) => m.revokedAt === undefined).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const m of active) {
    const params = byStation.get(m.station) ?? new Map<string, Interval[]>();
    byStation.set(m.station, params);
    const range: Interval = [Date.parse(m.from), Date.parse(m.to)];
    params.set(m.parameter, m.status === 'invalid' ? add(params.get(m.parameter) ?? [], range) : remove(params.get(m.parameter) ?? [], range));
  }
  return byStation;
}

/** Excluded ranges of one station overlapping [fromMs, toMs), per parameter (empty map: none). */
export function exclusionsFor(index: ExclusionIndex, stationId: string, fromMs = -Infinity, toMs = Infinity): Map<string, Interval[]> {
  const out = new Map<string, Interval[]>();
  for (const [p, list] of index.get(stationId) ?? []) {
    const hit = list.filter(([a, b]) => b > fromMs && a < toMs);
    if (hit.length > 0) out.set(p, hit);
  }
  return out;
}

/** True when the value of `parameter` at `tsMs` is excluded by an officer's mark. */
export function isExcluded(index: ExclusionIndex, stationId: string, parameter: string, tsMs: number): boolean {
  const list = index.get(stationId)?.get(parameter);
  return list !== undefined && list.some(([a, b]) => tsMs >= a && tsMs < b);
}

/** [fromMs, toMs) minus the excluded intervals: the ranges whose values count. */
export function validSegments(fromMs: number, toMs: number, excluded: readonly Interval[]): Interval[] {
  return excluded.reduce<Interval[]>((acc, iv) => remove(acc, iv), [[fromMs, toMs]]);
}
