// Durable alert store: an append-only journal of alert events (one JSON line each; group commit:
// one write + fdatasync off the event loop for all events appended meanwhile) and a snapshot of the
// engine state (tmp file, fsync, atomic rename, directory fsync). Recovery = snapshot + journal
// lines newer than it; a torn last line (crash mid-write) is cut off.
import { closeSync, existsSync, fdatasync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, write, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Alert, AlertEvent } from '../../contracts/alerts.ts';
import { AlertStoreError } from './errors.ts';
import type { EngineSnapshot } from './state.ts';

export interface RecoveredState {
  /** The last snapshot, if one was written. */
  readonly snapshot: EngineSnapshot | undefined;
  /** Every alert known: the snapshot's, updated by the journal's events. */
  readonly alerts: readonly Alert[];
}

export interface AlertStore {
  load(): RecoveredState;
  /**
   * Queues events for the journal; the promise settles once they are on disk (group commit). The
   * order of events is kept. Never blocks the caller.
   */
  append(events: readonly AlertEvent[]): Promise<void>;
  /** Replaces the snapshot atomically, then empties the journal it covers. */
  saveSnapshot(snapshot: EngineSnapshot): void;
  close(): void;
}

const SNAPSHOT = 'alerts-snapshot.json';
const JOURNAL = 'alerts-journal.ndjson';

interface SnapshotFile {
  readonly seq: number;
  readonly engine: EngineSnapshot;
}

/** A store under `dir` (created if missing). Throws AlertStoreError when the files cannot be used. */
export function createAlertStore(dir: string): AlertStore {
  mkdirSync(dir, { recursive: true });
  const snapshotPath = join(dir, SNAPSHOT);
  const journalPath = join(dir, JOURNAL);
  let seq = 0;
  let fd: number | null = null;
  let pending = '';
  let waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  let committing = false;
  /** A write or fdatasync is running on the thread pool. */
  let inFlight = false;
  let closeWhenIdle = false;

  /** Writes and syncs everything queued, then whatever was queued meanwhile, until none is left. */
  function commit(): void {
    inFlight = false;
    if (pending === '') {
      committing = false;
      if (closeWhenIdle && fd !== null) {
        closeSync(fd);
        fd = null;
      }
      return;
    }
    committing = true;
    const text = pending;
    const batch = waiters;
    pending = '';
    waiters = [];
    const fail = (err: unknown) => {
      const e = new AlertStoreError(`cannot append to ${journalPath}`, { cause: err });
      for (const w of batch) w.reject(e);
      commit();
    };
    let f: number;
    try {
      f = journal();
    } catch (err) {
      return fail(err);
    }
    inFlight = true;
    write(f, text, (err) => {
      if (err) return fail(err);
      fdatasync(f, (syncErr) => {
        if (syncErr) return fail(syncErr);
        for (const w of batch) w.resolve();
        commit();
      });
    });
  }

  const journal = (): number => {
    fd ??= openSync(journalPath, 'a');
    return fd;
  };

  return {
    load() {
      let snap: SnapshotFile | undefined;
      if (existsSync(snapshotPath)) {
        try {
          snap = JSON.parse(readFileSync(snapshotPath, 'utf8')) as SnapshotFile;
        } catch (err) {
          throw new AlertStoreError(`unreadable alert snapshot ${snapshotPath}`, { cause: err });
        }
        if (snap.engine?.version !== 1) throw new AlertStoreError(`unknown alert snapshot version in ${snapshotPath}`);
      }
      const snapSeq = snap?.seq ?? 0;
      seq = snapSeq;
      const alerts = new Map((snap?.engine.alerts ?? []).map((a) => [a.id, a]));
      const entries: { seq: number; event: AlertEvent }[] = [];
      if (existsSync(journalPath)) {
        const text = readFileSync(journalPath, 'utf8');
        let good = 0;
        for (const line of text.split('\n')) {
          if (line === '') break;
          let entry: { seq: number; event: AlertEvent };
          try {
            entry = JSON.parse(line) as { seq: number; event: AlertEvent };
          } catch {
            break; // torn write at the end: everything after it is lost anyway
          }
          good += Buffer.byteLength(line) + 1;
          if (entry.seq > snapSeq) entries.push(entry);
        }
        // Applied in seq order: a line written by close() may land before one still in flight.
        entries.sort((a, b) => a.seq - b.seq);
        for (const entry of entries) {
          seq = Math.max(seq, entry.seq);
          alerts.set(entry.event.alert.id, entry.event.alert);
        }
        if (good < Buffer.byteLength(text)) {
          const f = openSync(journalPath, 'r+');
          ftruncateSync(f, good);
          fsyncSync(f);
          closeSync(f);
        }
      }
      return { snapshot: snap?.engine, alerts: [...alerts.values()] };
    },

    append(events) {
      if (events.length === 0) return Promise.resolve();
      for (const event of events) pending += `${JSON.stringify({ seq: ++seq, event })}\n`;
      const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      if (!committing) {
        committing = true;
        setImmediate(commit);
      }
      return done;
    },

    saveSnapshot(engine) {
      const tmp = `${snapshotPath}.tmp`;
      // Events still queued for the journal are in this snapshot (their seq is not above it), so
      // recovery skips them wherever they land relative to the truncation below.
      try {
        const f = openSync(tmp, 'w');
        writeSync(f, JSON.stringify({ seq, engine } satisfies SnapshotFile));
        fsyncSync(f);
        closeSync(f);
        renameSync(tmp, snapshotPath);
        const d = openSync(dir, 'r');
        fsyncSync(d);
        closeSync(d);
        // The snapshot now holds every journalled event: start the journal afresh.
        ftruncateSync(journal(), 0);
        fsyncSync(journal());
      } catch (err) {
        throw new AlertStoreError(`cannot write alert snapshot ${snapshotPath}`, { cause: err });
      }
    },

    close() {
      // Anything still queued is written synchronously: close() is the last word.
      if (pending !== '') {
        const f = journal();
        writeSync(f, pending);
        fsyncSync(f);
        pending = '';
        for (const w of waiters.splice(0)) w.resolve();
      }
      if (inFlight) closeWhenIdle = true; // the running commit closes the file when it ends
      else if (fd !== null) {
        closeSync(fd);
        fd = null;
      }
    },
  };
}

/** A store in memory (backtests, tests): same contract, nothing survives the process. */
export function createMemoryAlertStore(): AlertStore & { readonly events: readonly AlertEvent[] } {
  let snapshot: EngineSnapshot | undefined;
  let journal: AlertEvent[] = [];
  return {
    get events() {
      return journal;
    },
    load() {
      const alerts = new Map((snapshot?.alerts ?? []).map((a) => [a.id, a]));
      for (const e of journal) alerts.set(e.alert.id, e.alert);
      return { snapshot, alerts: [...alerts.values()] };
    },
    append(events) {
      journal.push(...events);
      return Promise.resolve();
    },
    saveSnapshot(s) {
      snapshot = structuredClone(s);
      journal = [];
    },
    close() {},
  };
}
