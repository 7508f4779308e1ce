// Compiled levels (set/hold predicates per level) and the hysteresis rule that picks a target level.
import type { AlertLevel, Severity } from '../../contracts/alerts.ts';

export interface CompiledLevel extends AlertLevel {
  /** The value opens (or escalates to) this level. */
  readonly set: (value: number) => boolean;
  /** The value keeps an alert already at this level there (the clear threshold not yet passed). */
  readonly hold: (value: number) => boolean;
}

type Text = { readonly vi: string; readonly en: string };

export function level(
  index: number,
  key: string,
  label: Text,
  severity: Severity,
  threshold: string,
  set: (v: number) => boolean,
  hold: (v: number) => boolean,
): CompiledLevel {
  return { index, key, label, severity, threshold, set, hold };
}

/** A level crossed upward at `set` (inclusive) and left below `clear`. */
export function aboveLevel(index: number, l: { key: string; label: Text; severity: Severity; set: number; clear: number }, unit: string): CompiledLevel {
  return level(index, l.key, l.label, l.severity, `≥ ${fmt(l.set)}${unit ? ` ${unit}` : ''}`, (v) => v >= l.set, (v) => v >= l.clear);
}

/** A level crossed downward at `set` (inclusive) and left above `clear`. */
export function belowLevel(index: number, l: { key: string; label: Text; severity: Severity; set: number; clear: number }, unit: string): CompiledLevel {
  return level(index, l.key, l.label, l.severity, `≤ ${fmt(l.set)}${unit ? ` ${unit}` : ''}`, (v) => v <= l.set, (v) => v <= l.clear);
}

export function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/**
 * Hysteresis: the target is the highest level whose set condition holds; if that is below the
 * current level, the alert stays at the highest level ≤ current still held (de-escalating only
 * past a level's own clear threshold). -1 = no level (clear).
 */
export function targetLevel(levels: readonly CompiledLevel[], current: number, value: number): number {
  let target = -1;
  for (let i = levels.length - 1; i >= 0; i--) {
    if ((levels[i] as CompiledLevel).set(value)) {
      target = i;
      break;
    }
  }
  const top = Math.min(current, levels.length - 1);
  if (target >= top) return target;
  for (let i = top; i > target; i--) if ((levels[i] as CompiledLevel).hold(value)) return i;
  return target;
}

export function publicLevel(l: CompiledLevel): AlertLevel {
  return { index: l.index, key: l.key, label: l.label, severity: l.severity, threshold: l.threshold };
}
