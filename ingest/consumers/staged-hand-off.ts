// The hand-off between the two lanes of one process. The now lane reads every committed record
// first and runs it through the reading stage; the store lane, which follows behind it, takes each
// record's outcome from here instead of decoding, validating and quality-checking it a second time.
// The reading stage is a function of the record and the quality state at that log position
// (reading-stage.ts), so the outcome is the one the store lane's own stage would compute.
//
//   log ──▶ now lane: reading stage ──▶ alerts, live
//                          └──▶ hand-off (bounded, log order) ──▶ store lane ──▶ writer
//
// Bounded: past `maxRecords` the oldest outcomes are dropped (InfluxDB down for a while, the store
// lane far behind). The store lane then runs its own stage from the log again, its quality state
// rebuilt from a snapshot at or before its position (store-lane.ts); the now lane never waits for
// it. Quality snapshots the now lane takes are offered here too: they are the store lane's
// snapshots while it follows (its own stage is idle then).
import type { LaneSnapshot } from './lane-state.ts';
import type { LogPosition } from '../log/types.ts';
import type { StagedPublish } from './reading-stage.ts';

/** One record's outcome, as the store lane needs it. */
export type HandedRecord =
  | { readonly kind: 'publish'; readonly staged: StagedPublish | undefined; readonly receivedAt: number; readonly qos: 0 | 1 }
  | { readonly kind: 'line'; readonly line: string }
  /** Clock ticks, commands: nothing to store. */
  | { readonly kind: 'other' }
  /** The stage threw on this record (a program error): each lane reports it and skips it. */
  | { readonly kind: 'error'; readonly err: unknown };

export interface HandedEntry {
  /**
   * Where a reader stood before this record: the previous entry's `next` (the first record of a read
   * can lie beyond it, past a segment's end). A consumer at `from` reads this record next. A stretch
   * the producer's reader stepped over with no record in it is an entry too (kind 'other', `next`
   * past the stretch), so the entries chain from one `next` to the following `from`.
   */
  readonly from: LogPosition;
  readonly position: LogPosition;
  readonly next: LogPosition;
  readonly record: HandedRecord;
}

export interface StagedHandOff {
  /** Producer: one record's outcome, in log order. */
  put(entry: HandedEntry): void;
  /** Producer: has read up to `position` (outcomes before it are here unless dropped); wakes the consumer. */
  produced(position: LogPosition): void;
  /** Producer: the quality state at an exact record boundary (its lane's snapshot). */
  offerSnapshot(snapshot: LaneSnapshot): void;
  /** Producer: running (true) or stopped (false: the consumer stops waiting for it). */
  setActive(active: boolean): void;
  /** Consumer: the outcome of the record a reader at `position` reads next, if still held; drops it and every older one. */
  take(position: LogPosition): HandedEntry | undefined;
  /** Consumer: the producer runs and has not reached `position` yet (its outcome will come here). */
  ahead(position: LogPosition): boolean;
  /** Consumer: the snapshots offered since the last call, oldest first. */
  takeSnapshots(): LaneSnapshot[];
  /** Consumer: called when the producer moved (once per batch). */
  onProduced(listener: () => void): void;
  /** Outcomes held now. */
  size(): number;
}

/** Outcomes held at most (about 2.5 s of 20,000 readings/s). */
export const HAND_OFF_RECORDS = 50_000;

export function createStagedHandOff(maxRecords = HAND_OFF_RECORDS): StagedHandOff {
  let queue: HandedEntry[] = [];
  let head = 0;
  let producedUpTo: LogPosition = 0;
  let active = false;
  let snapshots: LaneSnapshot[] = [];
  const listeners: (() => void)[] = [];

  function compact(): void {
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  return {
    put(entry) {
      queue.push(entry);
      if (queue.length - head > maxRecords) head++;
      compact();
    },
    produced(position) {
      producedUpTo = position;
      for (const l of listeners) l();
    },
    offerSnapshot(snapshot) {
      snapshots.push(snapshot);
      if (snapshots.length > 8) snapshots.shift(); // the consumer is far behind: it keeps its own
    },
    setActive(on) {
      active = on;
      for (const l of listeners) l();
    },
    take(position) {
      while (head < queue.length && queue[head]!.from < position) head++;
      compact();
      if (head >= queue.length || queue[head]!.from !== position) return undefined;
      const entry = queue[head]!;
      head++;
      return entry;
    },
    ahead: (position) => active && position >= producedUpTo,
    takeSnapshots() {
      const out = snapshots;
      snapshots = [];
      return out;
    },
    onProduced: (listener) => void listeners.push(listener),
    size: () => queue.length - head,
  };
}
