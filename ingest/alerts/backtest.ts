// Backtest: replays readings in time order through a fresh engine (memory store, clock = reading
// time) and reports which alerts would have opened, escalated and cleared. Pure: no I/O.
import type { Alert, AlertEvent } from '../../contracts/alerts.ts';
import type { Reading } from '../../contracts/reading.ts';
import type { Registry } from '../../contracts/stations.ts';
import { createAlertEngine } from './engine.ts';
import type { RulesFile } from './rules.ts';
import { createMemoryAlertStore } from './store.ts';

export interface BacktestInput {
  readonly rules: RulesFile;
  readonly registry: Registry;
  readonly readings: Iterable<Reading>;
  /** Run silence detection (tick) at each reading time as well. Default true. */
  readonly silence?: boolean;
}

export interface BacktestReport {
  /** The events kept (see BacktestReportOptions), in order. */
  readonly events: readonly AlertEvent[];
  /** Events the replay produced that the report keeps or would keep without `maxEvents`. */
  readonly eventsTotal: number;
  /** True when `maxEvents` cut the list (byRule still counts every event). */
  readonly eventsTruncated: boolean;
  /** Every alert at the end of the replay (active or cleared). */
  readonly alerts: readonly Alert[];
  readonly byRule: Readonly<Record<string, { opened: number; escalated: number; deescalated: number; cleared: number }>>;
  readonly readings: number;
}

/**
 * What a report keeps. A whole-registry month opens and clears thousands of alerts and, while they
 * are open, emits a value update every few minutes (500 stations × 31 days of the bench's data:
 * ~1 M events, ~1.7 GB of heap); the API shows transitions only, so it asks for those and a cap.
 */
export interface BacktestReportOptions {
  /** Keep `updated` events of reason `value` (default true). */
  readonly valueUpdates?: boolean;
  /** Keep at most this many events, the first ones (default: all). */
  readonly maxEvents?: number;
}

/** A backtest fed in time-ordered chunks (a stored window streamed from InfluxDB): memory holds
 * one chunk, the engine's state and the events, never the whole window. */
export interface BacktestRun {
  /** Readings in time order, after every reading fed before (each chunk sorted by the caller). */
  feed(chunk: readonly Reading[]): void;
  report(): BacktestReport;
}

export function createBacktestRun(input: Omit<BacktestInput, 'readings'> & BacktestReportOptions): BacktestRun {
  const valueUpdates = input.valueUpdates ?? true;
  const maxEvents = input.maxEvents ?? Number.POSITIVE_INFINITY;
  let now = 0;
  const engine = createAlertEngine({
    registry: input.registry, rules: input.rules, store: createMemoryAlertStore(),
    clock: () => now, retainClearedMs: Number.MAX_SAFE_INTEGER, snapshotEveryMs: Number.POSITIVE_INFINITY,
    // No journal: the report keeps what it needs; a journal in memory, never snapshotted, kept every
    // event of the replay (value updates included) — the heap grew with the window and the registry
    // until a 31-day backtest of 500 stations ran out of its 512 MB.
    journal: false,
  });
  const events: AlertEvent[] = [];
  const byRule: Record<string, { opened: number; escalated: number; deescalated: number; cleared: number }> = {};
  let eventsTotal = 0;
  let count = 0;
  const take = (out: readonly AlertEvent[]) => {
    for (const e of out) {
      const c = (byRule[e.alert.ruleId] ??= { opened: 0, escalated: 0, deescalated: 0, cleared: 0 });
      if (e.type === 'opened') c.opened++;
      else if (e.type === 'escalated') c.escalated++;
      else if (e.type === 'cleared') c.cleared++;
      else if (e.type === 'updated' && e.reason === 'deescalated') c.deescalated++;
      if (!valueUpdates && e.type === 'updated' && e.reason === 'value') continue;
      eventsTotal++;
      if (events.length < maxEvents) events.push(e);
    }
  };
  return {
    feed(chunk) {
      for (const r of chunk) {
        now = r.ts;
        if (input.silence ?? true) take(engine.tick(now));
        take(engine.onReading(r));
      }
      count += chunk.length;
    },
    report() {
      return { events, eventsTotal, eventsTruncated: eventsTotal > events.length, alerts: engine.list(), byRule, readings: count };
    },
  };
}

/** Replays readings given in any order (sorted here). */
export function backtest(input: BacktestInput): BacktestReport {
  const run = createBacktestRun(input);
  run.feed([...input.readings].sort((a, b) => a.ts - b.ts));
  return run.report();
}
