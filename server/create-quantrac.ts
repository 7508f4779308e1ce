// Composes one quantrac server on two threads. This one, the broker thread, runs the MQTT broker
// and the durable log's appends: nothing but auth, the ACL, the limits and the append happens
// before a PUBACK. The services thread (a worker, services-worker.ts → create-services.ts) runs
// every consumer of the log — validation, quality, alerts, the InfluxDB writer, the live stream —
// and the API. start() brings them up in dependency order; stop() takes them down in reverse: no
// new publishes, in-flight appends committed, the consumers drained for a bounded time, the log
// closed.
//
//   gateways ──▶ broker (Aedes) ──▶ log append (fsync) ──▶ PUBACK
//                                        │ committed end
//                                        ▼
//                           services thread: now lane, store lane, API
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import { loadRegistry, type Registry } from '../contracts/stations.ts';
import { startBroker, type Broker } from '../broker/create-broker.ts';
import { createCredentialStore } from '../broker/gateway-credentials.ts';
import type { TlsFiles } from '../broker/listeners.ts';
import { createReadinessChecks } from './readiness.ts';
import { influxTargets } from './influx-targets.ts';
import { createInfluxHttp, type InfluxHttp } from '../ingest/influx/influx-http.ts';
import { openFileLog } from '../ingest/log/file-log.ts';
import { createMetrics, type Metrics } from '../ingest/metrics.ts';
import { createIngest, type Ingest } from '../ingest/pipeline.ts';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';
import type { ServicesInit, ToBroker, ToServices } from './worker-protocol.ts';

export interface Quantrac {
  readonly config: Readonly<Config>;
  readonly registry: Registry;
  /** The broker thread's metrics (broker, log); /metrics serves them merged with the services'. */
  readonly metrics: Metrics;
  readonly influx: InfluxHttp;
  /** The rollups' target (their retention policy / bucket). */
  readonly rollupInflux: InfluxHttp;
  /** The in-memory view of recent readings on the services thread (api/now-view.ts): rebuilt from InfluxDB on request. */
  readonly nowView: { rebuild(influx?: unknown): Promise<void>; ready(): boolean };
  readonly log: Logger;
  /** The MQTT broker (its listeners' state is part of /readyz). */
  readonly broker: Broker;
  /** Addresses actually bound (ports resolved when configured as 0). */
  /** `mqtts` only when TLS is configured; `http` is then an https:// URL. */
  urls(): { mqtt: string; http: string; mqtts?: string };
  /** Resolves when every reading appended to the log so far is in InfluxDB and judged by the alert engine. */
  flushed(): Promise<void>;
  /** Resolves when every reading appended so far is in InfluxDB and its rollups are recomputed. */
  rollupsFlushed(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Resolves with the error when the services thread (API, store lane, alerts) ended outside a
   * stop: a bug escaped it. The broker thread would go on acknowledging into the log with nothing
   * stored, judged or served, so the entry treats it as a crash (server/main.ts). Never rejects.
   */
  readonly failed: Promise<Error>;
}

const SERVICES_ENTRY = new URL('./services-worker.ts', import.meta.url);

export async function startQuantrac(config: Readonly<Config>, log: Logger = pino({ level: config.LOG_LEVEL })): Promise<Quantrac> {
  const registry = loadRegistry(config.REGISTRY_PATH);
  const metrics = createMetrics({ thread: 'broker' });
  const targets = influxTargets(config);
  const influx = createInfluxHttp(targets.raw);
  const rollupInflux = createInfluxHttp(targets.rollups);
  // gateways.json is edited by hand and by the CLI: an unusable version is logged, counted and shown
  // in /readyz while the last good one keeps serving.
  const credentials = createCredentialStore(config.credentialsPath, {
    onBadRead: (problem: string) => {
      metrics.fileReadErrors.inc({ file: 'gateways.json' });
      log.error({ file: 'gateways.json', problem }, 'file not usable: serving its last good version');
    },
  });

  mkdirSync(config.dataDir, { recursive: true });
  const durableLog = await openFileLog({
    dir: config.spoolDir,
    segmentBytes: config.SPOOL_SEGMENT_BYTES,
    maxBytes: config.SPOOL_MAX_BYTES,
    fsync: config.SPOOL_FSYNC,
  });
  const sampleLog = () => {
    const s = durableLog.spool.stats();
    metrics.spoolBytes.set(s.bytes);
    metrics.spoolSegments.set(s.segments);
    metrics.spoolFull.set(s.full ? 1 : 0);
    metrics.spoolCorruptRecords.set(s.corruptRecords);
    metrics.oldestUnwrittenSeconds.set(s.oldestUnwrittenMs / 1000);
  };
  const sampler = setInterval(sampleLog, 1000);
  sampler.unref();
  const ingest: Ingest = createIngest({ log: durableLog, metrics, logger: log });

  // The services thread follows the log from the files; it learns each new committed end.
  const services = new Worker(SERVICES_ENTRY, {
    workerData: { config, logLevel: log.level, logEnd: durableLog.end() } satisfies ServicesInit,
  });
  const send = (m: ToServices) => services.postMessage(m);
  let broker: Broker | undefined;
  let servicesExited = false;
  let brokerClosed = false;
  let nowViewReady = false;
  let nextId = 1;
  const waiting = new Map<number, () => void>();
  let stoppedServices: () => void = () => undefined;
  const servicesStopped = new Promise<void>((resolve) => (stoppedServices = resolve));
  let stopRequested = false;
  let servicesFailed: (err: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (servicesFailed = resolve));
  const reply = (id: number, value?: unknown, error?: string) => send({ type: 'reply', id, ...(value !== undefined ? { value } : {}), ...(error ? { error } : {}) });

  const ready = new Promise<number>((resolve, reject) => {
    services.on('message', (m: ToBroker) => {
      switch (m.type) {
        case 'ready':
          return resolve(m.httpPort);
        case 'start-failed':
          return reject(m.problems ? new ConfigError(m.problems) : new Error(`the services thread failed to start: ${m.message}`));
        case 'publish':
          // After the broker closed (shutdown) there is nobody to tell: dead letters and alert
          // messages of the last records are dropped without a warning per message.
          return brokerClosed ? undefined : broker?.publish(m.topic, m.payload, m.qos);
        case 'release':
          metrics.logReleasedPosition.set(m.position);
          return void durableLog.release(m.position).catch((err: unknown) => log.error({ err }, 'log segments not released'));
        case 'request':
          if (m.op === 'append-command') {
            return void durableLog.appendCommand(Date.now(), m.command).then(
              () => reply(m.id),
              (err: Error) => reply(m.id, undefined, err.message),
            );
          }
          if (m.op === 'broker-metrics') return void metrics.registry.getMetricsAsJSON().then((json) => reply(m.id, json));
          if (m.op === 'readiness') {
            const checks = createReadinessChecks({
              influxPing: async () => true, // checked on the services thread
              broker: () => broker,
              spool: () => durableLog.spool.stats(),
              spoolMaxBytes: config.SPOOL_MAX_BYTES,
              files: [{ name: 'gateways-file', problem: () => credentials.problem() }],
            }).filter((c) => c.name !== 'influxdb');
            return void Promise.all(checks.map(async (c) => [c.name, await c.check()] as const)).then((answers) => reply(m.id, Object.fromEntries(answers)));
          }
          return;
        case 'reply':
          waiting.get(m.id)?.();
          waiting.delete(m.id);
          return;
        case 'now-view-ready':
          nowViewReady = true;
          return;
        case 'stopped':
          return stoppedServices();
      }
    });
    // An exception that escaped the services thread ends it ('error', then 'exit'). Before ready the
    // start fails; after, `failed` tells the entry, which logs it and exits for a restart.
    services.on('error', (err) => {
      reject(err);
      servicesFailed(err);
    });
    services.on('exit', (code) => {
      servicesExited = true;
      stoppedServices();
      for (const w of waiting.values()) w();
      reject(new Error(`the services thread exited (${code}) before it was ready`));
      if (!stopRequested) servicesFailed(new Error(`the services thread exited (code ${code}) while the server was running`));
    });
  });
  // Past half its bound, the log asks the consumers for snapshots now rather than at their next
  // interval, so that the segments they have passed can go before acknowledgements are held.
  let pressedAt = 0;
  durableLog.onCommitted((end) => {
    send({ type: 'log-end', end });
    const now = Date.now();
    if (now - pressedAt >= 1000 && durableLog.spool.stats(now).bytes * 2 >= config.SPOOL_MAX_BYTES) {
      pressedAt = now;
      send({ type: 'snapshot-soon' });
    }
  });

  let httpPort: number;
  try {
    httpPort = await ready;
  } catch (err) {
    await services.terminate();
    await durableLog.close();
    clearInterval(sampler);
    throw err;
  }

  // The clock of everything derived from the log (silence rules): a tick record every ALERT_TICK_MS.
  const ticker = setInterval(() => {
    durableLog.appendTick(Date.now()).catch((err: unknown) => log.warn({ err }, 'clock tick not appended to the log'));
  }, config.ALERT_TICK_MS);
  ticker.unref();

  const tlsFiles: TlsFiles | undefined =
    config.TLS_CERT_FILE && config.TLS_KEY_FILE ? { certFile: config.TLS_CERT_FILE, keyFile: config.TLS_KEY_FILE, caFile: config.TLS_CA_FILE } : undefined;
  const httpsOn = tlsFiles !== undefined && config.HTTP_TLS;
  broker = await startBroker(
    {
      host: config.MQTT_HOST,
      port: config.MQTT_PLAIN ? config.MQTT_PORT : undefined,
      allowAnonymous: config.MQTT_ALLOW_ANONYMOUS,
      credentials,
      authHashing: { concurrency: config.MQTT_AUTH_HASH_CONCURRENCY, queueMax: config.MQTT_AUTH_QUEUE_MAX },
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
  const mqttBroker = broker;
  if (config.MQTT_ALLOW_ANONYMOUS) log.warn('MQTT_ALLOW_ANONYMOUS=true: anonymous MQTT clients may publish; for development only');

  const mqttPort = broker.port();
  const host = (h: string) => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h);
  const ask = (m: { type: 'flushed' | 'rollups-flushed' | 'rebuild-now-view' }): Promise<void> => {
    if (servicesExited) return Promise.resolve();
    const id = nextId++;
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      send({ ...m, id });
    });
  };

  let stopping: Promise<void> | undefined;
  return {
    config,
    registry,
    metrics,
    influx,
    rollupInflux,
    nowView: { rebuild: () => ask({ type: 'rebuild-now-view' }), ready: () => nowViewReady },
    log,
    broker: mqttBroker,
    urls: () => ({
      // TLS only (MQTT_PLAIN=off): the one MQTT address there is.
      mqtt: config.MQTT_PLAIN ? `mqtt://${host(config.MQTT_HOST)}:${mqttPort}` : `mqtts://${host(config.MQTT_HOST)}:${broker?.tlsPort()}`,
      http: `${httpsOn ? 'https' : 'http'}://${host(config.HTTP_HOST)}:${httpPort}`,
      ...(broker?.tlsPort() ? { mqtts: `mqtts://${host(config.MQTT_HOST)}:${broker.tlsPort()}` } : {}),
    }),
    flushed: () => ask({ type: 'flushed' }),
    rollupsFlushed: () => ask({ type: 'rollups-flushed' }),
    failed,
    stop() {
      stopRequested = true;
      stopping ??= (async () => {
        await broker?.close(); // no new connections or publishes
        brokerClosed = true;
        await ingest.idle(); // publishes already in the hook reach the log
        clearInterval(ticker);
        if (!servicesExited) {
          send({ type: 'stop', drainMs: config.SHUTDOWN_DRAIN_MS }); // consumers catch up, drain, checkpoint
          await servicesStopped;
        }
        await services.terminate();
        clearInterval(sampler);
        await durableLog.close();
      })();
      return stopping;
    },
  };
}

const mqttClientCerts = (config: Readonly<Config>) =>
  config.MQTT_TLS_CLIENT_CERT !== 'off' && config.MQTT_TLS_CLIENT_CA_FILE ? { mode: config.MQTT_TLS_CLIENT_CERT, caFile: config.MQTT_TLS_CLIENT_CA_FILE } : undefined;
