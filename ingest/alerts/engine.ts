// The alert engine: onReading() judges each accepted reading against the compiled rules (O(rules of
// the station) with incremental windows), tick() detects silence, and every alert change becomes an
// AlertEvent. Its state is derived from its inputs alone — readings, clock ticks and officers'
// acknowledgements, all read from the durable log with the log's own times — so replaying the log
// from a snapshot (exportState/restoreState) reaches the same alerts with the same ids.
import type { Alert, AlertEvent, AlertFilter } from '../../contracts/alerts.ts';
import { severityRank } from '../../contracts/alerts.ts';
import { isUsable } from '../../contracts/quality.ts';
import type { Reading } from '../../contracts/reading.ts';
import type { Registry, Station } from '../../contracts/stations.ts';
import { clearAlert, moveAlert, openAlert } from './alert-records.ts';
import { AlertNotFoundError } from './errors.ts';
import { step, type Timing } from './lifecycle.ts';
import type { RulesFile } from './rules.ts';
import { compileRules, type Measurement, type Signal, type WindowSpec } from './signals.ts';
import {
  NEVER, reconcile, restoreStation, serializeStation, slotKey,
  type EngineSnapshot, type Slot, type StationState,
} from './state.ts';
import type { AlertStore } from './store.ts';
import { BucketWindow, SampleWindow } from './windows.ts';

export interface AlertEngineOptions {
  readonly registry: Registry;
  readonly rules: RulesFile;
  readonly store: AlertStore;
  /**
   * The time of the input being judged, epoch ms (silence, acknowledgements): the log record's
   * receive time under the log's consumers. Default Date.now.
   */
  readonly clock?: () => number;
  /** How long cleared alerts stay in list()/get(), ms. Default 7 days. */
  readonly retainClearedMs?: number;
  /** tick() writes a snapshot at most this often when something changed, ms. Default 60 000. */
  readonly snapshotEveryMs?: number;
  /**
   * Journal every event to the store before returning it (quantrac 0.1). Off under the durable
   * log, where the log itself is the journal. Default true.
   */
  readonly journal?: boolean;
  /** A periodic snapshot could not be written (the older one and the journal stay; retried next tick). */
  readonly onSnapshotError?: (err: unknown) => void;
  /**
   * Officers' validation marks in force (contracts/validations.ts), asked once per reading: a
   * predicate that is true for a value an officer marked invalid, or undefined when no mark is in
   * force. Marked values are left out of alerts like values that failed QC.
   */
  readonly excluded?: () => ExcludedValue | undefined;
}

/** True for a value an officer marked invalid. */
export type ExcludedValue = (stationId: string, parameter: string, tsMs: number) => boolean;

export interface AlertEngine {
  /** Judges one accepted reading; returns the alert events it caused (usually none). */
  onReading(reading: Reading): AlertEvent[];
  /** Silence detection, pruning and periodic snapshots; call every few seconds. */
  tick(nowMs: number): AlertEvent[];
  acknowledge(alertId: string, ack: { by: string; note?: string; at?: number }): AlertEvent;
  list(filter?: AlertFilter): Alert[];
  get(id: string): Alert | undefined;
  /** Settles once every event returned so far is durable in the store. */
  durable(): Promise<void>;
  /** The whole state, for a consumer lane's snapshot (JSON-safe). */
  exportState(): EngineSnapshot;
  /** Replaces the state with a snapshot taken by exportState(). */
  restoreState(snapshot: EngineSnapshot): void;
  /** Writes a snapshot now (serialised at once, written off the event loop); settles when it is on disk. */
  flush(): Promise<void>;
  /** Flushes and closes the store. */
  close(): void;
}

/** One (station, rule): the signal, its slot key and debounce, computed once. */
interface Judged {
  readonly signal: Signal;
  readonly key: string;
  readonly timing: Timing;
}

interface StationPlan {
  readonly signals: readonly Judged[];
  readonly specs: readonly WindowSpec[];
  readonly silence: readonly Judged[];
}

/**
 * The part of a reading alerts judge: nothing while the station calibrates or is faulty, no value
 * that failed QC (flag 4) and none an officer marked invalid. Suspect values are judged: a flag
 * short of fail never silences an alert.
 */
function usableReading(r: Reading, excluded: ExcludedValue | undefined): Reading | undefined {
  if (!isUsable(r)) return undefined;
  let values: Record<string, number> | undefined;
  for (const p in r.quality) {
    if (isUsable(r, p)) continue;
    values ??= { ...r.values };
    delete values[p];
  }
  if (excluded) {
    for (const p in r.values) {
      if (!excluded(r.stationId, p, r.ts)) continue;
      values ??= { ...r.values };
      delete values[p];
    }
  }
  if (!values) return r;
  return Object.keys(values).length > 0 ? { ...r, values } : undefined;
}

/** A reading has just arrived: no interval missed. */
const SILENT_NOW: Measurement = { value: 0 };

export function createAlertEngine(opts: AlertEngineOptions): AlertEngine {
  const { registry, rules, store } = opts;
  const clock = opts.clock ?? Date.now;
  const retainClearedMs = opts.retainClearedMs ?? 7 * 86_400_000;
  const snapshotEveryMs = opts.snapshotEveryMs ?? 60_000;
  const signals = compileRules(rules);
  const silenceSignals = signals.filter((s) => s.rule.signal === 'silence');
  /**
   * Silence of a station never heard from counts from here: the engine's creation, or under the
   * log the time of the first input it ever judged (kept in its snapshot).
   */
  let startedAt: number | undefined = opts.journal === false ? undefined : clock();

  const alerts = new Map<string, Alert>();
  const slots = new Map<string, Slot>();
  const stations = new Map<string, StationState>();
  /** Per station: its signals with their slot keys (built once), window specs and silence signals. */
  const perStation = new Map<string, StationPlan>();
  let dirty = false;
  let lastSnapshotMs = clock();
  /** The journal write of the latest events; the journal commits in order, so it covers all before. */
  let lastAppend: Promise<void> = Promise.resolve();

  function restore(alertList: readonly Alert[], snap: EngineSnapshot | undefined): void {
    alerts.clear();
    slots.clear();
    stations.clear();
    for (const a of alertList) alerts.set(a.id, a);
    if (snap) {
      for (const [k, s] of snap.slots) slots.set(k, { ...s, life: { ...s.life } });
      for (const [id, s] of snap.stations) stations.set(id, restoreStation(s));
      if (snap.startedAt !== undefined) startedAt = snap.startedAt;
    }
  }
  // The store holds what quantrac 0.1 journalled (snapshot + journal); a lane restores its own
  // snapshot over it with restoreState().
  const recovered = store.load();
  restore(recovered.alerts, recovered.snapshot);
  reconcile(slots, alerts);

  function plan(station: Station): StationPlan {
    let p = perStation.get(station.id);
    if (!p) {
      const mine = signals.filter((s) => s.rule.signal !== 'silence' && s.appliesTo(station));
      const specs = new Map<string, WindowSpec>();
      for (const s of mine) for (const w of s.windows) specs.set(w.key, w);
      const keyed = (list: readonly Signal[]): Judged[] =>
        list.map((signal) => ({
          signal,
          key: slotKey(station.id, signal.rule.id),
          timing: { openAfterMs: signal.rule.openAfterS * 1000, clearAfterMs: signal.rule.clearAfterS * 1000 },
        }));
      p = { signals: keyed(mine), specs: [...specs.values()], silence: keyed(silenceSignals.filter((s) => s.appliesTo(station))) };
      perStation.set(station.id, p);
    }
    return p;
  }

  function stationState(id: string): StationState {
    let st = stations.get(id);
    if (!st) {
      st = { lastSeenMs: null, windows: { buckets: new Map(), samples: new Map() } };
      stations.set(id, st);
    }
    return st;
  }

  function observe(st: StationState, specs: readonly WindowSpec[], r: Reading): void {
    for (const spec of specs) {
      const v = r.values[spec.parameter];
      if (spec.type === 'buckets') {
        let w = st.windows.buckets.get(spec.key);
        if (!w) st.windows.buckets.set(spec.key, (w = new BucketWindow(spec.windowMs, spec.bucketMs)));
        if (v === undefined) w.advanceTo(r.ts);
        else w.push(r.ts, v);
      } else if (v !== undefined) {
        let w = st.windows.samples.get(spec.key);
        if (!w) st.windows.samples.set(spec.key, (w = new SampleWindow(spec.windowMs)));
        w.push(r.ts, v);
      }
    }
  }

  /** One judgement of one (station, rule); pushes the resulting events. */
  function judge(station: Station, { signal, key, timing }: Judged, m: Measurement, atMs: number, out: AlertEvent[]): void {
    const levels = signal.levels(station, atMs);
    if (levels.length === 0) return;
    let slot = slots.get(key);
    if (!slot) slots.set(key, (slot = { life: { level: -1, pending: null, lastMs: NEVER }, alertId: null, lastEmitMs: NEVER, lastEmitValue: NaN }));
    if (atMs < slot.life.lastMs) return; // a late reading does not move the lifecycle back in time
    const before = slot.life;
    const from = Math.min(before.level, levels.length - 1);
    slot.life = step(before, levels, m.value, atMs, timing);
    const to = slot.life.level;
    if (to !== from || before.pending?.sinceMs !== slot.life.pending?.sinceMs) dirty = true;
    const prev = slot.alertId === null ? undefined : alerts.get(slot.alertId);
    if (to === -1 && !prev) return; // the usual case: nothing to report
    const o = { station, signal, value: m.value, forecast: m.forecast, atMs };
    let event: AlertEvent | undefined;
    if (to >= 0 && !prev) {
      const alert = openAlert({ ...o, level: levels[to]! }, rules.version);
      slot.alertId = alert.id;
      event = { type: 'opened', at: atMs, alert };
    } else if (prev && to === -1) {
      event = { type: 'cleared', at: atMs, alert: clearAlert(prev, o, levels[Math.max(0, from)]!) };
      slot.alertId = null;
    } else if (prev) {
      const updateDue = atMs - slot.lastEmitMs >= signal.rule.updateEveryS * 1000 && m.value !== slot.lastEmitValue;
      const newPeak = signal.worse === 'higher' ? m.value > prev.peakValue : m.value < prev.peakValue;
      // Hot path: a continuing breach at the same level rebuilds its alert (and message) only when
      // something an officer sees changes — level, peak, or a due update — not for every reading.
      if (to !== from || updateDue || newPeak) {
        const alert = moveAlert(prev, { ...o, level: levels[to]! });
        if (to > from) event = { type: 'escalated', at: atMs, alert, from: prev.level };
        else if (to < from) event = { type: 'updated', reason: 'deescalated', at: atMs, alert, from: prev.level };
        else if (updateDue) event = { type: 'updated', reason: 'value', at: atMs, alert };
        alerts.set(alert.id, alert);
      }
    }
    if (event) {
      alerts.set(event.alert.id, event.alert);
      slot.lastEmitMs = atMs;
      slot.lastEmitValue = m.value;
      out.push(event);
    }
  }

  function commit(events: AlertEvent[]): AlertEvent[] {
    if (events.length > 0) {
      if (opts.journal !== false) {
        lastAppend = store.append(events);
        lastAppend.catch(() => undefined); // surfaced through durable(); never an unhandled rejection
      }
      dirty = true;
    }
    return events;
  }

  function snapshot(nowMs: number): EngineSnapshot {
    return {
      version: 1, savedAt: nowMs, rulesVersion: rules.version, ...(startedAt !== undefined ? { startedAt } : {}),
      alerts: [...alerts.values()],
      slots: [...slots],
      stations: [...stations].map(([id, s]) => [id, serializeStation(s)] as const),
    };
  }

  function flush(): Promise<void> {
    const now = clock();
    const written = store.saveSnapshot(snapshot(now));
    lastSnapshotMs = now;
    dirty = false;
    return written;
  }

  return {
    onReading(reading) {
      const station = registry.get(reading.stationId);
      if (!station) return [];
      const st = stationState(station.id);
      const p = plan(station);
      const out: AlertEvent[] = [];
      const usable = usableReading(reading, opts.excluded?.());
      if (usable) {
        observe(st, p.specs, usable);
        dirty = true; // windows moved: the next due snapshot (tick) saves them
        for (const j of p.signals) {
          const m = j.signal.evaluate(station, st.windows, usable);
          if (m !== undefined) judge(station, j, m, usable.ts, out);
        }
      }
      const now = clock();
      startedAt ??= now;
      st.lastSeenMs = Math.max(st.lastSeenMs ?? NEVER, now);
      for (const j of p.silence) judge(station, j, SILENT_NOW, now, out);
      return commit(out);
    },

    tick(nowMs) {
      startedAt ??= nowMs;
      const out: AlertEvent[] = [];
      for (const station of registry.stations) {
        const silence = plan(station).silence;
        if (silence.length === 0) continue;
        const seen = stations.get(station.id)?.lastSeenMs ?? startedAt;
        const missed = { value: Math.max(0, Math.floor(((nowMs - seen) / (station.intervalS * 1000)) * 10) / 10) };
        for (const j of silence) judge(station, j, missed, nowMs, out);
      }
      for (const [id, a] of alerts) if (a.state === 'cleared' && (a.clearedAt ?? 0) < nowMs - retainClearedMs) alerts.delete(id);
      commit(out);
      if (dirty && nowMs - lastSnapshotMs >= snapshotEveryMs) {
        flush().catch((err: unknown) => {
          dirty = true;
          opts.onSnapshotError?.(err);
        });
      }
      return out;
    },

    durable: () => lastAppend,
    exportState: () => snapshot(clock()),
    restoreState(snap) {
      restore(snap.alerts, snap);
      perStation.clear();
    },

    acknowledge(alertId, ack) {
      const prev = alerts.get(alertId);
      if (!prev) throw new AlertNotFoundError(alertId);
      const at = ack.at ?? clock();
      const alert: Alert = { ...prev, acknowledged: { by: ack.by, at, ...(ack.note ? { note: ack.note } : {}) }, updatedAt: Math.max(prev.updatedAt, at) };
      alerts.set(alertId, alert);
      const event: AlertEvent = { type: 'acknowledged', at, alert };
      commit([event]);
      return event;
    },

    list: (filter) => filterAlertList(alerts.values(), filter),

    get: (id) => alerts.get(id),
    flush,
    close() {
      store.close(snapshot(clock()));
    },
  };
}

/** Alerts matching every given field of the filter, most severe first, then most recently updated. */
export function filterAlertList(all: Iterable<Alert>, filter: AlertFilter = {}): Alert[] {
  const min = filter.minSeverity === undefined ? -1 : severityRank(filter.minSeverity);
  return [...all]
    .filter(
      (a) =>
        (filter.state === undefined || a.state === filter.state) &&
        (filter.stationId === undefined || a.stationId === filter.stationId) &&
        (filter.ruleId === undefined || a.ruleId === filter.ruleId) &&
        (filter.kind === undefined || a.kind === filter.kind) &&
        (filter.acknowledged === undefined || (a.acknowledged !== null) === filter.acknowledged) &&
        severityRank(a.level.severity) >= min,
    )
    .sort((a, b) => severityRank(b.level.severity) - severityRank(a.level.severity) || b.updatedAt - a.updatedAt);
}
