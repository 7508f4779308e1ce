// The now lane: the consumer of the durable log that must never wait for the database. It reads
// every committed record as soon as it is committed, runs it through its own reading stage, and
// feeds what is happening now: dead letters and the pipeline's counters, the alert engine (readings,
// the clock ticks and officers' acknowledgements that the log orders with them) with its deliveries,
// and the live stream.
//
//   log ──▶ reading stage ──▶ rejections ──▶ dead letters, counters
//                          └─▶ readings ──▶ alert engine ──▶ officers' WebSocket, webhooks, MQTT
//                                       └─▶ live stream (/ws/live)
//
// State (quality windows + alert engine) is snapshotted every few seconds at an exact record
// boundary; the checkpoint marks how far effects were delivered. After a crash the lane restores
// the snapshot and replays the records after it: the state comes out the same, and effects are
// delivered again only for records past the checkpoint (so a notification repeats only for what
// was processed between the last checkpoint and the crash).
import type { AlertEvent } from '../../contracts/alerts.ts';
import type { Reading } from '../../contracts/reading.ts';
import type { EngineSnapshot } from '../alerts/state.ts';
import type { AlertService } from '../alerts/service.ts';
import { decodeRecord, type LogCommand } from '../log/records.ts';
import type { LogPosition, LogReader } from '../log/types.ts';
import type { LaneStateStore } from './lane-state.ts';
import type { ReadingStage, StagedPublish } from './reading-stage.ts';
import type { StagedHandOff } from './staged-hand-off.ts';
import { timeSlicer } from './time-slice.ts';

export interface NowLaneOptions {
  readonly reader: LogReader;
  readonly stage: ReadingStage;
  readonly alerts: AlertService;
  readonly state: LaneStateStore;
  /** Sets the time the alert engine sees (the current record's). */
  readonly setClock: (ms: number) => void;
  readonly snapshotEveryMs: number;
  readonly checkpointEveryMs: number;
  readonly readRecords?: number;
  /** A publish's outcome, for counters and dead letters (only for records not seen before a restart). */
  readonly onStaged: (staged: StagedPublish, qos: 0 | 1) => void;
  /** Accepted readings for the live stream (new records only). */
  readonly onLive: (readings: readonly Reading[]) => void;
  /** A record the lane could not process: reported and skipped. */
  readonly onRecordError?: (err: unknown, position: LogPosition) => void;
  /** The lane has priority on its thread while it is less than this far behind, s (default URGENT_LAG_S). */
  readonly urgentLagS?: number;
  /** The store lane of this process takes each record's outcome and the quality snapshots from here. */
  readonly handOff?: StagedHandOff;
}

/** See NowLane.urgent(). */
export const URGENT_LAG_S = 2;

export interface NowLane {
  /** Restores the snapshot and checkpoint, then follows the log until stop(). */
  start(): Promise<void>;
  /** Resolves once every record committed before the call has been processed. */
  caughtUp(): Promise<void>;
  /**
   * Resolves with the outcome of an officer's command once the lane has applied it (the command was
   * appended to the log by the caller with this id).
   */
  awaitCommand(id: string): Promise<AlertEvent | undefined>;
  /** The oldest position this lane may still read (its durable snapshot's). */
  holds(): LogPosition;
  position(): LogPosition;
  /**
   * Seconds the lane is behind: from the receive time of the last publish it applied to now, while
   * committed records wait after it; 0 when it has read everything committed.
   */
  lagSeconds(): number;
  /**
   * While committed records wait for this lane and it is less than `urgentLagS` behind: a promise
   * that settles once it has read them (what lower-priority passes on the same thread yield to,
   * time-slice.ts); else undefined. Further behind (a burst beyond what the thread can do), the
   * lanes take turns again: priority then would only starve storage without making alerts timely.
   */
  urgent(): Promise<void> | undefined;
  /** Takes a snapshot after the current batch (the log is short of space: let it release). */
  snapshotSoon(): void;
  /** Stops following; saves a snapshot and checkpoint at the position reached. */
  stop(): Promise<void>;
}

interface LaneState {
  readonly quality: unknown;
  readonly alerts: EngineSnapshot;
}

export function createNowLane(opts: NowLaneOptions): NowLane {
  let readAt: LogPosition = 0;
  /** Receive time of the last publish applied (for lagSeconds). */
  let lastReceivedAt = Date.now();
  /** Effects of records before this were delivered before a restart. */
  let deliverFrom: LogPosition = 0;
  let durableSnapshotAt: LogPosition = 0;
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeStop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wakeStop = resolve));
  let snapshotAtMs = Date.now();
  let checkpointAtMs = Date.now();
  let saving: Promise<void> = Promise.resolve();
  let soon = false;
  let caughtUpWaiters: { at: LogPosition; resolve: () => void }[] = [];
  const commands = new Map<string, (event: AlertEvent | undefined) => void>();
  const commandResults = new Map<string, AlertEvent | undefined>();

  const handOff = opts.handOff;
  /** The position whose outcome was handed over last. */
  let handedAt = -1;

  function apply(body: Buffer, from: LogPosition, position: LogPosition, next: LogPosition): void {
    const deliver = next > deliverFrom;
    const record = decodeRecord(body);
    if (handOff) {
      if (record.type === 'publish') {
        const staged = opts.stage.process(record.publish);
        handOff.put({ from, position, next, record: { kind: 'publish', staged, receivedAt: record.publish.receivedAt, qos: record.publish.qos } });
        handedAt = position;
        return judge(record.publish.receivedAt, record.publish.qos, staged, deliver);
      }
      handOff.put({ from, position, next, record: record.type === 'legacy-line' ? { kind: 'line', line: record.line } : { kind: 'other' } });
      handedAt = position;
    }
    if (record.type === 'publish') {
      judge(record.publish.receivedAt, record.publish.qos, opts.stage.process(record.publish), deliver);
    } else if (record.type === 'tick') {
      opts.setClock(record.at);
      opts.alerts.judgeTick(record.at, deliver);
    } else if (record.type === 'command') {
      opts.setClock(record.at);
      const result = command(record.command as LogCommand & { id?: string }, record.at, deliver);
      const id = (record.command as { id?: string }).id;
      if (id !== undefined) {
        const waiter = commands.get(id);
        if (waiter) {
          commands.delete(id);
          waiter(result);
        } else if (deliver) {
          // Applied before its caller asked (the append resolved after the lane read it).
          commandResults.set(id, result);
          if (commandResults.size > 1000) commandResults.delete(commandResults.keys().next().value!);
        }
      }
    }
  }

  function judge(receivedAt: number, qos: 0 | 1, staged: StagedPublish | undefined, deliver: boolean): void {
    lastReceivedAt = receivedAt;
    if (!staged) return;
    opts.setClock(receivedAt);
    if (deliver) opts.onStaged(staged, qos);
    for (const r of staged.fresh) opts.alerts.judgeReading(r, deliver);
    if (deliver && staged.accepted.length > 0) opts.onLive(staged.accepted);
  }

  function command(c: LogCommand, at: number, deliver: boolean): AlertEvent | undefined {
    if (c.type !== 'acknowledge') return undefined;
    try {
      return opts.alerts.judgeAcknowledge(c.alertId, { by: c.by, ...(c.note ? { note: c.note } : {}), at }, deliver);
    } catch {
      return undefined; // no such alert (cleared and pruned meanwhile): the API answers 404
    }
  }

  /** A save is running; `again`: a persist asked for meanwhile, done at the next record boundary. */
  let inFlight = false;
  let again: { snapshot: boolean } | undefined;

  /**
   * Saves the checkpoint (and a snapshot when due) at `readAt`; call only at a record boundary.
   * One save at a time and never awaited by the reading loop: the store lane follows this lane
   * through the hand-off, so a slow disk must not hold up storage behind an fsync here. A persist
   * asked for while a save runs is done at the next boundary after it.
   */
  function persist(force: boolean, snapshotNow: boolean): Promise<void> {
    if (inFlight && !force) {
      again = { snapshot: (again?.snapshot ?? false) || snapshotNow };
      return saving;
    }
    if (again) {
      force = true;
      snapshotNow ||= again.snapshot;
      again = undefined;
    }
    const now = Date.now();
    const position = readAt;
    let snapshot: { position: LogPosition; state: LaneState } | undefined;
    if (snapshotNow || now - snapshotAtMs >= opts.snapshotEveryMs) {
      snapshotAtMs = now;
      snapshot = { position, state: { quality: opts.stage.snapshot(), alerts: opts.alerts.engine.exportState() } };
      handOff?.offerSnapshot({ position, state: snapshot.state.quality });
    }
    if (!snapshot && !force && now - checkpointAtMs < opts.checkpointEveryMs) return saving;
    checkpointAtMs = now;
    inFlight = true;
    // After a failed save too (a full disk): the next one is tried.
    saving = saving
      .catch(() => undefined)
      .then(async () => {
        // Checkpoint first: on disk the snapshot is never ahead of the checkpoint.
        await opts.state.saveCheckpoint(position);
        if (snapshot) {
          await opts.state.saveSnapshot(snapshot);
          durableSnapshotAt = snapshot.position;
        }
      })
      .finally(() => {
        inFlight = false;
      });
    saving.catch(() => undefined);
    return saving;
  }

  async function follow(): Promise<void> {
    while (running) {
      if (readAt >= opts.reader.end()) {
        for (const w of caughtUpWaiters.splice(0)) w.resolve();
        // Idle at a record boundary: a persist asked for during the last save is done now.
        if (again && !inFlight) persist(false, false).catch(() => undefined);
        await Promise.race([opts.reader.waitBeyond(readAt), stopped, ...(again ? [saving.catch(() => undefined)] : [])]);
        continue;
      }
      const { entries, next } = await opts.reader.read(readAt, opts.readRecords ?? 512);
      const slice = timeSlicer();
      let from = readAt;
      for (const e of entries) {
        if (slice.due()) await slice.pause(); // the store lane and the API share this thread
        try {
          apply(e.body, from, e.position, e.next);
        } catch (err) {
          // The store lane skips it too (and reports it), unless only the judging failed.
          if (handOff && handedAt !== e.position) handOff.put({ from, position: e.position, next: e.next, record: { kind: 'error', err } });
          opts.onRecordError?.(err, e.position);
        }
        from = e.next;
      }
      // A stretch the reader stepped over with no record in it (a segment's end, a released or
      // skipped segment, a damaged tail): handed over too, so the store lane steps over it as well.
      if (handOff && next > from) handOff.put({ from, position: next, next, record: { kind: 'other' } });
      readAt = next;
      handOff?.produced(readAt);
      if (caughtUpWaiters.length > 0) {
        const done = caughtUpWaiters.filter((w) => w.at <= readAt);
        caughtUpWaiters = caughtUpWaiters.filter((w) => w.at > readAt);
        for (const w of done) w.resolve();
      }
      const snapshotNow = soon;
      soon = false;
      persist(false, snapshotNow).catch(() => undefined);
      // Yield to the event loop between batches: the API and WebSockets share this thread.
      if (entries.length >= (opts.readRecords ?? 512)) await new Promise((r) => setImmediate(r));
    }
  }

  function lagSeconds(): number {
    return readAt >= opts.reader.end() ? 0 : Math.max(0, Date.now() - lastReceivedAt) / 1000;
  }

  function caughtUp(): Promise<void> {
    const at = opts.reader.end();
    if (readAt >= at) return Promise.resolve();
    return new Promise((resolve) => caughtUpWaiters.push({ at, resolve }));
  }

  return {
    async start() {
      const snapshot = await opts.state.loadSnapshot();
      const checkpoint = await opts.state.loadCheckpoint();
      if (snapshot) {
        const s = snapshot.state as LaneState;
        opts.stage.restore(s.quality);
        opts.alerts.engine.restoreState(s.alerts);
      }
      readAt = durableSnapshotAt = snapshot?.position ?? 0;
      deliverFrom = Math.max(readAt, checkpoint ?? 0);
      running = true;
      handOff?.setActive(true);
      loop = follow();
    },
    caughtUp,
    awaitCommand(id) {
      if (commandResults.has(id)) {
        const r = commandResults.get(id);
        commandResults.delete(id);
        return Promise.resolve(r);
      }
      return new Promise((resolve) => commands.set(id, resolve));
    },
    holds: () => durableSnapshotAt,
    urgent: () => (running && readAt < opts.reader.end() && lagSeconds() < (opts.urgentLagS ?? URGENT_LAG_S) ? caughtUp() : undefined),
    snapshotSoon() {
      soon = true;
    },
    position: () => readAt,
    lagSeconds,
    async stop() {
      running = false;
      wakeStop();
      await loop;
      await persist(true, true);
      handOff?.setActive(false);
    },
  };
}
