// The per-(station, rule) state machine: hysteresis (levels.ts) plus debounce. Pure: it says which
// level the alert moves to; the engine turns moves into alerts and events.
import { targetLevel, type CompiledLevel } from './levels.ts';

export interface LifecycleState {
  /** Current level index; -1 = no alert. */
  readonly level: number;
  /** A different target seen since `sinceMs`, waiting out its debounce. */
  readonly pending: { readonly level: number; readonly sinceMs: number } | null;
  /** Time of the last evaluated value (later values only). */
  readonly lastMs: number;
}

export const INITIAL_STATE: LifecycleState = { level: -1, pending: null, lastMs: -Infinity };

export interface Timing {
  /** Debounce before opening or escalating, ms. */
  readonly openAfterMs: number;
  /** Debounce before clearing or de-escalating, ms. */
  readonly clearAfterMs: number;
}

/**
 * One evaluation. A move up needs the higher target to persist for openAfterMs, a move down for
 * clearAfterMs; a value back at the current level cancels the pending move. While a move in the
 * same direction is pending its start time is kept and its target follows the latest value.
 */
export function step(state: LifecycleState, levels: readonly CompiledLevel[], value: number, atMs: number, timing: Timing): LifecycleState {
  const current = Math.min(state.level, levels.length - 1);
  const target = targetLevel(levels, current, value);
  if (target === current) return { level: current, pending: null, lastMs: atMs };
  const up = target > current;
  const p = state.pending;
  const sinceMs = p && p.level > current === up ? p.sinceMs : atMs;
  const waitMs = up ? timing.openAfterMs : timing.clearAfterMs;
  if (atMs - sinceMs >= waitMs) return { level: target, pending: null, lastMs: atMs };
  return { level: current, pending: { level: target, sinceMs }, lastMs: atMs };
}
