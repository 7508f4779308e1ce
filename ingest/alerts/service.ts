// The alert service as the server runs it: the engine on its durable store, fed from the ingest hot
// path, ticked by a timer, and its events fanned out to delivery channels (officer WebSocket,
// webhooks, MQTT) from a bounded queue drained on the next turn of the event loop — a slow or
// failing channel never delays a reading.
//
//   ingest hot path ──▶ engine.onReading ──┐
//   timer ──────────▶ engine.tick ─────────┼──▶ queue ──(setImmediate)──▶ channel.deliver(events) × N
//   REST ack ───────▶ engine.acknowledge ──┘
import type { Logger } from 'pino';
import type { Alert, AlertEvent, AlertFilter } from '../../contracts/alerts.ts';
import type { Reading } from '../../contracts/reading.ts';
import type { Registry } from '../../contracts/stations.ts';
import { createAlertEngine, type AlertEngine, type AlertEngineOptions } from './engine.ts';
import type { RulesFile } from './rules.ts';
import type { AlertStore } from './store.ts';

/** A destination of alert events; deliver() must return quickly (queue its own slow work). */
export interface AlertChannel {
  readonly name: string;
  deliver(events: readonly AlertEvent[]): void;
}

export interface AlertServiceOptions {
  readonly registry: Registry;
  readonly rules: RulesFile;
  readonly store: AlertStore;
  readonly log: Logger;
  /** Interval of engine.tick(), ms. */
  readonly tickMs: number;
  /** Events waiting for fan-out before the oldest are dropped (logged and counted). */
  readonly queueMax: number;
  readonly clock?: () => number;
  /** The log is the journal (no journal of the store's own); ticks come from the log, not a timer. */
  readonly logDriven?: boolean;
  /** Every event the engine emitted (for metrics: opened/escalated/updated/cleared by rule). */
  readonly onEvents?: (events: readonly AlertEvent[]) => void;
  /** Events dropped from a full fan-out queue. */
  readonly onDropped?: (n: number) => void;
  /** The engine failed (`onReading`, `tick`): counted; readings go on. */
  readonly onEngineError?: (what: string) => void;
  /** Officers' marks in force: marked values are not judged (AlertEngineOptions.excluded). */
  readonly excluded?: AlertEngineOptions['excluded'];
}

export interface AlertService {
  /**
   * The ingest hot-path observer: judges synchronously and never throws. When the reading caused
   * alert events, returns a promise that settles once they are journalled (never rejects), so the
   * reading's acknowledgement can wait for its alerts to be durable too.
   */
  onReading(reading: Reading): Promise<void> | undefined;
  /**
   * The durable log's inputs, judged at the log's own times. With `deliver` false (a replay of
   * records whose events were delivered before a restart) the state moves but nothing is fanned out.
   */
  judgeReading(reading: Reading, deliver: boolean): void;
  judgeTick(atMs: number, deliver: boolean): void;
  /** Throws AlertNotFoundError for an unknown alert. */
  judgeAcknowledge(alertId: string, ack: { by: string; note?: string; at: number }, deliver: boolean): AlertEvent;
  addChannel(channel: AlertChannel): void;
  acknowledge(alertId: string, ack: { by: string; note?: string }): AlertEvent;
  list(filter?: AlertFilter): Alert[];
  get(id: string): Alert | undefined;
  /** Starts the tick timer. */
  start(): void;
  /** Stops the timer, fans out what is queued, snapshots and closes the store. */
  stop(): void;
  readonly engine: AlertEngine;
  /** Events waiting for fan-out. */
  queueDepth(): number;
}

export function createAlertService(opts: AlertServiceOptions): AlertService {
  const { log } = opts;
  const clock = opts.clock ?? Date.now;
  const engine = createAlertEngine({
    registry: opts.registry, rules: opts.rules, store: opts.store, clock, journal: !opts.logDriven,
    ...(opts.excluded ? { excluded: opts.excluded } : {}),
    ...(opts.logDriven ? { snapshotEveryMs: Number.POSITIVE_INFINITY } : {}),
    onSnapshotError: (err) => log.error({ err }, 'alert snapshot not written: keeping the previous one and the journal, retrying'),
  });
  const channels: AlertChannel[] = [];
  let queue: AlertEvent[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let timer: NodeJS.Timeout | undefined;
  let dropped = 0;
  let engineFailures = 0;

  function drain(): void {
    scheduled = undefined;
    const events = queue;
    queue = [];
    if (events.length === 0) return;
    for (const c of channels) {
      try {
        c.deliver(events);
      } catch (err) {
        log.error({ err, channel: c.name, events: events.length }, 'alert channel failed to take events');
      }
    }
  }

  function emit(events: readonly AlertEvent[]): void {
    if (events.length === 0) return;
    opts.onEvents?.(events);
    queue.push(...events);
    if (queue.length > opts.queueMax) {
      const over = queue.length - opts.queueMax;
      queue.splice(0, over);
      dropped += over;
      opts.onDropped?.(over);
      log.warn({ dropped: over, droppedTotal: dropped }, 'alert fan-out queue full: oldest events dropped (they stay in the engine and REST)');
    }
    scheduled ??= setImmediate(drain);
  }

  const failed = (what: string) => (err: unknown) => {
    opts.onEngineError?.(what);
    if (engineFailures++ % 1000 === 0) log.error({ err, what, failures: engineFailures }, 'alert engine failed');
  };

  // An engine failure (the store cannot write) must not stop readings: log it and go on.
  function guarded(what: string, fn: () => AlertEvent[]): Promise<void> | undefined {
    try {
      const events = fn();
      emit(events);
      return events.length > 0 ? engine.durable().catch(failed(what)) : undefined;
    } catch (err) {
      failed(what)(err);
      return undefined;
    }
  }

  function judged(what: string, deliver: boolean, fn: () => AlertEvent[]): void {
    try {
      const events = fn();
      if (deliver) emit(events);
    } catch (err) {
      failed(what)(err);
    }
  }

  return {
    engine,
    onReading: (reading) => guarded('onReading', () => engine.onReading(reading)),
    judgeReading: (reading, deliver) => judged('onReading', deliver, () => engine.onReading(reading)),
    judgeTick: (atMs, deliver) => judged('tick', deliver, () => engine.tick(atMs)),
    judgeAcknowledge(alertId, ack, deliver) {
      const event = engine.acknowledge(alertId, ack);
      if (deliver) emit([event]);
      return event;
    },
    addChannel: (c) => void channels.push(c),
    queueDepth: () => queue.length,
    acknowledge(alertId, ack) {
      const event = engine.acknowledge(alertId, ack);
      emit([event]);
      return event;
    },
    list: (filter) => engine.list(filter),
    get: (id) => engine.get(id),
    start() {
      if (opts.logDriven) return;
      timer ??= setInterval(() => void guarded('tick', () => engine.tick(clock())), opts.tickMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (scheduled) clearImmediate(scheduled);
      drain();
      // Under the log, the lane's snapshot is the engine's durable state; the store's files are
      // only read (what quantrac 0.1 left) and never written.
      if (!opts.logDriven) engine.close();
    },
  };
}
