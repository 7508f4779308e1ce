// Prometheus metrics of the pipeline (served at /metrics by the API). Counters come in parallel
// sets (STYLE.md 7): readings received/accepted/rejected/flagged, points written/rejected.
import { getHeapStatistics } from 'node:v8';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StagedPublish } from './consumers/reading-stage.ts';

/**
 * Per-reading counts, summed in plain maps on the hot path and added to their counters when the
 * registry is read (prom-client's collect hook): a labelled inc() per reading and test took ~3 %
 * of the services thread in a profile at 10,000 readings/s.
 */
class Tally {
  private readonly pending = new Map<string, { counter: Counter<string>; labels: Record<string, string>; n: number }>();

  add(counter: Counter<string>, key: string, labels: () => Record<string, string>, n = 1): void {
    const entry = this.pending.get(key);
    if (entry) entry.n += n;
    else this.pending.set(key, { counter, labels: labels(), n });
  }

  flush(): void {
    for (const e of this.pending.values()) if (e.n > 0) e.counter.inc(e.labels, e.n);
    this.pending.clear();
  }
}

export function createMetrics(opts0: { processMetrics?: boolean; thread?: string } = {}) {
  const registry = new Registry();
  const tally = new Tally();
  const tallied = { collect: () => tally.flush() };
  // The process metrics operators expect beside ours: CPU, resident memory, heap, event-loop lag,
  // garbage-collection pauses (process_* and nodejs_*, prom-client's standard names). Collected on
  // the broker thread only: the services thread's registry is merged into one exposition.
  if (opts0.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const opts = { registers: [registry] };
  return {
    registry,
    tally,
    readingsReceived: new Counter({ name: 'quantrac_readings_received_total', help: 'Readings received (batch elements counted singly)', labelNames: ['kind'], ...opts, ...tallied }),
    readingsAccepted: new Counter({ name: 'quantrac_readings_accepted_total', help: 'Readings validated and committed to the spool', labelNames: ['kind', 'qos'], ...opts, ...tallied }),
    readingsRejected: new Counter({ name: 'quantrac_readings_rejected_total', help: 'Readings rejected, by reason', labelNames: ['reason', 'kind'], ...opts, ...tallied }),
    readingsFlagged: new Counter({ name: 'quantrac_readings_flagged_total', help: 'QARTOD test results of suspect (3) or fail (4) on stored values, by test (flag)', labelNames: ['flag', 'kind'], ...opts, ...tallied }),
    readingsDuplicate: new Counter({ name: 'quantrac_readings_duplicate_total', help: 'Readings repeating the last timestamp of their station (stored idempotently)', labelNames: ['kind'], ...opts, ...tallied }),
    deadLetters: new Counter({ name: 'quantrac_dead_letters_total', help: 'Dead letters published to gateways', ...opts }),
    pointsWritten: new Counter({ name: 'quantrac_points_written_total', help: 'Points confirmed by InfluxDB', ...opts }),
    pointsRejected: new Counter({ name: 'quantrac_points_rejected_total', help: 'Points InfluxDB refused for good (dead-lettered)', ...opts }),
    writeRetries: new Counter({ name: 'quantrac_write_retries_total', help: 'InfluxDB write attempts that will be retried', labelNames: ['status'], ...opts }),
    writeBatchSeconds: new Histogram({
      name: 'quantrac_write_batch_seconds',
      help: 'Latency of successful InfluxDB batch writes',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ...opts,
    }),
    backtestHeapBytes: new Gauge({ name: 'quantrac_backtest_worker_heap_bytes', help: 'Heap used by the running backtest worker thread (0 when none runs)', ...opts }),
    backtestHeapPeakBytes: new Gauge({ name: 'quantrac_backtest_worker_heap_peak_bytes', help: 'Highest heap of the running or last backtest worker thread (its ceiling: 512 MB)', ...opts }),
    spoolBytes: new Gauge({ name: 'quantrac_spool_bytes', help: 'Bytes in spool segments not yet released', ...opts }),
    spoolSegments: new Gauge({ name: 'quantrac_spool_segments', help: 'Spool segment files on disk', ...opts }),
    spoolFull: new Gauge({ name: 'quantrac_spool_full', help: '1 while the spool is at its bound and acknowledgements are held', ...opts }),
    spoolCorruptRecords: new Gauge({ name: 'quantrac_spool_corrupt_records', help: 'Damaged spool records found on recovery or read', ...opts }),
    oldestUnwrittenSeconds: new Gauge({ name: 'quantrac_oldest_unwritten_seconds', help: 'Age of the oldest spooled point not yet in InfluxDB', ...opts }),
    acksHeld: new Counter({ name: 'quantrac_acks_held_total', help: 'Publishes whose acknowledgement waited for spool space', ...opts }),
    brokerConnections: new Gauge({ name: 'quantrac_broker_connections', help: 'Connected MQTT clients', ...opts }),
    brokerRefused: new Counter({ name: 'quantrac_broker_refused_total', help: 'Refused MQTT connections, publishes and subscriptions', labelNames: ['what', 'reason'], ...opts }),
    brokerInflightHolds: new Counter({ name: 'quantrac_broker_inflight_holds_total', help: 'Times an MQTT client reached MQTT_MAX_INFLIGHT and its socket stopped being read', ...opts }),
    brokerInflightPeak: new Gauge({ name: 'quantrac_broker_inflight_peak', help: 'Most publishes of one MQTT client inside the ingest pipeline at once since start (at most MQTT_MAX_INFLIGHT)', ...opts }),
    storeLaneResyncs: new Counter({ name: 'quantrac_store_lane_resyncs_total', help: 'Times the store lane fell behind the hand-off of the now lane’s outcomes (LOG_HAND_OFF_RECORDS) and rebuilt its own quality state from a snapshot', ...opts }),
    storeLaneReplayed: new Counter({ name: 'quantrac_store_lane_replayed_records_total', help: 'Log records the store lane replayed to rebuild its quality state after falling behind the hand-off', ...opts }),
    consumerErrors: new Counter({ name: 'quantrac_consumer_errors_total', help: 'Log records a consumer lane could not process (reported and skipped for that lane)', labelNames: ['consumer'], ...opts }),
    alertLaneLagSeconds: new Gauge({ name: 'quantrac_alert_lane_lag_seconds', help: 'How far the now lane (alerts, live streams, dead letters) is behind the log: seconds since the receive time of the last publish it applied, while records wait (0 when caught up)', ...opts }),
    logReleasedPosition: new Gauge({ name: 'quantrac_log_released_position', help: 'Log position every consumer has passed (segment × 2^32 + offset)', ...opts }),
    wsClients: new Gauge({ name: 'quantrac_ws_clients', help: 'Connected live WebSocket clients', ...opts }),
    alertEvents: new Counter({ name: 'quantrac_alert_events_total', help: 'Alert lifecycle events by rule and type (opened, escalated, updated, acknowledged, cleared)', labelNames: ['rule', 'type'], ...opts }),
    alertEngineErrors: new Counter({ name: 'quantrac_alert_engine_errors_total', help: 'Alert engine failures (readings go on), by where', labelNames: ['what'], ...opts }),
    alertFanoutDropped: new Counter({ name: 'quantrac_alert_fanout_dropped_total', help: 'Alert events dropped from the full fan-out queue (they stay in the engine and REST)', ...opts }),
    alertDeliveries: new Counter({ name: 'quantrac_alert_deliveries_total', help: 'Webhook delivery attempts and drops by outcome (sent, failed, retried, dropped)', labelNames: ['channel', 'outcome'], ...opts }),
    alertDeliveryQueue: new Gauge({ name: 'quantrac_alert_delivery_queue', help: 'Alert deliveries waiting, by queue (fanout, webhooks)', labelNames: ['queue'], ...opts }),
    alertDeliveryLogErrors: new Counter({ name: 'quantrac_alert_delivery_log_errors_total', help: 'Failed writes to the webhook delivery log (deliveries went on)', ...opts }),
    threadHeapUsed: new Gauge({
      name: 'quantrac_thread_heap_used_bytes',
      help: 'JavaScript heap in use by each thread of the process (embedded server: broker, services; a cluster role: main), read at collection',
      labelNames: ['thread'],
      ...opts,
      collect() {
        this.set({ thread: opts0.thread ?? (opts0.processMetrics === false ? 'services' : 'main') }, getHeapStatistics().used_heap_size);
      },
    }),
    fileReadErrors: new Counter({ name: 'quantrac_file_read_errors_total', help: 'Unusable new versions of an operator-edited file (the last good version kept serving), by file', labelNames: ['file'], ...opts }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Counts one publish's outcome (received, accepted, duplicate, flagged, rejected by reason) — by the
 * one lane that reports it: the embedded server's now lane, the cluster writer's store lane.
 */
export function countStaged(metrics: Metrics, staged: StagedPublish, qos: 0 | 1): void {
  const t = metrics.tally;
  for (const [kind, n] of staged.received) t.add(metrics.readingsReceived, `r|${kind}`, () => ({ kind }), n);
  for (const r of staged.accepted) t.add(metrics.readingsAccepted, `a|${r.kind}|${qos}`, () => ({ kind: r.kind, qos: String(qos) }));
  if (staged.accepted.length > staged.fresh.length) {
    const fresh = new Set(staged.fresh);
    for (const r of staged.accepted) if (!fresh.has(r)) t.add(metrics.readingsDuplicate, `d|${r.kind}`, () => ({ kind: r.kind }));
  }
  // Counted by QARTOD test: each value not passed, and each spike settled one reading later.
  for (const r of staged.fresh) for (const p in r.quality) for (const test in r.quality[p]!.tests) t.add(metrics.readingsFlagged, `f|${test}|${r.kind}`, () => ({ flag: test, kind: r.kind }));
  for (const rev of staged.revisions) for (const x of rev.settled) t.add(metrics.readingsFlagged, `f|${x.test}|${rev.kind}`, () => ({ flag: x.test, kind: rev.kind }));
  for (const r of staged.rejected) t.add(metrics.readingsRejected, `x|${r.rejection.reason}|${r.kind}`, () => ({ reason: r.rejection.reason, kind: r.kind }));
}
