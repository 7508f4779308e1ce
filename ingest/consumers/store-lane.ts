// The store lane: the consumer that feeds the InfluxDB writer from the durable log. It reads
// records in order, runs them through the reading stage and hands the writer the points, pulled at
// the writer's pace (so an InfluxDB outage holds log segments, not memory). When the writer
// confirms a batch, the checkpoint moves past it. Every few seconds the reading stage's quality
// state is snapshotted at an exact record boundary (lane-state.ts), so a restart resumes with the
// flags the first pass computed.
//
//   log ──read──▶ reading stage ──▶ line protocol ──▶ (writer pulls) ──▶ InfluxDB ──2xx──▶ release → checkpoint
//
// With a now lane in the same process (`handOff`, staged-hand-off.ts) the stage has already run
// there: the lane takes each record's outcome from the hand-off and the now lane's quality
// snapshots serve as its own. When an outcome is no longer held (the lane fell far behind), it
// reads the log and runs its own stage again, first restoring the state at its position from the
// newest snapshot before it and replaying the records in between.
import { EventEmitter } from 'node:events';
import type { Reading } from '../../contracts/reading.ts';
import { decodeRecord } from '../log/records.ts';
import type { LogPosition, LogReader } from '../log/types.ts';
import type { WriterSource } from '../sink/influx-writer.ts';
import { readingKeysOfLines } from '../sink/line-protocol.ts';
import type { LaneSnapshot, LaneStateStore } from './lane-state.ts';
import type { ReadingStage, StagedPublish } from './reading-stage.ts';
import type { HandedRecord, StagedHandOff } from './staged-hand-off.ts';
import { timeSlicer, type UrgentWork } from './time-slice.ts';
import type { QualityRevision } from '../stages/quality.ts';

export interface StoreLaneOptions {
  readonly reader: LogReader;
  readonly stage: ReadingStage;
  readonly encode: (reading: Reading) => string;
  /** The point of an earlier reading written again with its settled flags (ingest/stages/quality.ts). */
  readonly encodeRevision: (revision: QualityRevision) => string;
  readonly state: LaneStateStore;
  /** A quality snapshot is taken at most this often, ms. */
  readonly snapshotEveryMs: number;
  /** The checkpoint file is rewritten at most this often, ms (a stale one only replays). */
  readonly checkpointEveryMs: number;
  /** Records read from the log at a time. */
  readonly readRecords?: number;
  /** Readings InfluxDB confirmed, in order (rollups and other followers of the store). */
  readonly onStored?: (readings: readonly Reading[], upTo: LogPosition) => void;
  /** A record the lane could not process (a program error): reported and skipped. */
  readonly onRecordError?: (err: unknown, position: LogPosition) => void;
  /** Work on this thread that goes first (the now lane): the reading pass yields to it. */
  readonly yieldTo?: UrgentWork;
  /**
   * A publish's outcome, for counters and dead letters where this lane is their one reporter (the
   * cluster's writer); only for records past the checkpoint it opened at, so once per process.
   */
  readonly onStaged?: (staged: StagedPublish, qos: 0 | 1) => void;
  /** The now lane's outcomes of the reading stage, taken instead of running it again. */
  readonly handOff?: StagedHandOff;
  /** The lane fell behind the hand-off's bound and rebuilt its own stage's state, replaying this many records. */
  readonly onResync?: (replayedRecords: number) => void;
}

interface Pending {
  readonly next: LogPosition;
  readonly lines: string[];
  readonly readings: Reading[];
  /** Earlier readings whose points this record writes again (settled quality flags). */
  readonly revised: { readonly stationId: string; readonly ts: number }[];
  readonly bytes: number;
  /** Receive time of the record's publish (0 for other records). */
  readonly receivedAt: number;
}

export interface StoreLane extends WriterSource<LogPosition> {
  /** Restores the snapshot and checkpoint; call once before the writer starts. */
  open(): Promise<void>;
  /** The log's end moved: wakes a writer waiting for data. */
  notify(): void;
  /** The confirmed position: everything before it is in InfluxDB. */
  checkpoint(): LogPosition;
  /** The oldest position this lane may still read (its durable snapshot's): segments before it may go. */
  holds(): LogPosition;
  /** Takes a snapshot at the next record boundary (the log is short of space: let it release). */
  snapshotSoon(): void;
  /**
   * Station and time of every point read and not yet released up to `upTo` (the writer's batch
   * just confirmed): readings and revised readings, without parsing the lines back.
   */
  pointKeysUpTo(upTo: LogPosition): { stationId: string; ts: number }[];
  /** Age of the oldest record read and not yet confirmed by InfluxDB, ms (0 when drained). */
  oldestUnwrittenMs(): number;
  /** Saves the checkpoint now (shutdown). */
  close(): Promise<void>;
}

export function createStoreLane(opts: StoreLaneOptions): StoreLane {
  const events = new EventEmitter();
  const pending: Pending[] = [];
  /** Where the lane has read up to. */
  let readAt: LogPosition = 0;
  /** Where its own stage's quality state stands (undefined: stale, the lane followed the hand-off). */
  let stageAt: LogPosition | undefined = 0;
  /** Records before this were written before a restart: the stage replays them for its state only. */
  let replayUntil: LogPosition = 0;
  let confirmed: LogPosition = 0;
  let durableSnapshotAt: LogPosition = 0;
  /** The snapshot saved last (or loaded at open): where a resync starts when no newer one fits. */
  let base: LaneSnapshot | undefined;
  /** Snapshots taken or offered while reading, oldest first, waiting for the checkpoint to pass them. */
  let candidates: LaneSnapshot[] = [];
  let takenAtMs = Date.now();
  let checkpointAtMs = 0;
  let saving: Promise<void> = Promise.resolve();
  let soon = false;
  /** Receive time of the last publish confirmed, for the age of what waits beyond `pending`. */
  let releasedReceivedAt = 0;
  opts.handOff?.onProduced(() => events.emit('commit'));

  const addCandidate = (s: LaneSnapshot) => {
    if (s.position <= durableSnapshotAt || s.position <= (candidates.at(-1)?.position ?? -1)) return;
    candidates.push(s);
    if (candidates.length > 8) candidates.shift();
  };

  /** One fill at a time (each moves readAt); a read waits for the prefetch in flight. */
  let filling: Promise<void> = Promise.resolve();
  const fill = (maxLines: number, maxBytes: number): Promise<void> => (filling = filling.catch(() => undefined).then(() => fillNow(maxLines, maxBytes)));

  /** A record's points and readings, from its outcome. */
  function itemOf(record: HandedRecord, next: LogPosition, position: LogPosition): Pending {
    const item: { -readonly [K in keyof Pending]: Pending[K] } = { next, lines: [], readings: [], revised: [], bytes: 0, receivedAt: 0 };
    try {
      if (record.kind === 'publish') {
        item.receivedAt = record.receivedAt;
        const staged = record.staged;
        if (staged && next > replayUntil) opts.onStaged?.(staged, record.qos);
        if (staged) {
          for (const rev of staged.revisions) {
            item.lines.push(opts.encodeRevision(rev));
            item.revised.push({ stationId: rev.stationId, ts: rev.ts });
          }
          for (const r of staged.accepted) item.readings.push(r);
        }
        for (const r of item.readings) item.lines.push(opts.encode(r));
      } else if (record.kind === 'line') {
        item.lines.push(record.line);
        item.revised.push(...readingKeysOfLines([record.line])); // a quantrac 0.1 record
      }
      else if (record.kind === 'error') throw record.err;
    } catch (err) {
      opts.onRecordError?.(err, position);
    }
    let b = 0;
    for (const l of item.lines) b += l.length + 1;
    item.bytes = b;
    return item;
  }

  /** The outcome of one log record through this lane's own stage. */
  function ownOutcome(body: Buffer): HandedRecord {
    try {
      const record = decodeRecord(body);
      if (record.type === 'publish') return { kind: 'publish', staged: opts.stage.process(record.publish), receivedAt: record.publish.receivedAt, qos: record.publish.qos };
      if (record.type === 'legacy-line') return { kind: 'line', line: record.line };
      return { kind: 'other' };
    } catch (err) {
      return { kind: 'error', err };
    }
  }

  /** Brings the own stage's state to `readAt`: the newest snapshot at or before it, then the records in between. */
  async function resync(): Promise<void> {
    let replayed = 0;
    let from = base;
    for (const c of candidates) if (c.position <= readAt && (!from || c.position > from.position)) from = c;
    opts.stage.restore(from?.state);
    let at = from?.position ?? 0;
    const slice = timeSlicer({ yieldTo: opts.yieldTo });
    while (at < readAt) {
      const { entries, next } = await opts.reader.read(at, 2000);
      let done = false;
      for (const entry of entries) {
        if (entry.position >= readAt) {
          done = true;
          break;
        }
        if (slice.due()) await slice.pause();
        ownOutcome(entry.body);
        replayed++;
      }
      if (done || next <= at) break;
      at = next;
    }
    stageAt = readAt;
    opts.onResync?.(replayed);
  }

  function push(item: Pending): number {
    if (item.next <= replayUntil) return 0;
    pending.push(item);
    return item.lines.length;
  }

  async function fillNow(maxLines: number, maxBytes: number): Promise<void> {
    let lines = 0;
    let bytes = 0;
    for (const p of pending) {
      lines += p.lines.length;
      bytes += p.bytes;
    }
    const slice = timeSlicer({ yieldTo: opts.yieldTo });
    while (lines < maxLines && bytes < maxBytes && readAt < opts.reader.end()) {
      const handOff = opts.handOff;
      if (handOff) {
        for (const s of handOff.takeSnapshots()) addCandidate(s);
        let took = 0;
        for (let e = handOff.take(readAt); e; e = lines < maxLines && bytes < maxBytes ? handOff.take(readAt) : undefined) {
          if (slice.due()) await slice.pause(); // the now lane and the API share this thread
          const item = itemOf(e.record, e.next, e.position);
          lines += push(item);
          bytes += item.bytes;
          readAt = e.next;
          stageAt = undefined;
          took++;
        }
        if (took > 0) continue;
        if (handOff.ahead(readAt)) break; // the now lane hands it over soon (onProduced wakes the writer)
        if (stageAt !== readAt) await resync();
      }
      const { entries, next } = await opts.reader.read(readAt, opts.readRecords ?? 2000);
      for (const entry of entries) {
        if (slice.due()) await slice.pause(); // the now lane and the API share this thread
        const item = itemOf(ownOutcome(entry.body), entry.next, entry.position);
        stageAt = entry.next;
        if ((soon || Date.now() - takenAtMs >= opts.snapshotEveryMs) && (candidates.at(-1)?.position ?? -1) <= confirmed) {
          soon = false;
          addCandidate({ position: entry.next, state: opts.stage.snapshot() });
          takenAtMs = Date.now();
        }
        lines += push(item);
        bytes += item.bytes;
      }
      readAt = stageAt = next;
      if (entries.length === 0) break;
    }
  }

  function persist(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - checkpointAtMs < opts.checkpointEveryMs) return saving;
    checkpointAtMs = now;
    const position = confirmed;
    let snapshot: LaneSnapshot | undefined;
    while (candidates.length > 0 && candidates[0]!.position <= position) snapshot = candidates.shift();
    saving = saving.then(async () => {
      await opts.state.saveCheckpoint(position);
      if (snapshot) {
        await opts.state.saveSnapshot(snapshot);
        durableSnapshotAt = snapshot.position;
        base = snapshot;
      }
    });
    return saving;
  }

  return {
    async open() {
      const snapshot = await opts.state.loadSnapshot();
      const checkpoint = await opts.state.loadCheckpoint();
      if (snapshot) opts.stage.restore(snapshot.state);
      base = snapshot;
      readAt = stageAt = durableSnapshotAt = snapshot?.position ?? 0;
      confirmed = replayUntil = Math.max(readAt, checkpoint ?? 0);
    },
    notify: () => void events.emit('commit'),
    snapshotSoon() {
      soon = true;
      checkpointAtMs = 0;
    },
    checkpoint: () => confirmed,
    pointKeysUpTo(upTo) {
      const keys: { stationId: string; ts: number }[] = [];
      for (const p of pending) {
        if (p.next > upTo) break;
        for (const r of p.readings) keys.push({ stationId: r.stationId, ts: r.ts });
        for (const k of p.revised) keys.push(k);
      }
      return keys;
    },
    holds: () => durableSnapshotAt,
    startPosition: () => confirmed,
    async read(from, maxRecords, maxBytes) {
      await fill(maxRecords, maxBytes);
      // Records with no points (clock ticks, commands, rejected publishes) are done with at once.
      let skipped = false;
      while (pending.length > 0 && pending[0]!.lines.length === 0) {
        confirmed = Math.max(confirmed, pending.shift()!.next);
        skipped = true;
      }
      if (skipped) {
        if (pending.length === 0) {
          await persist(false);
          return { records: [], next: Math.max(from, confirmed) };
        }
        from = Math.max(from, confirmed);
      }
      const records: string[] = [];
      let next = from;
      let bytes = 0;
      for (const p of pending) {
        if (p.next <= from) continue;
        if (records.length > 0 && (records.length + p.lines.length > maxRecords || bytes + p.bytes > maxBytes)) break;
        for (const l of p.lines) records.push(l);
        bytes += p.bytes;
        next = p.next;
      }
      // Prepare the next batch while InfluxDB writes this one: decoding, validation and line
      // encoding overlap the database's answer instead of waiting for it.
      if (records.length > 0) fill(2 * maxRecords, 2 * maxBytes).catch(() => undefined);
      return { records, next };
    },
    async release(upTo) {
      const done: Reading[] = [];
      while (pending.length > 0 && pending[0]!.next <= upTo) {
        const p = pending.shift()!;
        if (p.receivedAt > 0) releasedReceivedAt = p.receivedAt;
        for (const r of p.readings) done.push(r);
      }
      confirmed = Math.max(confirmed, upTo);
      if (done.length > 0) opts.onStored?.(done, upTo);
      await persist(false);
    },
    isDrained: () => pending.length === 0 && readAt >= opts.reader.end(),
    oldestUnwrittenMs() {
      if (pending.length === 0 && readAt >= opts.reader.end()) return 0;
      const since = pending.find((p) => p.receivedAt > 0)?.receivedAt ?? releasedReceivedAt;
      return since > 0 ? Math.max(0, Date.now() - since) : 0;
    },
    once: (event, listener) => events.once(event, listener),
    off: (event, listener) => events.off(event, listener),
    async close() {
      for (const s of opts.handOff?.takeSnapshots() ?? []) addCandidate(s);
      if (pending.length === 0 && readAt === confirmed && stageAt === readAt) addCandidate({ position: readAt, state: opts.stage.snapshot() });
      await persist(true);
    },
  };
}
