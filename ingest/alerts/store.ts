// Durable alert store: an append-only journal of alert events (one JSON line each, write + fsync)
// and a snapshot of the engine state (tmp file, fsync, atomic rename, directory fsync). Recovery
// = snapshot + journal lines newer than it; a torn last line (crash mid-write) is cut off.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
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
  /** Appends events durably (one write and one fsync per call). */
  append(events: readonly AlertEvent[]): void;
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
      seq = snap?.seq ?? 0;
      const alerts = new Map((snap?.engine.alerts ?? []).map((a) => [a.id, a]));
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
          if (entry.seq <= seq) continue;
          seq = entry.seq;
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
      if (events.length === 0) return;
      const lines = events.map((event) => JSON.stringify({ seq: ++seq, event })).join('\n') + '\n';
      try {
        const f = journal();
        writeSync(f, lines);
        fsyncSync(f);
      } catch (err) {
        throw new AlertStoreError(`cannot append to ${journalPath}`, { cause: err });
      }
    },

    saveSnapshot(engine) {
      const tmp = `${snapshotPath}.tmp`;
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
      if (fd !== null) closeSync(fd);
      fd = null;
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
    },
    saveSnapshot(s) {
      snapshot = structuredClone(s);
      journal = [];
    },
    close() {},
  };
}
