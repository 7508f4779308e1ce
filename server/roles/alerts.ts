// The cluster's alerts role (QUANTRAC_ROLE=alerts): for each log partition whose lease it holds
// (bucket quantrac_alert_leases), the embedded server's now lane — reading stage, then the alert
// engine fed the partition's readings, clock ticks and officers' commands in log order — on a
// JetStream reader of that partition, its snapshot and checkpoint in the replicated KV bucket.
// Exactly one owner per partition: the others stand by and take over a lease not renewed within
// CLUSTER_LEASE_TTL_MS, rebuilding the engine from the last snapshot and the records after it.
//
// No missed transition: the lane's checkpoint is saved only once every event emitted for the
// records before it is stored in QUANTRAC_ALERTS. No duplicate: a new owner re-emits the
// transitions of the records after that checkpoint, and the stream keeps each once (Nats-Msg-Id
// names the transition). No stuck alert: ticks are in the log, so silence and clearing carry on.
// Officers' validation marks (KV quantrac_validations, watched read-only: validation-marks.ts): the
// engine does not judge a marked value, as in one process — by the marks in force when it judges
// the reading (a replay after a takeover judges by the marks in force then, as a restart does).
// Prometheus counters at /metrics (role-health.ts): alert events by rule and type, webhook
// deliveries by outcome, engine errors, lane lag. The readings' counters and dead letters are the writers' (one reporter per reading).
//
//   quantrac.log.p.{n} ─▶ now lane (stage ─▶ engine) ─ events ─▶ QUANTRAC_ALERTS ─▶ api (views, /ws/officer)
//                              └─ snapshot + checkpoint (after the events' PubAck) ─▶ KV now-p{n}
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { loadRegistry } from '../../contracts/stations.ts';
import { openDeliveryBucket } from '../../ingest/alerts/delivery/kv-delivery-log.ts';
import { createAlertEventPublisher, ensureAlertStream } from '../../ingest/alerts/event-stream.ts';
import { LEASE_BUCKET } from '../../ingest/alerts/partition-lease.ts';
import { createAlertService } from '../../ingest/alerts/service.ts';
import type { AlertStore } from '../../ingest/alerts/store.ts';
import { createNowLane } from '../../ingest/consumers/now-lane.ts';
import { createReadingStage } from '../../ingest/consumers/reading-stage.ts';
import { ensureJetStreamLog } from '../../ingest/log/jetstream-log.ts';
import { createJetStreamReader } from '../../ingest/log/jetstream-reader.ts';
import { LaneFencedError, createKvLaneState, openLaneStateBucket } from '../../ingest/log/kv-lane-state.ts';
import { createMetrics } from '../../ingest/metrics.ts';
import type { NowLane } from '../../ingest/consumers/now-lane.ts';
import type { Config } from '../config.ts';
import { loadAlertRules } from '../create-alerts.ts';
import { readingStageOptions } from '../create-services.ts';
import { alertExclusion } from '../create-validations.ts';
import { startPartitionRunner, type PartitionConsumer } from './partition-runner.ts';
import { startPartitionWebhooks, type PartitionWebhookOptions, type PartitionWebhooks } from './partition-webhooks.ts';
import { startRoleHealth } from './role-health.ts';
import { watchValidationMarks } from './validation-marks.ts';
import { nowLaneName, type RoleProcess } from './writer.ts';

/** The engine's own store stays empty: its durable state is the lane's snapshot in KV. */
const noStore: AlertStore = {
  load: () => ({ snapshot: undefined, alerts: [] }),
  append: async () => undefined,
  saveSnapshot: async () => undefined,
  close: () => undefined,
};

export async function startAlertsRole(config: Readonly<Config>, log: Logger): Promise<RoleProcess> {
  const owner = config.QUANTRAC_NAME ?? `alerts-${process.pid}`;
  const nc = await connect({ servers: [...config.natsServers], name: `quantrac-${owner}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const logOptions = await ensureJetStreamLog(nc);
  await ensureAlertStream(nc);
  const stateKv = await openLaneStateBucket(nc);
  const registry = loadRegistry(config.REGISTRY_PATH);
  const rules = loadAlertRules(config.ALERT_RULES_PATH);
  const stageOptions = readingStageOptions(config, registry);
  let events = 0;
  const metrics = createMetrics({ processMetrics: true });
  const lanes = new Map<number, NowLane>();
  const webhookOptions: PartitionWebhookOptions | undefined =
    config.alertWebhookUrls.length > 0 && config.ALERT_WEBHOOK_SECRET
      ? {
          urls: config.alertWebhookUrls,
          secret: config.ALERT_WEBHOOK_SECRET,
          timeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS,
          maxAttempts: config.ALERT_WEBHOOK_MAX_ATTEMPTS,
          backoffBaseMs: config.ALERT_WEBHOOK_BACKOFF_BASE_MS,
          backoffMaxMs: config.ALERT_WEBHOOK_BACKOFF_MAX_MS,
          queueMax: config.ALERT_DELIVERY_QUEUE_MAX,
          onCount: (outcome) => metrics.alertDeliveries.inc({ channel: 'webhook', outcome }),
        }
      : undefined;
  const deliveryKv = webhookOptions ? await openDeliveryBucket(nc) : undefined;
  // The marks are in memory (the watch keeps them): taken again for every reading (maxAgeMs 0).
  const marks = await watchValidationMarks(nc, log);
  const marksForAlerts = alertExclusion(marks, 0);

  const startPartition = async (p: number): Promise<PartitionConsumer> => {
    const inner = createKvLaneState(stateKv, nowLaneName(p));
    await inner.claim();
    const publisher = createAlertEventPublisher(nc, p, (err) => log.warn({ err: err.message, partition: p }, 'alert event not stored yet; retrying'));
    // After the lane's claim: a predecessor's deliveries recorded before its last checkpoint are all in the bucket.
    const webhooks: PartitionWebhooks | undefined = deliveryKv && webhookOptions ? await startPartitionWebhooks(deliveryKv, p, webhookOptions, log) : undefined;
    // The service fans events out on the next turn (setImmediate): wait for that turn, then for
    // the stream's acknowledgements and the deliveries' records, before a checkpoint says the
    // events were delivered.
    const delivered = async () => {
      await new Promise((r) => setImmediate(r));
      await publisher.flushed();
      await webhooks?.claimed();
    };
    let handedOver = false;
    const state = {
      ...inner,
      saveCheckpoint: async (at: number) => {
        await delivered();
        // Events abandoned at a hand-over are not in the stream: never checkpoint past them.
        if (handedOver) throw new LaneFencedError(`partition ${p} handed over`);
        await inner.saveCheckpoint(at);
      },
    };
    let clock = 0;
    const service = createAlertService({ registry, rules, store: noStore, log, excluded: () => marksForAlerts.excluded(), tickMs: config.ALERT_TICK_MS, queueMax: config.ALERT_DELIVERY_QUEUE_MAX, logDriven: true, clock: () => clock,
      onEvents: (batch) => batch.forEach((e) => metrics.alertEvents.inc({ rule: e.alert.ruleId, type: e.type })),
      onDropped: (n) => metrics.alertFanoutDropped.inc(n),
      onEngineError: (what) => metrics.alertEngineErrors.inc({ what }),
    });
    service.addChannel({
      name: 'alert-stream',
      deliver: (batch) => {
        events += batch.length;
        publisher.publish(batch);
      },
    });
    if (webhooks) service.addChannel({ name: 'webhooks', deliver: (batch) => webhooks.deliver(batch) });
    const reader = await createJetStreamReader(nc, { stream: logOptions.stream, filterSubject: `${logOptions.subjectPrefix}.p.${p}` });
    const lane = createNowLane({
      reader,
      stage: createReadingStage(registry, stageOptions),
      alerts: service,
      state,
      setClock: (ms) => void (clock = ms),
      snapshotEveryMs: config.LOG_SNAPSHOT_EVERY_MS,
      checkpointEveryMs: 1000,
      onStaged: () => undefined, // counters and dead letters: the writer of the partition reports them
      onLive: () => undefined, // the live stream: api processes follow the log themselves
      onRecordError: (err, position) => {
        metrics.consumerErrors.inc({ consumer: 'now' });
        log.error({ err, position, partition: p }, 'a log record could not be processed: skipped by the alert engine');
      },
    });
    try {
      await lane.start();
    } catch (err) {
      // The runner tries the start again: leave nothing of this attempt running.
      service.stop();
      await webhooks?.stop(true, 0);
      await reader.close();
      throw err;
    }
    lanes.set(p, lane);
    return {
      async stop(lost) {
        lanes.delete(p);
        if (lost) {
          handedOver = true;
          publisher.abandon(); // the new owner re-emits from its checkpoint
        }
        await lane.stop().catch((err: unknown) => log.warn({ err, partition: p }, lost ? 'lane stopped after losing its lease (its saves are fenced)' : 'lane state not saved at stop'));
        service.stop();
        await webhooks?.stop(lost, 2000);
        await reader.close();
      },
    };
  };

  const runner = await startPartitionRunner(nc, { bucket: LEASE_BUCKET, owner, partitions: logOptions.partitions, ttlMs: config.CLUSTER_LEASE_TTL_MS, start: startPartition }, log);
  const health = await startRoleHealth(config.HTTP_HOST, config.HTTP_PORT, () => ({ healthy: !nc.isClosed(), role: 'alerts', owner, partitions: runner.running(), events, validationMarks: marks.active() }), {
    registry: metrics.registry,
    token: config.METRICS_TOKEN,
    beforeScrape: () => metrics.alertLaneLagSeconds.set(Math.max(0, ...[...lanes.values()].map((l) => l.lagSeconds()))),
  });
  log.info({ owner, http: health.url }, 'alert evaluator ready');

  return {
    urls: () => ({ mqtt: '', http: health.url }),
    async stop() {
      await runner.stop();
      await marks.close();
      await health.close();
      await nc.drain();
    },
  };
}
