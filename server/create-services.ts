// Composes the services thread: every consumer of the durable log, the API and the WebSockets.
// The broker thread (create-quantrac.ts) only moves packets and appends to the log; this thread
// reads what it committed.
//
//   log (segment files) ──▶ now lane:   reading stage ─▶ counters, dead letters ─▶ alerts ─▶ deliveries
//                      │                     │                                 └─▶ /ws/live
//                      │                     └─▶ hand-off (outcomes, quality snapshots)
//                      │                                   ▼
//                      └─▶ store lane: (own reading stage only past the hand-off's bound) ─▶ line protocol ─▶ writer ─▶ InfluxDB ─▶ checkpoint
//   API (Fastify): /api/*, /ws/officer, /ws/live, /metrics, /readyz
//
// A segment is released once both lanes' durable snapshots have passed it.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { gatewayDeadLetterTopic } from '../contracts/topics.ts';
import { loadRegistry, type Registry } from '../contracts/stations.ts';
import { buildApp, type AppDeps, type ReadinessCheck } from '../api/app.ts';
import { createAuth, loadOrCreateSecret } from '../api/auth.ts';
import { createLiveHub } from '../api/live-hub.ts';
import { createNowView, type NowView } from '../api/now-view.ts';
import { createRollupConsumer } from '../ingest/rollups/consumer.ts';
import { startRollupLoop } from '../ingest/rollups/loop.ts';
import { influxTargets } from './influx-targets.ts';
import { loadTls, type TlsFiles } from '../broker/listeners.ts';
import { createReadingStage, type ReadingStageOptions } from '../ingest/consumers/reading-stage.ts';
import { createLaneStateStore } from '../ingest/consumers/lane-state.ts';
import { createNowLane, type NowLane } from '../ingest/consumers/now-lane.ts';
import { createStoreLane, type StoreLane } from '../ingest/consumers/store-lane.ts';
import { createStagedHandOff } from '../ingest/consumers/staged-hand-off.ts';
import { createInfluxHttp, type InfluxHttp } from '../ingest/influx/influx-http.ts';
import { createFileLogReader, type FileLogReader } from '../ingest/log/file-log.ts';
import { checkRecordTypes } from '../ingest/log/record-check.ts';
import type { LogCommand } from '../ingest/log/records.ts';
import type { LogPosition } from '../ingest/log/types.ts';
import { countStaged, createMetrics, type Metrics } from '../ingest/metrics.ts';
import { observeBacktestWorkers } from '../ingest/alerts/backtest-off-thread.ts';
import { createLineEncoder } from '../ingest/sink/line-protocol.ts';
import { createInfluxWriter, type InfluxWriter, type WriterOptions } from '../ingest/sink/influx-writer.ts';
import { countedWriterHooks } from '../ingest/sink/writer-hooks.ts';
import { createAuditLog } from './audit-log.ts';
import type { Config } from './config.ts';
import { createAlerts } from './create-alerts.ts';
import { alertExclusion, connectRollups, createValidations } from './create-validations.ts';
import { loadQcSettings } from './qc-settings.ts';

/** What the services need from the broker thread. */
export interface BrokerLink {
  publish(topic: string, payload: string, qos?: 0 | 1): void;
  /** Appends an officer's command to the log; resolves once it is durable. */
  appendCommand(command: LogCommand & { id: string }): Promise<void>;
  /** Every consumer has passed `position`. */
  release(position: LogPosition): void;
  /** The broker thread's metrics (broker, log) as prom-client JSON. */
  brokerMetrics(): Promise<unknown[]>;
  /** The now-view has been rebuilt from InfluxDB. */
  nowViewReady(): void;
  /** The broker thread's readiness problems (broker listening, log bound). */
  readiness(): Promise<Record<string, string | undefined>>;
}

export interface Services {
  readonly httpPort: number;
  /** The log's committed end moved. */
  setLogEnd(end: LogPosition): void;
  /** Resolves when everything committed to the log so far is in InfluxDB and judged by the alert engine. */
  flushed(): Promise<void>;
  rollupsFlushed(): Promise<void>;
  rebuildNowView(): Promise<void>;
  /** Both lanes snapshot at their next record boundary. */
  snapshotSoon(): void;
  stop(drainMs: number): Promise<void>;
}

export function readingStageOptions(config: Readonly<Config>, registry: Registry): ReadingStageOptions {
  return {
    maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES,
    maxJsonDepth: config.INGEST_MAX_JSON_DEPTH,
    maxBatchReadings: config.INGEST_MAX_BATCH_READINGS,
    maxFutureMs: config.INGEST_MAX_FUTURE_MS,
    maxAgeMs: config.INGEST_MAX_AGE_MS,
    quality: { config: loadQcSettings(config.QC_CONFIG_PATH, registry), registry },
  };
}

/** The public API's limits and security from the config (also the cluster's api role). */
export function apiOptions(config: Readonly<Config>): AppDeps['api'] {
  return {
    rateLimitPerMin: config.API_RATE_LIMIT_PER_MIN,
    corsOrigins: config.API_CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    cacheTtlMs: config.API_CACHE_TTL_MS,
    maxRangeMs: config.API_MAX_RANGE_DAYS * 86_400_000,
    maxPoints: config.API_MAX_POINTS,
    exportMaxRows: config.API_EXPORT_MAX_ROWS,
    tileUrl: config.API_TILE_URL,
    wsMaxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
    metricsToken: config.METRICS_TOKEN,
    trustProxy: config.trustProxy,
    login: { maxFailuresPerAccount: config.API_LOGIN_MAX_FAILURES, maxFailuresPerAddress: config.API_LOGIN_MAX_FAILURES_PER_ADDRESS, lockoutMs: config.API_LOGIN_LOCKOUT_MS, lockoutMaxMs: config.API_LOGIN_LOCKOUT_MAX_MS },
  };
}

/** The InfluxDB writer's batching, backoff and pacing from the config (also the cluster's writer role). */
export function writerOptions(config: Readonly<Config>): WriterOptions {
  return {
    batchLines: config.WRITE_BATCH_LINES,
    batchBytes: 8 * 1024 * 1024,
    flushIntervalMs: config.WRITE_FLUSH_INTERVAL_MS,
    backoffBaseMs: config.WRITE_BACKOFF_BASE_MS,
    backoffMaxMs: config.WRITE_BACKOFF_MAX_MS,
    maxPointsPerS: config.WRITE_MAX_POINTS_PER_S,
  };
}

export async function startServices(config: Readonly<Config>, log: Logger, logEnd: LogPosition, broker: BrokerLink): Promise<Services> {
  const registry: Registry = loadRegistry(config.REGISTRY_PATH);
  const metrics: Metrics = createMetrics({ processMetrics: false });
  const targets = influxTargets(config);
  const stageOptions = readingStageOptions(config, registry);
  const influx: InfluxHttp = createInfluxHttp(targets.raw);
  const rollupInflux = createInfluxHttp(targets.rollups);
  const checkpointsDir = join(config.dataDir, 'checkpoints');
  const onCorrupt = (position: LogPosition) => {
    metrics.spoolCorruptRecords.inc();
    log.error({ position }, 'damaged log record: skipping the rest of its segment');
  };
  const readers: FileLogReader[] = [
    createFileLogReader({ dir: config.spoolDir, end: logEnd, onCorrupt }),
    createFileLogReader({ dir: config.spoolDir, end: logEnd, onCorrupt }),
  ];
  // A downgrade: records a newer quantrac appended and no lane has consumed yet would be skipped
  // by this one; stop here instead (ingest/log/record-check.ts).
  const consumedUpTo = await Promise.all(['now', 'store'].map((lane) => createLaneStateStore(checkpointsDir, lane).loadCheckpoint()));
  await checkRecordTypes(readers[0]!, Math.min(...consumedUpTo.map((p) => p ?? 0)));
  const recordError = (lane: string) => (err: unknown, position: LogPosition) => {
    metrics.consumerErrors.inc({ consumer: lane });
    log.error({ err, position, consumer: lane }, 'a consumer could not process a log record: skipped for that consumer');
  };

  // Alerts, fed by the now lane at the log's own times.
  let alertClock = Date.now();
  let nowLane: NowLane | undefined;
  const auth = createAuth({
    usersPath: config.apiUsersPath,
    secret: loadOrCreateSecret(config.API_TOKEN_SECRET, config.apiTokenSecretPath),
    tokenTtlS: config.API_TOKEN_TTL_S,
    onBadRead: (problem: string) => {
      metrics.fileReadErrors.inc({ file: 'users.json' });
      log.error({ file: 'users.json', problem }, 'file not usable: serving its last good version');
    },
    hashConcurrency: config.API_LOGIN_HASH_CONCURRENCY,
  });
  const unobserveBacktests = observeBacktestWorkers((h) => {
    metrics.backtestHeapBytes.set(h.usedHeapBytes);
    metrics.backtestHeapPeakBytes.set(h.runPeakBytes);
  });
  // Officers' validation marks: marked values are left out of alerts and rollups.
  const validations = createValidations({
    dataDir: config.dataDir,
    auditLogPath: config.auditLogPath,
    log,
    onBadRead: (problem: string) => {
      metrics.fileReadErrors.inc({ file: 'validations.json' });
      log.error({ file: 'validations.json', problem }, 'file not usable: serving its last good version');
    },
  });
  const marksForAlerts = alertExclusion(validations.store);
  const alerts = createAlerts({
    excluded: () => marksForAlerts.excluded(),
    config,
    registry,
    influx,
    influxTarget: targets.raw,
    verifyToken: (token) => auth.verifyToken(token),
    log,
    audit: createAuditLog(config.auditLogPath),
    metrics,
    logDriven: {
      clock: () => alertClock,
      async acknowledge(alertId, ack) {
        const id = randomUUID();
        const command = { type: 'acknowledge' as const, id, alertId, by: ack.by, ...(ack.note ? { note: ack.note } : {}) };
        const applied = nowLane!.awaitCommand(id);
        await broker.appendCommand(command);
        return applied;
      },
    },
  });
  alerts.publishTo({ publish: (topic, payload, qos) => broker.publish(topic, payload, qos) });

  const live = createLiveHub({
    registry,
    coalesceBytes: config.WS_COALESCE_BYTES,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    maxStallMs: config.WS_MAX_STALL_MS,
    heartbeatMs: config.WS_HEARTBEAT_MS,
    onCount: (n) => metrics.wsClients.set(n),
  });

  // "Now" from memory: fed by the now lane, rebuilt from InfluxDB (retried until it answers).
  const nowView: NowView = createNowView({ registry });
  // Rollups: one more follower of what the writer stored (pending buckets journalled before the
  // store lane's checkpoint moves). Officers' validation marks leave values out of them.
  // The store lane and the rollups yield to the now lane (alerts first: ingest/consumers/time-slice.ts).
  const urgent = () => nowLane?.urgent();
  const rollups = createRollupConsumer({ registry, raw: influx, rollups: rollupInflux, dirtyPath: join(config.dataDir, 'rollups', 'pending.json'), excluded: validations.excluded, yieldTo: urgent, openHourEveryMs: config.ROLLUP_OPEN_HOUR_EVERY_MS });
  connectRollups(validations, rollups, log);
  const rollupLoop = startRollupLoop(rollups, config.ROLLUP_FLUSH_INTERVAL_MS, log);

  // The store lane takes the now lane's reading-stage outcomes instead of computing them again.
  const handOff = config.LOG_HAND_OFF_RECORDS > 0 ? createStagedHandOff(config.LOG_HAND_OFF_RECORDS) : undefined;
  nowLane = createNowLane({
    ...(handOff ? { handOff } : {}),
    reader: readers[0]!,
    stage: createReadingStage(registry, stageOptions),
    alerts: alerts.service,
    state: createLaneStateStore(checkpointsDir, 'now'),
    setClock: (ms) => void (alertClock = ms),
    snapshotEveryMs: config.LOG_SNAPSHOT_EVERY_MS,
    checkpointEveryMs: 1000,
    onStaged(staged, qos) {
      countStaged(metrics, staged, qos);
      for (const r of staged.rejected) {
        if (!r.gatewayId) continue;
        broker.publish(gatewayDeadLetterTopic(r.gatewayId), JSON.stringify(r.letter), 0);
        metrics.deadLetters.inc();
      }
    },
    onLive(readings) {
      nowView.onReadings(readings);
      live.broadcast(readings);
    },
    onRecordError: recordError('now'),
  });

  const encode = createLineEncoder(registry);
  const storeLane: StoreLane = createStoreLane({
    ...(handOff ? { handOff } : {}),
    onResync(replayed) {
      metrics.storeLaneResyncs.inc();
      metrics.storeLaneReplayed.inc(replayed);
      log.warn({ replayed }, 'the store lane fell behind the now lane’s hand-off: rebuilt its quality state from a snapshot');
    },
    reader: readers[1]!,
    stage: createReadingStage(registry, stageOptions),
    encode,
    encodeRevision: (rev) => encode.revision(rev),
    state: createLaneStateStore(checkpointsDir, 'store'),
    snapshotEveryMs: config.LOG_SNAPSHOT_EVERY_MS,
    checkpointEveryMs: 200,
    onRecordError: recordError('store'),
    yieldTo: urgent,
  });
  await storeLane.open();
  const writer: InfluxWriter = createInfluxWriter(
    storeLane,
    influx,
    writerOptions(config),
    {
      ...countedWriterHooks(metrics, log, {
        onRejectedLine: (line, reason) => {
          const station = /,station=([^, ]+)/.exec(line)?.[1];
          const gatewayId = station ? registry.get(station)?.gatewayId : undefined;
          if (gatewayId) {
            broker.publish(
              gatewayDeadLetterTopic(gatewayId),
              JSON.stringify({ reason: 'database_rejected', detail: reason, topic: '', station, payload: line.slice(0, 1024), rejectedAt: new Date().toISOString() }),
              0,
            );
          }
        },
      }),
      onStored: (_lines, upTo) => rollups.onReadings(storeLane.pointKeysUpTo(upTo)),
      onError: (err) => log.error({ err }, 'InfluxDB writer loop failed; continuing'),
    },
  );
  await influx.ensureDatabase().catch((err: Error) => log.warn({ err: err.message }, 'InfluxDB not ready at start; readings stay in the log'));
  writer.start();
  await nowLane.start();
  const nowViewRebuild = startNowViewRebuild(nowView, influx, log, () => broker.nowViewReady());

  // The release rule: a segment goes once every lane's durable snapshot has passed it.
  let released = 0;
  const releaser = setInterval(() => {
    const upTo = Math.min(nowLane!.holds(), storeLane.holds());
    if (upTo > released) {
      released = upTo;
      broker.release(upTo);
    }
  }, 1000);
  releaser.unref();

  const tlsFiles: TlsFiles | undefined =
    config.TLS_CERT_FILE && config.TLS_KEY_FILE ? { certFile: config.TLS_CERT_FILE, keyFile: config.TLS_KEY_FILE, caFile: config.TLS_CA_FILE } : undefined;
  const httpsOn = tlsFiles !== undefined && config.HTTP_TLS;
  const brokerCheck = (name: string, degradesOnly = false): ReadinessCheck => ({ name, ...(degradesOnly ? { degradesOnly } : {}), check: async () => (await broker.readiness())[name] });
  const app = await buildApp({
    alerts: alerts.api,
    alertApi: alerts.api,
    nowView,
    log,
    registry,
    auth,
    validations: {
      store: validations.store,
      audit: validations.audit,
      onChange: (c) => {
        marksForAlerts.invalidate();
        validations.onChange?.(c);
      },
    },
    api: apiOptions(config),
    influx,
    rollupInflux,
    live,
    metrics: metrics.registry,
    exposition: async () => {
      metrics.alertLaneLagSeconds.set(nowLane?.lagSeconds() ?? 0);
      return mergeMetrics([await broker.brokerMetrics(), await metrics.registry.getMetricsAsJSON()]);
    },
    https: httpsOn && tlsFiles ? loadTls(tlsFiles) : undefined,
    readiness: [
      { name: 'influxdb', check: async () => ((await influx.ping()) ? undefined : 'InfluxDB does not answer its ping') },
      brokerCheck('broker'),
      brokerCheck('spool'),
      { name: 'users-file', degradesOnly: true, check: async () => auth.usersProblem() },
      { name: 'validations-file', degradesOnly: true, check: async () => validations.store.problem() },
      brokerCheck('gateways-file', true),
    ],
  });
  await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.HTTP_PORT;

  return {
    httpPort,
    setLogEnd(end) {
      for (const r of readers) r.setEnd(end);
      storeLane.notify();
    },
    async flushed() {
      await Promise.all([writer.flushed(), nowLane!.caughtUp()]);
    },
    async rollupsFlushed() {
      await writer.flushed();
      await rollupLoop.flushNow();
    },
    rebuildNowView: async () => {
      await nowView.rebuild(influx);
      broker.nowViewReady();
    },
    snapshotSoon() {
      nowLane!.snapshotSoon();
      storeLane.snapshotSoon();
    },
    async stop(drainMs) {
      clearInterval(releaser);
      nowViewRebuild.stop();
      await nowLane!.caughtUp(); // what was appended before the broker closed reaches officers and clients
      await nowLane!.stop();
      await alerts.stop(drainMs);
      unobserveBacktests();
      live.close();
      await app.close();
      await writer.stop(drainMs); // what is not written by then stays in the log
      await rollupLoop.stop(drainMs); // what is not recomputed stays marked in its journal
      await storeLane.close();
      for (const r of readers) await r.close();
    },
  };
}

/** One Prometheus exposition from both threads' registries (each metric is owned by one of them). */
async function mergeMetrics(jsons: unknown[][]): Promise<string> {
  const { AggregatorRegistry } = await import('prom-client');
  return AggregatorRegistry.aggregate(jsons as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
}

/** Rebuilds the now-view at start; while InfluxDB does not answer, retries every 5 s (the API uses InfluxQL meanwhile). */
function startNowViewRebuild(nowView: NowView, influx: InfluxHttp, log: Logger, onReady: () => void): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = () => {
    nowView.rebuild(influx).then(
      () => {
        log.info(nowView.stats(), 'now-view rebuilt from InfluxDB');
        onReady();
      },
      (err: Error) => {
        if (stopped) return;
        log.warn({ err: err.message }, 'now-view rebuild failed; retrying in 5 s');
        timer = setTimeout(attempt, 5000);
        timer.unref();
      },
    );
  };
  attempt();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
