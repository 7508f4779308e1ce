// The cluster's MQTT edge (QUANTRAC_ROLE=edge): the embedded broker with its auth, ACL and limits,
// whose publish hook appends the raw publish to the replicated JetStream log and lets the PUBACK
// go once the stream's quorum stored it. Nothing else runs here: the consumers (readings, writer,
// alerts) read the log elsewhere. Credentials come from the cluster's KV bucket, so a change made
// with `npm run gateways` reaches every edge at once. Any number of edges behind HAProxy. The
// writers' dead letters reach the gateways through the edges (dead-letters.ts); the broker's
// counters are served at /metrics beside /healthz (role-health.ts).
//
//   gateway ─MQTT─▶ HAProxy ─PROXY v2─▶ edge: auth/ACL/limits ─append─▶ JetStream R3 ─PubAck─▶ PUBACK
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { startBroker, type Broker } from '../../broker/create-broker.ts';
import { createKvCredentialStore, openCredentialsBucket } from '../../broker/kv-credentials.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { createJetStreamAppender, ensureJetStreamLog } from '../../ingest/log/jetstream-log.ts';
import { createMetrics } from '../../ingest/metrics.ts';
import type { Config } from '../config.ts';
import { relayDeadLetters } from './dead-letters.ts';
import { startRoleHealth } from './role-health.ts';

export interface Edge {
  urls(): { mqtt: string; http: string };
  /** Publishes appended and acknowledged so far (health and tests). */
  appended(): number;
  stop(): Promise<void>;
}

export async function startEdge(config: Readonly<Config>, log: Logger): Promise<Edge> {
  const nc = await connect({ servers: [...config.natsServers], name: `quantrac-edge-${process.pid}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const logOptions = await ensureJetStreamLog(nc);
  const appender = createJetStreamAppender(nc, logOptions);
  const credentials = await createKvCredentialStore(await openCredentialsBucket(nc));
  const registry = loadRegistry(config.REGISTRY_PATH);
  let appended = 0;
  const metrics = createMetrics({ processMetrics: true });

  const broker: Broker = await startBroker(
    {
      host: config.MQTT_HOST,
      port: config.MQTT_PORT,
      allowAnonymous: config.MQTT_ALLOW_ANONYMOUS,
      credentials,
      authHashing: { concurrency: config.MQTT_AUTH_HASH_CONCURRENCY, queueMax: config.MQTT_AUTH_QUEUE_MAX },
      drainTimeoutMs: config.MQTT_DRAIN_TIMEOUT_MS,
      stationGateway: (id) => registry.get(id)?.gatewayId,
      denyAction: config.MQTT_DENY_ACTION,
      maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
      addressLimits: {
        maxConnections: config.MQTT_MAX_CONNECTIONS_PER_ADDRESS,
        burst: config.MQTT_CONNECT_BURST,
        windowMs: config.MQTT_CONNECT_WINDOW_MS,
        banMs: config.MQTT_CONNECT_BAN_MS,
      },
      maxInflight: config.MQTT_MAX_INFLIGHT,
      proxyProtocol: config.MQTT_PROXY_PROTOCOL,
    },
    {
      // Before the PUBACK [MQTT-4.3.2]: QoS 1 waits for the stream's acknowledgement; QoS 0 does not.
      async onPublish(input) {
        const append = appender
          .append({ topic: input.topic, payload: input.payload, qos: input.qos === 0 ? 0 : 1, gatewayId: input.gatewayId, clientId: input.clientId, receivedAt: Date.now() })
          .then(() => void appended++);
        if (input.qos !== 0) return append;
        append.catch((err: Error) => log.warn({ err: err.message, topic: input.topic }, 'QoS 0 publish not appended'));
      },
    },
    log,
    {
      onConnections: (n) => metrics.brokerConnections.set(n),
      onRefused: (what, reason) => metrics.brokerRefused.inc({ what, reason }),
      onInflightHeld: () => metrics.brokerInflightHolds.inc(),
      onInflightPeak: (n) => metrics.brokerInflightPeak.set(n),
    },
  );

  const deadLetters = relayDeadLetters(nc, (topic, payload, qos) => broker.publish(topic, payload, qos), log);

  // The clock record for silence rules: every edge appends each tick on the same grid, and the
  // log stores it once (its Nats-Msg-Id is the tick's time).
  const tick = setInterval(() => {
    const at = Math.floor(Date.now() / config.ALERT_TICK_MS) * config.ALERT_TICK_MS;
    appender.appendTick(at).catch((err: Error) => log.warn({ err: err.message }, 'clock tick not appended'));
  }, config.ALERT_TICK_MS);
  tick.unref();

  // Health for HAProxy and `npm run cluster -- status`: 200 while the NATS connection is up; the
  // broker's counters at /metrics (role-health.ts).
  const health = await startRoleHealth(
    config.HTTP_HOST,
    config.HTTP_PORT,
    () => ({ healthy: !nc.isClosed(), role: 'edge', nats: nc.isClosed() ? 'closed' : 'connected', appended, logFull: appender.isFull() }),
    { registry: metrics.registry, token: config.METRICS_TOKEN, beforeScrape: () => metrics.spoolFull.set(appender.isFull() ? 1 : 0) },
  );
  const httpPort = Number(new URL(health.url).port);
  log.info({ mqttPort: broker.port(), httpPort, stream: logOptions.stream }, 'edge ready');

  return {
    urls: () => ({ mqtt: `mqtt://127.0.0.1:${broker.port()}`, http: `http://127.0.0.1:${httpPort}` }),
    appended: () => appended,
    async stop() {
      clearInterval(tick);
      deadLetters.stop();
      await broker.close();
      await appender.close();
      await credentials.close();
      await health.close();
      await nc.drain();
    },
  };
}
