// Durable alert store: an append-only journal of alert events (one JSON line each; group commit:
// one write + fdatasync off the event loop for all events appended meanwhile) and a snapshot of the
// engine state. Recovery = snapshot + journal lines newer than it; a torn last line (crash
// mid-write) is cut off.
//
// The journal is split into generations (alerts-journal.<gen>.ndjson). A snapshot is serialised on
// the event loop, starts the next generation at once, and is written off it (tmp file, fdatasync,
// atomic rename, directory fsync); only then are the older generations deleted. So a snapshot
// never stalls ingest for its disk writes, and events journalled meanwhile are never lost with an
// older generation: every generation newer than the snapshot stays.
import { closeSync, existsSync, fdatasync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlink, unlinkSync, write, writeFile, writeSync } from 'node:fs';
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
  /**
   * Replaces the snapshot; the journal it covers is dropped once it is durable. Serialises now and
   * writes off the event loop; the promise settles when the snapshot is on disk (failures are
   * reported there and the older snapshot and journal stay).
   */
  saveSnapshot(snapshot: EngineSnapshot): Promise<void>;
  /** Writes anything queued and the given last snapshot synchronously (shutdown). */
  close(last?: EngineSnapshot): void;
}

const SNAPSHOT = 'alerts-snapshot.json';
/** The journal of versions before generations; read at recovery, deleted by the first snapshot. */
const LEGACY_JOURNAL = 'alerts-journal.ndjson';
const JOURNAL_RE = /^alerts-journal\.(\d+)\.ndjson$/;
const journalName = (gen: number) => `alerts-journal.${gen}.ndjson`;

/**
 * On-disk format version of the snapshot file and of each journal line (docs/on-disk-formats.md).
 * Files of quantrac 0.1 carry none and are read as version 1 (same layout); a newer version than
 * this code knows stops start-up rather than being misread.
 */
export const ALERT_STORE_FORMAT = 1;

interface SnapshotFile {
  readonly version?: number;
  readonly seq: number;
  /** The journal generation started with this snapshot (absent before generations). */
  readonly gen?: number;
  readonly engine: EngineSnapshot;
}

/** Journal files present, oldest generation first (the legacy file counts as generation -1). */
function journalFiles(dir: string): { gen: number; path: string }[] {
  const out: { gen: number; path: string }[] = [];
  for (const name of readdirSync(dir)) {
    const m = JOURNAL_RE.exec(name);
    if (m) out.push({ gen: Number(m[1]), path: join(dir, name) });
    else if (name === LEGACY_JOURNAL) out.push({ gen: -1, path: join(dir, name) });
  }
  return out.sort((a, b) => a.gen - b.gen);
}

/** A store under `dir` (created if missing). Throws AlertStoreError when the files cannot be used. */
export function createAlertStore(dir: string): AlertStore {
  mkdirSync(dir, { recursive: true });
  const snapshotPath = join(dir, SNAPSHOT);
  let seq = 0;
  /** Generation new events are journalled to. */
  let gen = 0;
  let fd: number | null = null;
  let fdGen = -1;
  let pending = '';
  let waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  let committing = false;
  /** A write or fdatasync is running on the thread pool. */
  let inFlight = false;
  let closeWhenIdle = false;
  /** Highest generation whose snapshot has been renamed into place (an older one must not replace it). */
  let installedGen = -1;
  let snapshots: Promise<void> = Promise.resolve();

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
      const e = new AlertStoreError(`cannot append to ${join(dir, journalName(gen))}`, { cause: err });
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

  /** The current generation's journal, opened on first use (the previous one closed: nothing is in flight on it). */
  const journal = (): number => {
    if (fd !== null && fdGen !== gen) {
      closeSync(fd);
      fd = null;
    }
    if (fd === null) {
      fd = openSync(join(dir, journalName(gen)), 'a');
      fdGen = gen;
    }
    return fd;
  };

  /** Deletes the journal generations older than `keepFrom` (their events are in the snapshot). */
  function dropOlder(keepFrom: number, sync: boolean): Promise<void> | void {
    const old = journalFiles(dir).filter((j) => j.gen < keepFrom);
    if (sync) return old.forEach((j) => unlinkSync(j.path));
    return Promise.all(old.map((j) => new Promise<void>((resolve) => unlink(j.path, () => resolve())))).then(() => undefined);
  }

  const syncDir = () =>
    new Promise<void>((resolve, reject) => {
      let d: number;
      try {
        d = openSync(dir, 'r');
      } catch (err) {
        return reject(err);
      }
      fsync(d, (err) => {
        closeSync(d);
        if (err) reject(err);
        else resolve();
      });
    });

  /** Serialises the snapshot and starts the next journal generation: both synchronous. */
  function prepare(engine: EngineSnapshot): { text: string; newGen: number; tmp: string } {
    const newGen = gen + 1;
    // Events still queued for the journal are in this snapshot (their seq is not above it); they
    // land in the new generation, where recovery skips them by seq.
    const text = JSON.stringify({ version: ALERT_STORE_FORMAT, seq, gen: newGen, engine } satisfies SnapshotFile);
    gen = newGen;
    return { text, newGen, tmp: `${snapshotPath}.${newGen}.tmp` };
  }

  return {
    load() {
      let snap: SnapshotFile | undefined;
      if (existsSync(snapshotPath)) {
        try {
          snap = JSON.parse(readFileSync(snapshotPath, 'utf8')) as SnapshotFile;
        } catch (err) {
          throw new AlertStoreError(`unreadable alert snapshot ${snapshotPath}`, { cause: err });
        }
        if ((snap.version ?? 1) > ALERT_STORE_FORMAT) throw new AlertStoreError(`${snapshotPath} is format ${snap.version}, written by a newer quantrac`);
        if (snap.engine?.version !== 1) throw new AlertStoreError(`unknown alert snapshot version in ${snapshotPath}`);
      }
      const snapSeq = snap?.seq ?? 0;
      seq = snapSeq;
      const alerts = new Map((snap?.engine.alerts ?? []).map((a) => [a.id, a]));
      const entries: { seq: number; event: AlertEvent }[] = [];
      const files = journalFiles(dir);
      for (const { path } of files) {
        const text = readFileSync(path, 'utf8');
        let good = 0;
        for (const line of text.split('\n')) {
          if (line === '') break;
          let entry: { v?: number; seq: number; event: AlertEvent };
          try {
            entry = JSON.parse(line) as { v?: number; seq: number; event: AlertEvent };
          } catch {
            break; // torn write at the end: everything after it is lost anyway
          }
          if ((entry.v ?? 1) > ALERT_STORE_FORMAT) throw new AlertStoreError(`${path} has format ${entry.v} lines, written by a newer quantrac`);
          good += Buffer.byteLength(line) + 1;
          if (entry.seq > snapSeq) entries.push(entry);
        }
        if (good < Buffer.byteLength(text)) {
          const f = openSync(path, 'r+');
          ftruncateSync(f, good);
          fsyncSync(f);
          closeSync(f);
        }
      }
      // Applied in seq order: a line written by close() may land before one still in flight.
      entries.sort((a, b) => a.seq - b.seq);
      for (const entry of entries) {
        seq = Math.max(seq, entry.seq);
        alerts.set(entry.event.alert.id, entry.event.alert);
      }
      gen = Math.max(snap?.gen ?? 0, files.at(-1)?.gen ?? 0);
      installedGen = snap?.gen ?? -1;
      return { snapshot: snap?.engine, alerts: [...alerts.values()] };
    },

    append(events) {
      if (events.length === 0) return Promise.resolve();
      for (const event of events) pending += `${JSON.stringify({ v: ALERT_STORE_FORMAT, seq: ++seq, event })}\n`;
      const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      if (!committing) {
        committing = true;
        setImmediate(commit);
      }
      return done;
    },

    saveSnapshot(engine) {
      const { text, newGen, tmp } = prepare(engine);
      const persist = async () => {
        await new Promise<void>((resolve, reject) => writeFile(tmp, text, { flush: true }, (err) => (err ? reject(err) : resolve())));
        // A newer snapshot (close()) may have been installed meanwhile: never replace it with this one.
        if (newGen < installedGen) return void unlink(tmp, () => undefined);
        renameSync(tmp, snapshotPath);
        installedGen = newGen;
        await syncDir();
        await dropOlder(newGen, false);
      };
      const done = snapshots.then(persist).catch((err: unknown) => {
        throw new AlertStoreError(`cannot write alert snapshot ${snapshotPath}`, { cause: err });
      });
      snapshots = done.catch(() => undefined);
      return done;
    },

    close(last) {
      if (last) {
        try {
          const { text, newGen, tmp } = prepare(last);
          const f = openSync(tmp, 'w');
          writeSync(f, text);
          fsyncSync(f);
          closeSync(f);
          renameSync(tmp, snapshotPath);
          installedGen = newGen;
          const d = openSync(dir, 'r');
          fsyncSync(d);
          closeSync(d);
          dropOlder(newGen, true);
        } catch (err) {
          throw new AlertStoreError(`cannot write alert snapshot ${snapshotPath}`, { cause: err });
        }
      }
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
      return Promise.resolve();
    },
    close(last) {
      if (last) {
        snapshot = structuredClone(last);
        journal = [];
      }
    },
  };
}
