// The engine's durable state: per (station, rule) lifecycle slots and per station rolling windows,
// plus their snapshot form for the store. Alerts themselves are recovered from the journal.
import type { Alert } from '../../contracts/alerts.ts';
import type { LifecycleState } from './lifecycle.ts';
import type { StationWindows } from './signals.ts';
import { BucketWindow, SampleWindow, type BucketWindowState } from './windows.ts';

export interface Slot {
  life: LifecycleState;
  /** The open alert of this (station, rule), if any. */
  alertId: string | null;
  /** Time and value of the last event emitted for the open alert (update throttle). */
  lastEmitMs: number;
  lastEmitValue: number;
}

export interface StationState {
  readonly windows: StationWindows;
  /** Clock time of the last reading (silence detection), ms. */
  lastSeenMs: number | null;
}

export const slotKey = (stationId: string, ruleId: string): string => `${stationId}|${ruleId}`;

export const NEVER = Number.MIN_SAFE_INTEGER;

export interface EngineSnapshot {
  readonly version: 1;
  readonly savedAt: number;
  readonly rulesVersion: number;
  /** When the engine judged its first input (silence of never-seen stations counts from it). */
  readonly startedAt?: number;
  readonly alerts: readonly Alert[];
  readonly slots: readonly (readonly [string, Slot])[];
  readonly stations: readonly (readonly [string, SerializedStation])[];
}

interface SerializedStation {
  readonly lastSeenMs: number | null;
  readonly buckets: readonly (readonly [string, BucketWindowState])[];
  readonly samples: readonly (readonly [string, ReturnType<SampleWindow['toJSON']>])[];
}

export function serializeStation(s: StationState): SerializedStation {
  return {
    lastSeenMs: s.lastSeenMs,
    buckets: [...s.windows.buckets].map(([k, w]) => [k, w.toJSON()] as const),
    samples: [...s.windows.samples].map(([k, w]) => [k, w.toJSON()] as const),
  };
}

export function restoreStation(s: SerializedStation): StationState {
  return {
    lastSeenMs: s.lastSeenMs,
    windows: {
      buckets: new Map(s.buckets.map(([k, w]) => [k, BucketWindow.fromJSON(w)])),
      samples: new Map(s.samples.map(([k, w]) => [k, SampleWindow.fromJSON(w)])),
    },
  };
}

/**
 * Makes slots agree with the recovered alerts (the journal is newer than the snapshot): an active
 * alert continues at its level, a slot whose alert has cleared or vanished starts over.
 */
export function reconcile(slots: Map<string, Slot>, alerts: ReadonlyMap<string, Alert>): void {
  for (const a of alerts.values()) {
    if (a.state !== 'active') continue;
    const key = slotKey(a.stationId, a.ruleId);
    const slot = slots.get(key);
    if (slot && slot.alertId === a.id && slot.life.level === a.level.index) continue;
    slots.set(key, {
      life: { level: a.level.index, pending: null, lastMs: Math.max(a.updatedAt, slot?.life.lastMs ?? NEVER) },
      alertId: a.id,
      lastEmitMs: a.updatedAt,
      lastEmitValue: a.value,
    });
  }
  for (const slot of slots.values()) {
    if (slot.alertId !== null && alerts.get(slot.alertId)?.state !== 'active') {
      slot.alertId = null;
      slot.life = { level: -1, pending: null, lastMs: slot.life.lastMs };
    }
  }
}
