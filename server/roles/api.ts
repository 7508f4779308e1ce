// The cluster's API role (QUANTRAC_ROLE=api): the same Fastify app as the embedded server, stateless
// (any number behind a load balancer). Data from InfluxDB; the live stream (/ws/live) and the
// "now" view from a follower of the replicated log starting at its end (its own reading stage);
// the alert views and /ws/officer from the replicated alert history (alert-view.ts); the accounts and
// the token secret from KV (quantrac_users, quantrac_api_secrets), shared by every API process, and
// the officers' validation marks (quantrac_validations).
//
//   QUANTRAC_LOG (from its end) ─▶ reading stage ─▶ /ws/live, now-view
//   QUANTRAC_ALERTS (whole)     ─▶ alert view   ─▶ /api/alerts*, /ws/officer;  ack ─▶ command into the log
import { existsSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { loadRegistry } from '../../contracts/stations.ts';
import { buildApp } from '../../api/app.ts';
import { createAuth } from '../../api/auth.ts';
import { createKvUsersSource, openUsersBucket, USERS_BUCKET } from '../../api/kv-users.ts';
import { loadOrCreateKvSecret } from '../../api/kv-token-secret.ts';
import { createKvValidationStore, openValidationsBucket, VALIDATIONS_BUCKET } from '../../api/kv-validation-store.ts';
import { createAuditLog } from '../audit-log.ts';
import { createLiveHub, type LiveHub } from '../../api/live-hub.ts';
import { createNowView, type NowView } from '../../api/now-view.ts';
import { ensureAlertStream } from '../../ingest/alerts/event-stream.ts';
import { createReadingStage, type ReadingStageOptions } from '../../ingest/consumers/reading-stage.ts';
import { createInfluxHttp } from '../../ingest/influx/influx-http.ts';
import { createJetStreamAppender, ensureJetStreamLog } from '../../ingest/log/jetstream-log.ts';
import { createJetStreamReader, followReader } from '../../ingest/log/jetstream-reader.ts';
import { decodeRecord } from '../../ingest/log/records.ts';
import { createMetrics } from '../../ingest/metrics.ts';
import type { Registry } from '../../contracts/stations.ts';
import type { Config } from '../config.ts';
import { loadAlertRules } from '../create-alerts.ts';
import { apiOptions, readingStageOptions } from '../create-services.ts';
import { influxTargets } from '../influx-targets.ts';
import { startClusterAlertView } from './alert-view.ts';
import type { RoleProcess } from './writer.ts';

/** Follows the log from its end into the live hub and the now-view; stop() ends it. */
async function followLive(nc: NatsConnection, stream: string, registry: Registry, stageOptions: ReadingStageOptions, sinks: { live: LiveHub; nowView: NowView }): Promise<{ stop(): Promise<void> }> {
  const reader = await createJetStreamReader(nc, { stream });
  const stage = createReadingStage(registry, stageOptions);
  const from = (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq + 1;
  return followReader(reader, from, (entries) => {
    for (const e of entries) {
      const record = decodeRecord(e.body);
      if (record.type !== 'publish') continue;
      const staged = stage.process(record.publish);
      if (!staged || staged.accepted.length === 0) continue;
      sinks.nowView.onReadings(staged.accepted);
      sinks.live.broadcast(staged.accepted);
    }
  });
}

export async function startApiRole(config: Readonly<Config>, log: Logger): Promise<RoleProcess> {
  const nc = await connect({ servers: [...config.natsServers], name: `quantrac-api-${process.pid}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const logOptions = await ensureJetStreamLog(nc);
  await ensureAlertStream(nc);
  const registry = loadRegistry(config.REGISTRY_PATH);
  const metrics = createMetrics({ processMetrics: true });
  const targets = influxTargets(config);
  const influx = createInfluxHttp(targets.raw);
  const rollupInflux = createInfluxHttp(targets.rollups);
  if (existsSync(config.apiUsersPath)) {
    log.warn({ file: config.apiUsersPath, bucket: USERS_BUCKET }, 'cluster mode reads the accounts from the KV bucket, not this file: add them with NATS_URL=… npm run users -- add');
  }
  const users = await createKvUsersSource(await openUsersBucket(nc), {
    onBadEntry: (user, problem) => log.error({ bucket: USERS_BUCKET, user, problem }, 'account entry not usable: that user is refused until it is replaced'),
  });
  const auth = createAuth({
    users,
    secret: await loadOrCreateKvSecret(nc, config.API_TOKEN_SECRET),
    tokenTtlS: config.API_TOKEN_TTL_S,
    hashConcurrency: config.API_LOGIN_HASH_CONCURRENCY,
  });
  const marks = await createKvValidationStore(await openValidationsBucket(nc), {
    onBadEntry: (key, problem) => log.error({ bucket: VALIDATIONS_BUCKET, key, problem }, 'validation mark not usable: left out'),
  });
  const auditLog = createAuditLog(config.auditLogPath);
  const appender = createJetStreamAppender(nc, logOptions);
  const alertView = await startClusterAlertView({
    nc,
    appender,
    registry,
    rules: loadAlertRules(config.ALERT_RULES_PATH),
    influx,
    verifyToken: (token) => auth.verifyToken(token),
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
  });
  const live = createLiveHub({
    registry,
    coalesceBytes: config.WS_COALESCE_BYTES,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    maxStallMs: config.WS_MAX_STALL_MS,
    heartbeatMs: config.WS_HEARTBEAT_MS,
    onCount: (n) => metrics.wsClients.set(n),
  });
  const nowView = createNowView({ registry });
  const follower = await followLive(nc, logOptions.stream, registry, readingStageOptions(config, registry), { live, nowView });
  nowView.rebuild(influx).catch((err: Error) => log.warn({ err: err.message }, 'now-view not rebuilt from InfluxDB; the API reads InfluxDB meanwhile'));

  const app = await buildApp({
    alerts: alertView.api,
    alertApi: alertView.api,
    nowView,
    log,
    registry,
    auth,
    api: apiOptions(config),
    influx,
    rollupInflux,
    live,
    validations: { store: marks, audit: (event) => void auditLog.append(event).catch((err: unknown) => log.error({ err, event }, 'audit log write failed')) },
    metrics: metrics.registry,
    readiness: [
      { name: 'influxdb', check: async () => ((await influx.ping()) ? undefined : 'InfluxDB does not answer its ping') },
      { name: 'nats', check: async () => (nc.isClosed() ? 'the NATS connection is closed' : undefined) },
      { name: 'users', degradesOnly: true, check: async () => auth.usersProblem() },
    ],
  });
  await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.HTTP_PORT;
  log.info({ httpPort }, 'api ready');

  return {
    urls: () => ({ mqtt: '', http: `http://127.0.0.1:${httpPort}` }),
    async stop() {
      await follower.stop();
      live.close();
      await app.close();
      await alertView.stop();
      await users.close();
      await marks.close();
      await appender.close();
      await nc.drain();
    },
  };
}
