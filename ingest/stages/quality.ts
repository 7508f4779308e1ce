// Quality stage: QARTOD tests on every value (gross range, climatology, spike, rate of change, flat
// line; thresholds from ingest/quality/config.ts), the station status (measuring, calibrating,
// fault) and duplicate detection. Flags are stored, never used to drop a value.
//
// Pure and synchronous, with per-station state that is rebuilt by replaying the same readings and
// status messages in the same order: no timers, no wall clock, only reading timestamps.
//
// The spike test judges a value against both neighbours, so a value's spike result is known one
// reading later. A reading is stored at once with its other results (spike: 2, not evaluated, which
// never lowers the aggregate); when the next value shows it was a spike, check() also returns a
// `revision` of that earlier reading: the same point (measurement, tags, timestamp) written again
// with its final flags, which overwrites the flag fields in InfluxDB.
import { PARAMETERS } from '../../contracts/parameters.ts';
import { QARTOD, worstFlag, type ParameterQuality, type QartodFlag, type QcTest, type StationStatus } from '../../contracts/quality.ts';
import type { Reading } from '../../contracts/reading.ts';
import type { Registry, Station } from '../../contracts/stations.ts';
import { testsFor, type QcConfig, type QcTests } from '../quality/config.ts';
import { climatology, extendFlatRun, flatLine, grossRange, rateOfChange, spike, type FlatRun } from '../quality/qartod.ts';

export interface QualityOptions {
  readonly config: QcConfig;
  readonly registry: Registry;
}

/** A stored reading whose flags changed after the fact (a spike judged one reading later). */
export interface QualityRevision {
  readonly stationId: string;
  readonly kind: Reading['kind'];
  readonly ts: number;
  /** The reading's final quality, every parameter not passed (as in Reading.quality). */
  readonly quality: Readonly<Record<string, ParameterQuality>>;
  /** What changed: the settled spike results of 3 or 4. */
  readonly settled: readonly { readonly parameter: string; readonly test: QcTest; readonly flag: QartodFlag }[];
}

export type QualityOutcome =
  | { readonly duplicate: true }
  | { readonly duplicate: false; readonly reading: Reading; readonly revisions: readonly QualityRevision[] };

export interface QualityChecker {
  check(reading: Reading): QualityOutcome;
  /** A station status reported on the gateway's status topic; holds until changed. */
  setStatus(stationId: string, status: StationStatus): void;
  statusOf(stationId: string): StationStatus;
  /** The whole state as JSON-safe data (a consumer lane's snapshot); restore() takes it back exactly. */
  snapshot(): unknown;
  restore(state: unknown): void;
}

/** The checker's state as JSON (a lane snapshot, ingest/consumers/lane-state.ts). */
interface QualitySnapshot {
  readonly v: 3;
  readonly stations: {
    readonly id: string;
    readonly lastTs: number | null;
    readonly newestTs: number | null;
    readonly status: StationStatus;
    /** The stored readings the parameters' `prev` point to (shared by several parameters). */
    readonly stored: { readonly ts: number; readonly results: [string, Partial<Record<QcTest, QartodFlag>>][] }[];
    readonly params: { readonly name: string; readonly before?: number; readonly prev?: { tsMs: number; value: number; stored: number }; readonly run?: FlatRun }[];
  }[];
}

const ALL_TESTS = ['gross_range', 'climatology', 'spike', 'rate_of_change', 'flat_line'] as const;
/** Shared by every outcome that settles no earlier reading (never mutated: callers only read it). */
const NO_REVISIONS: QualityRevision[] = [];
Object.freeze(NO_REVISIONS);

const finiteOrNull = (n: number): number | null => (Number.isFinite(n) ? n : null);
const copyRun = (r: FlatRun): FlatRun => ({ sinceMs: r.sinceMs, lastMs: r.lastMs, points: r.points.map(([t, v]) => [t, v]) });

/** Results of one stored reading, kept until its values' spike results are known. */
interface Stored {
  readonly ts: number;
  readonly results: Map<string, Partial<Record<QcTest, QartodFlag>>>;
}

interface ParamState {
  readonly tests: QcTests;
  /** v(n−2) and v(n−1), in time order, and the stored reading v(n−1) belongs to. */
  before?: number;
  prev?: { tsMs: number; value: number; stored: Stored };
  run?: FlatRun;
}

interface StationState {
  readonly station: Station;
  /** Timestamp of the last reading checked (duplicates), and of the newest (time order). */
  lastTs: number;
  newestTs: number;
  status: StationStatus;
  readonly params: Map<string, ParamState>;
}

/** Aggregate and not-passed tests of one parameter's results (QARTOD precedence). */
function summarise(results: Partial<Record<QcTest, QartodFlag>>): ParameterQuality {
  let flag: QartodFlag = QARTOD.missing;
  let tests: Partial<Record<QcTest, QartodFlag>> | undefined;
  for (const t in results) {
    const f = results[t as QcTest]!;
    flag = worstFlag(flag, f);
    if (f === QARTOD.suspect || f === QARTOD.fail) (tests ??= {})[t as QcTest] = f;
  }
  return tests ? { flag, tests } : { flag };
}

function qualityOf(stored: Stored): Record<string, ParameterQuality> | undefined {
  let out: Record<string, ParameterQuality> | undefined;
  for (const [p, results] of stored.results) {
    const q = summarise(results);
    if (q.flag !== QARTOD.pass) (out ??= {})[p] = q;
  }
  return out;
}

export function createQualityChecker(opts: QualityOptions): QualityChecker {
  const { config, registry } = opts;
  const stations = new Map<string, StationState>();

  function stateOf(stationId: string): StationState | undefined {
    let st = stations.get(stationId);
    if (!st) {
      const station = registry.get(stationId);
      if (!station) return undefined;
      st = { station, lastTs: -Infinity, newestTs: -Infinity, status: 'measuring', params: new Map() };
      stations.set(stationId, st);
    }
    return st;
  }

  function paramOf(st: StationState, name: string): ParamState {
    let ps = st.params.get(name);
    if (!ps) st.params.set(name, (ps = { tests: testsFor(config, st.station, name) }));
    return ps;
  }

  function snapshot(): QualitySnapshot {
    const out: QualitySnapshot['stations'][number][] = [];
    for (const [id, st] of stations) {
      const storedIndex = new Map<Stored, number>();
      const stored: QualitySnapshot['stations'][number]['stored'] = [];
      const params: QualitySnapshot['stations'][number]['params'][number][] = [];
      for (const [name, ps] of st.params) {
        let prev: { tsMs: number; value: number; stored: number } | undefined;
        if (ps.prev) {
          let i = storedIndex.get(ps.prev.stored);
          if (i === undefined) {
            i = stored.length;
            storedIndex.set(ps.prev.stored, i);
            stored.push({ ts: ps.prev.stored.ts, results: [...ps.prev.stored.results].map(([p, r]) => [p, { ...r }]) });
          }
          prev = { tsMs: ps.prev.tsMs, value: ps.prev.value, stored: i };
        }
        params.push({ name, ...(ps.before !== undefined ? { before: ps.before } : {}), ...(prev ? { prev } : {}), ...(ps.run ? { run: copyRun(ps.run) } : {}) });
      }
      out.push({ id, lastTs: finiteOrNull(st.lastTs), newestTs: finiteOrNull(st.newestTs), status: st.status, stored, params });
    }
    return { v: 3, stations: out };
  }

  function restore(state: unknown): void {
    stations.clear();
    const snap = state as QualitySnapshot | undefined;
    // Older or missing snapshots: start empty (the tests' neighbours are rebuilt by the readings).
    if (snap?.v !== 3) return; // v2 kept flat runs without their points
    for (const s of snap.stations) {
      const st = stateOf(s.id);
      if (!st) continue; // a station since removed from the registry
      st.lastTs = s.lastTs ?? -Infinity;
      st.newestTs = s.newestTs ?? -Infinity;
      st.status = s.status;
      const stored: Stored[] = s.stored.map((x) => ({ ts: x.ts, results: new Map(x.results.map(([p, r]) => [p, { ...r }])) }));
      for (const p of s.params) {
        const ps = paramOf(st, p.name);
        if (p.before !== undefined) ps.before = p.before;
        if (p.prev) ps.prev = { tsMs: p.prev.tsMs, value: p.prev.value, stored: stored[p.prev.stored]! };
        if (p.run) ps.run = copyRun(p.run);
      }
    }
  }

  return {
    snapshot,
    restore,
    setStatus(stationId, status) {
      const st = stateOf(stationId);
      if (st) st.status = status;
    },

    statusOf: (stationId) => stations.get(stationId)?.status ?? 'measuring',

    check(reading) {
      const st = stateOf(reading.stationId);
      if (!st) return { duplicate: false, reading, revisions: [] };
      // Same station and timestamp as the last reading: a retransmission. It is stored (and
      // overwrites the same point with the same values) but does not move the quality state.
      if (reading.ts === st.lastTs) return { duplicate: true };
      const status = reading.status ?? st.status;
      st.lastTs = reading.ts;
      const inOrder = reading.ts > st.newestTs;
      if (inOrder) st.newestTs = reading.ts;
      const stored: Stored = { ts: reading.ts, results: new Map() };
      /** Earlier readings whose spike this value settled as suspect or fail (rare: allocated then). */
      let settledBy: Map<Stored, QualityRevision['settled'][number][]> | undefined;
      const kindParameters = PARAMETERS[reading.kind];

      for (const name in reading.values) {
        const value = reading.values[name]!;
        if (!Object.hasOwn(kindParameters, name)) continue;
        const ps = paramOf(st, name);
        const results: Partial<Record<QcTest, QartodFlag>> = {};
        stored.results.set(name, results);
        if (status !== 'measuring') {
          // Calibration gas, a faulty sensor: the values say nothing about the sensor's signal, so
          // no test is run (2) and they do not enter the neighbours of the tests that follow.
          for (const t of ALL_TESTS) results[t] = QARTOD.notEvaluated;
          continue;
        }
        results.gross_range = grossRange(value, ps.tests.grossRange);
        results.climatology = climatology(value, reading.ts, ps.tests.climatology);
        if (!inOrder) {
          // A late reading (a gateway's backlog after newer ones): its neighbours are unknown.
          results.spike = results.rate_of_change = results.flat_line = QARTOD.notEvaluated;
          continue;
        }
        results.spike = QARTOD.notEvaluated; // judged when the next value arrives
        results.rate_of_change = rateOfChange(ps.prev, reading.ts, value, ps.tests.rateOfChange);
        const flat = ps.tests.flatLine;
        ps.run = flat ? extendFlatRun(ps.run, reading.ts, value, flat.tolerance, flat.suspectS * 1000, flat.failS * 1000) : undefined;
        results.flat_line = ps.run ? flatLine(ps.run, ps.tests.flatLine) : QARTOD.notEvaluated;

        if (ps.prev && ps.before !== undefined && ps.tests.spike) {
          const flag = spike(ps.before, ps.prev.value, value, ps.tests.spike);
          const prevResults = ps.prev.stored.results.get(name);
          if (prevResults) prevResults.spike = flag;
          if (flag === QARTOD.suspect || flag === QARTOD.fail) {
            settledBy ??= new Map();
            let list = settledBy.get(ps.prev.stored);
            if (!list) settledBy.set(ps.prev.stored, (list = []));
            list.push({ parameter: name, test: 'spike', flag });
          }
        }
        ps.before = ps.prev?.value;
        if (ps.prev) {
          // In place (the snapshot copies it): no garbage per value.
          ps.prev.tsMs = reading.ts;
          ps.prev.value = value;
          ps.prev.stored = stored;
        } else ps.prev = { tsMs: reading.ts, value, stored };
      }

      const revisions: QualityRevision[] = settledBy ? [] : NO_REVISIONS;
      if (settledBy) {
        for (const [prevStored, settled] of settledBy) {
          revisions.push({ stationId: reading.stationId, kind: reading.kind, ts: prevStored.ts, quality: qualityOf(prevStored) ?? {}, settled });
        }
      }
      const quality = qualityOf(stored);
      // Built field by field (the hot path: an object rest/spread costs several times more).
      const out: { -readonly [K in keyof Reading]: Reading[K] } = { stationId: reading.stationId, kind: reading.kind, ts: reading.ts, values: reading.values };
      if (reading.seq !== undefined) out.seq = reading.seq;
      if (quality) out.quality = quality;
      if (status !== 'measuring') out.status = status;
      return { duplicate: false, reading: out, revisions };
    },
  };
}
