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
  readonly events: readonly AlertEvent[];
  /** Every alert at the end of the replay (active or cleared). */
  readonly alerts: readonly Alert[];
  readonly byRule: Readonly<Record<string, { opened: number; escalated: number; deescalated: number; cleared: number }>>;
  readonly readings: number;
}

/** A backtest fed in time-ordered chunks (a stored window streamed from InfluxDB): memory holds
 * one chunk, the engine's state and the events, never the whole window. */
export interface BacktestRun {
  /** Readings in time order, after every reading fed before (each chunk sorted by the caller). */
  feed(chunk: readonly Reading[]): void;
  report(): BacktestReport;
}

export function createBacktestRun(input: Omit<BacktestInput, 'readings'>): BacktestRun {
  let now = 0;
  const engine = createAlertEngine({
    registry: input.registry, rules: input.rules, store: createMemoryAlertStore(),
    clock: () => now, retainClearedMs: Number.MAX_SAFE_INTEGER, snapshotEveryMs: Number.POSITIVE_INFINITY,
  });
  const events: AlertEvent[] = [];
  let count = 0;
  return {
    feed(chunk) {
      for (const r of chunk) {
        now = r.ts;
        if (input.silence ?? true) events.push(...engine.tick(now));
        events.push(...engine.onReading(r));
      }
      count += chunk.length;
    },
    report() {
      const byRule: Record<string, { opened: number; escalated: number; deescalated: number; cleared: number }> = {};
      for (const e of events) {
        const c = (byRule[e.alert.ruleId] ??= { opened: 0, escalated: 0, deescalated: 0, cleared: 0 });
        if (e.type === 'opened') c.opened++;
        else if (e.type === 'escalated') c.escalated++;
        else if (e.type === 'cleared') c.cleared++;
        else if (e.type === 'updated' && e.reason === 'deescalated') c.deescalated++;
      }
      return { events, alerts: engine.list(), byRule, readings: count };
    },
  };
}

/** Replays readings given in any order (sorted here). */
export function backtest(input: BacktestInput): BacktestReport {
  const run = createBacktestRun(input);
  run.feed([...input.readings].sort((a, b) => a.ts - b.ts));
  return run.report();
}
