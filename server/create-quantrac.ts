// Composes one quantrac server: InfluxDB client, spool, ingest pipeline, InfluxDB writer, MQTT
// broker and HTTP API. start() brings them up in dependency order; stop() takes them down in
// reverse: no new publishes, in-flight ones committed, a bounded drain, spool closed.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { gatewayDeadLetterTopic } from '../contracts/topics.ts';
import { loadRegistry, type Registry } from '../contracts/stations.ts';
import { buildApp } from '../api/app.ts';
import { createAuth, loadOrCreateSecret } from '../api/auth.ts';
import { createLiveHub } from '../api/live-hub.ts';
import { createNowView, type NowView } from '../api/now-view.ts';
import { startBroker, type Broker } from '../broker/create-broker.ts';
import { createCredentialStore } from '../broker/gateway-credentials.ts';
import { loadTls, type TlsFiles } from '../broker/listeners.ts';
import { createInfluxHttp, type InfluxHttp } from '../ingest/influx/influx-http.ts';
import { createMetrics, type Metrics } from '../ingest/metrics.ts';
import { createIngest, type Ingest } from '../ingest/pipeline.ts';
import { createInfluxWriter, type InfluxWriter } from '../ingest/sink/influx-writer.ts';
import { Spool } from '../ingest/sink/spool.ts';
import type { Config } from './config.ts';
import { influxTargets } from './influx-targets.ts';
import { createRollupConsumer } from '../ingest/rollups/consumer.ts';
import { startRollupLoop } from '../ingest/rollups/loop.ts';
import { readingKeysOfLines } from '../ingest/sink/line-protocol.ts';
import { createAuditLog } from './audit-log.ts';
import { connectRollups, createValidations } from './create-validations.ts';
import { createAlerts } from './create-alerts.ts';
import { createReadinessChecks } from './readiness.ts';
import { loadQcSettings } from './qc-settings.ts';

export interface Quantrac {
  readonly config: Readonly<Config>;
  readonly registry: Registry;
  readonly metrics: Metrics;
  readonly influx: InfluxHttp;
  /** The rollups' target (their retention policy / bucket). */
  readonly rollupInflux: InfluxHttp;
  /** Recent readings in memory for the snapshot and /latest (api/now-view.ts). */
  readonly nowView: NowView;
  readonly log: Logger;
  /** The MQTT broker (its listeners' state is part of /readyz). */
  readonly broker: Broker;
  /** Addresses actually bound (ports resolved when configured as 0). */
  /** `mqtts` only when TLS is configured; `http` is then an https:// URL. */
  urls(): { mqtt: string; http: string; mqtts?: string };
  /** Resolves when every reading spooled so far is in InfluxDB. */
  flushed(): Promise<void>;
  /** Resolves when every reading spooled so far is in InfluxDB and its rollups are recomputed. */
  rollupsFlushed(): Promise<void>;
  stop(): Promise<void>;
}

export async function startQuantrac(config: Readonly<Config>, log: Logger = pino({ level: config.LOG_LEVEL })): Promise<Quantrac> {
  const registry = loadRegistry(config.REGISTRY_PATH);
  const metrics = createMetrics();
  const targets = influxTargets(config);
  const influx = createInfluxHttp(targets.raw);
  const rollupInflux = createInfluxHttp(targets.rollups);
  // The database is created (1.x) or checked (2.x/3.x) at start when reachable; when it is down,
  // ingest still starts (readings spool) and the writer creates it once InfluxDB answers.
  await influx.ensureDatabase().catch((err: Error) => log.warn({ err: err.message }, 'InfluxDB not ready at start; readings will spool'));

  mkdirSync(config.dataDir, { recursive: true });
  const spool = await Spool.open({
    dir: config.spoolDir,
    segmentBytes: config.SPOOL_SEGMENT_BYTES,
    maxBytes: config.SPOOL_MAX_BYTES,
    fsync: config.SPOOL_FSYNC,
  });
  const sampleSpool = () => {
    const s = spool.stats();
    metrics.spoolBytes.set(s.bytes);
    metrics.spoolSegments.set(s.segments);
    metrics.spoolFull.set(s.full ? 1 : 0);
    metrics.spoolCorruptRecords.set(s.corruptRecords);
    metrics.oldestUnwrittenSeconds.set(s.oldestUnwrittenMs / 1000);
  };
  const sampler = setInterval(sampleSpool, 1000);
  sampler.unref();

  // Threshold alerts (issue #4): judged on the ingest hot path, delivered asynchronously.
  const alerts = createAlerts({ config, registry, influx, influxTarget: targets.raw, verifyToken: (token) => auth.verifyToken(token), log, audit: createAuditLog(config.auditLogPath), metrics });
  let broker: Broker | undefined;
  const ingest: Ingest = createIngest({
    registry,
    spool,
    metrics,
    log,
    options: {
      maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES,
      maxJsonDepth: config.INGEST_MAX_JSON_DEPTH,
      maxBatchReadings: config.INGEST_MAX_BATCH_READINGS,
      maxFutureMs: config.INGEST_MAX_FUTURE_MS,
      maxAgeMs: config.INGEST_MAX_AGE_MS,
      quality: loadQcSettings(config.QC_CONFIG_PATH, registry),
    },
    hotPath: [alerts.onReading],
    deadLetter: (gatewayId, letter) => broker?.publish(gatewayDeadLetterTopic(gatewayId), JSON.stringify(letter)),
  });

  // Rollups (issue #13): one more consumer of what the writer stored; moves onto the durable log
  // with its consumer framework (issue #16).
  const validations = createValidations({ dataDir: config.dataDir, auditLogPath: config.auditLogPath, log });
  const rollups = createRollupConsumer({ registry, raw: influx, rollups: rollupInflux, dirtyPath: join(config.dataDir, 'rollups', 'pending.json'), excluded: validations.excluded });
  connectRollups(validations, rollups, log);
  const rollupLoop = startRollupLoop(rollups, config.ROLLUP_FLUSH_INTERVAL_MS, log);
  const writer: InfluxWriter = createInfluxWriter(
    spool,
    influx,
    {
      batchLines: config.WRITE_BATCH_LINES,
      batchBytes: 8 * 1024 * 1024,
      flushIntervalMs: config.WRITE_FLUSH_INTERVAL_MS,
      backoffBaseMs: config.WRITE_BACKOFF_BASE_MS,
      backoffMaxMs: config.WRITE_BACKOFF_MAX_MS,
      maxPointsPerS: config.WRITE_MAX_POINTS_PER_S,
    },
    {
      onWritten: (n, s) => {
        metrics.pointsWritten.inc(n);
        metrics.writeBatchSeconds.observe(s);
      },
      onRetry: (err, delayMs) => {
        metrics.writeRetries.inc({ status: 'status' in err && err.status ? String(err.status) : 'network' });
        log.warn({ err: err.message, delayMs: Math.round(delayMs) }, 'InfluxDB write failed; retrying');
      },
      onStored: (lines) => rollups.onReadings(readingKeysOfLines(lines)),
      onRejectedLine: (line, reason) => {
        metrics.pointsRejected.inc();
        log.error({ line: line.slice(0, 300), reason }, 'InfluxDB refused a point; dead-lettered');
        const station = /,station=([^, ]+)/.exec(line)?.[1];
        const gatewayId = station ? registry.get(station)?.gatewayId : undefined;
        if (gatewayId) {
          broker?.publish(
            gatewayDeadLetterTopic(gatewayId),
            JSON.stringify({ reason: 'database_rejected', detail: reason, topic: '', station, payload: line.slice(0, 1024), rejectedAt: new Date().toISOString() }),
          );
        }
      },
      onError: (err) => log.error({ err }, 'InfluxDB writer loop failed; continuing'),
    },
  );
  writer.start();

  const live = createLiveHub({
    registry,
    coalesceBytes: config.WS_COALESCE_BYTES,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    maxStallMs: config.WS_MAX_STALL_MS,
    heartbeatMs: config.WS_HEARTBEAT_MS,
    onCount: (n) => metrics.wsClients.set(n),
  });
  ingest.onDurable((readings) => live.broadcast(readings));
  // "Now" from memory: fed by the same durable stream, rebuilt from InfluxDB (retried until it answers).
  const nowView = createNowView({ registry });
  ingest.onDurable((readings) => nowView.onReadings(readings));
  const nowViewRebuild = startNowViewRebuild(nowView, influx, log);

  // users.json and gateways.json are edited by hand and by CLIs: an unusable version is logged,
  // counted and shown in /readyz while the last good one keeps serving.
  const badFile = (file: string) => (problem: string) => {
    metrics.fileReadErrors.inc({ file });
    log.error({ file, problem }, 'file not usable: serving its last good version');
  };
  const credentials = createCredentialStore(config.credentialsPath, { onBadRead: badFile('gateways.json') });
  const tlsFiles: TlsFiles | undefined =
    config.TLS_CERT_FILE && config.TLS_KEY_FILE ? { certFile: config.TLS_CERT_FILE, keyFile: config.TLS_KEY_FILE, caFile: config.TLS_CA_FILE } : undefined;
  const httpsOn = tlsFiles !== undefined && config.HTTP_TLS;
  broker = await startBroker(
    {
      host: config.MQTT_HOST,
      port: config.MQTT_PLAIN ? config.MQTT_PORT : undefined,
      allowAnonymous: config.MQTT_ALLOW_ANONYMOUS,
      credentials,
      drainTimeoutMs: config.MQTT_DRAIN_TIMEOUT_MS,
      stationGateway: (id) => registry.get(id)?.gatewayId,
      denyAction: config.MQTT_DENY_ACTION,
      aclMode: config.MQTT_ACL,
      maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
      addressLimits: {
        maxConnections: config.MQTT_MAX_CONNECTIONS_PER_ADDRESS,
        burst: config.MQTT_CONNECT_BURST,
        windowMs: config.MQTT_CONNECT_WINDOW_MS,
        banMs: config.MQTT_CONNECT_BAN_MS,
      },
      maxInflight: config.MQTT_MAX_INFLIGHT,
      tls: tlsFiles ? { port: config.MQTT_TLS_PORT, files: tlsFiles, clientCerts: mqttClientCerts(config) } : undefined,
    },
    ingest,
    log,
    {
      onConnections: (n) => metrics.brokerConnections.set(n),
      onRefused: (what, reason) => metrics.brokerRefused.inc({ what, reason }),
      onInflightHeld: () => metrics.brokerInflightHolds.inc(),
      onInflightPeak: (n) => metrics.brokerInflightPeak.set(n),
    },
  );
  alerts.publishTo(broker);
  alerts.start();
  if (config.MQTT_ALLOW_ANONYMOUS) log.warn('MQTT_ALLOW_ANONYMOUS=true: anonymous MQTT clients may publish; for development only');

  const auth = createAuth({
    usersPath: config.apiUsersPath,
    secret: loadOrCreateSecret(config.API_TOKEN_SECRET, config.apiTokenSecretPath),
    tokenTtlS: config.API_TOKEN_TTL_S,
    onBadRead: badFile('users.json'),
    hashConcurrency: config.API_LOGIN_HASH_CONCURRENCY,
  });
  const app = await buildApp({
    alerts: alerts.api, // public view (GET /api/alerts/public)
    alertApi: alerts.api,
    nowView,
    log,
    registry,
    auth,
    validations: { store: validations.store, audit: validations.audit, onChange: (c) => validations.onChange?.(c) },
    api: {
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
    },
    influx,
    rollupInflux,
    live,
    metrics: metrics.registry,
    https: httpsOn && tlsFiles ? loadTls(tlsFiles) : undefined,
    readiness: createReadinessChecks({
      influxPing: () => influx.ping(),
      broker: () => broker,
      spool: () => spool.stats(),
      spoolMaxBytes: config.SPOOL_MAX_BYTES,
      files: [
        { name: 'users-file', problem: () => auth.usersFileProblem() },
        { name: 'gateways-file', problem: () => credentials.problem() },
      ],
    }),
  });
  await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const httpAddress = app.server.address();
  const httpPort = typeof httpAddress === 'object' && httpAddress ? httpAddress.port : config.HTTP_PORT;
  const mqttPort = broker.port();
  const host = (h: string) => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h);

  let stopping: Promise<void> | undefined;
  return {
    config,
    registry,
    metrics,
    influx,
    rollupInflux,
    nowView,
    log,
    broker,
    urls: () => ({
      // TLS only (MQTT_PLAIN=off): the one MQTT address there is.
      mqtt: config.MQTT_PLAIN ? `mqtt://${host(config.MQTT_HOST)}:${mqttPort}` : `mqtts://${host(config.MQTT_HOST)}:${broker?.tlsPort()}`,
      http: `${httpsOn ? 'https' : 'http'}://${host(config.HTTP_HOST)}:${httpPort}`,
      ...(broker?.tlsPort() ? { mqtts: `mqtts://${host(config.MQTT_HOST)}:${broker.tlsPort()}` } : {}),
    }),
    flushed: () => writer.flushed(),
    rollupsFlushed: async () => {
      await writer.flushed();
      await rollupLoop.flushNow();
    },
    stop() {
      stopping ??= (async () => {
        await broker?.close(); // no new connections or publishes
        nowViewRebuild.stop();
        await ingest.idle(); // publishes already inside the pipeline reach the spool
        await alerts.stop(config.SHUTDOWN_DRAIN_MS); // queued events fanned out, alert store snapshotted and closed
        live.close();
        await app.close();
        await writer.stop(config.SHUTDOWN_DRAIN_MS); // what is not written by then stays spooled
        await rollupLoop.stop(config.SHUTDOWN_DRAIN_MS); // what is not recomputed stays marked in its journal
        clearInterval(sampler);
        await spool.close();
      })();
      return stopping;
    },
  };
}

/** Rebuilds the now-view at start; while InfluxDB does not answer, retries every 5 s (the API uses InfluxQL meanwhile). */
function startNowViewRebuild(nowView: NowView, influx: InfluxHttp, log: Logger): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = () => {
    nowView.rebuild(influx).then(
      () => log.info(nowView.stats(), 'now-view rebuilt from InfluxDB'),
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

const mqttClientCerts = (config: Readonly<Config>) =>
  config.MQTT_TLS_CLIENT_CERT !== 'off' && config.MQTT_TLS_CLIENT_CA_FILE ? { mode: config.MQTT_TLS_CLIENT_CERT, caFile: config.MQTT_TLS_CLIENT_CA_FILE } : undefined;
