// Composes threshold alerts for the server (issue #4): rules (ALERT_RULES_PATH, fatal when invalid),
// the engine on DATA_DIR/alerts, its hot-path observer, and the delivery channels — officers'
// WebSocket, signed webhooks with a delivery log, MQTT quantrac/alerts/{stationId} at QoS 1.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AlertEvent } from '../contracts/alerts.ts';
import type { Reading } from '../contracts/reading.ts';
import type { Registry } from '../contracts/stations.ts';
import { alertTopic } from '../contracts/topics.ts';
import { createAlertHub, type AlertHub } from '../api/alert-hub.ts';
import type { Principal } from '../api/auth.ts';
import { ApiError } from '../api/errors.ts';
import type { AlertApi } from '../api/routes/alerts.ts';
import { backtestStored } from '../ingest/alerts/backtest-source.ts';
import { openDeliveryLog } from '../ingest/alerts/delivery/delivery-log.ts';
import { createWebhookDelivery, type WebhookDelivery } from '../ingest/alerts/delivery/webhooks.ts';
import { AlertNotFoundError, AlertRulesError } from '../ingest/alerts/errors.ts';
import { DEFAULT_RULES_PATH, loadRules, parseRules, type RulesFile } from '../ingest/alerts/rules.ts';
import { createAlertService, type AlertService, type AlertServiceOptions } from '../ingest/alerts/service.ts';
import { createAlertStore } from '../ingest/alerts/store.ts';
import type { InfluxHttp, InfluxTarget } from '../ingest/influx/influx-http.ts';
import { BacktestFailedError, runBacktestOffThread } from '../ingest/alerts/backtest-off-thread.ts';
import { redactUrl } from '../ingest/alerts/delivery/webhook-url.ts';
import type { Metrics } from '../ingest/metrics.ts';
import type { AuditEvent, AuditLog } from './audit-log.ts';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';

export interface Alerts {
  readonly service: AlertService;
  /** For createIngest({ hotPath }): the promise (when events arose) settles once they are journalled. */
  readonly onReading: (reading: Reading) => Promise<void> | undefined;
  /** For buildApp({ alerts }). */
  readonly api: AlertApi;
  readonly hub: AlertHub;
  readonly webhooks: WebhookDelivery | undefined;
  /** Adds the MQTT republish channel once the broker is up. */
  publishTo(broker: { publish(topic: string, payload: string, qos?: 0 | 1): void }): void;
  start(): void;
  /** Stops ticking, fans out queued events, closes the store; waits up to drainMs for webhooks in flight. */
  stop(drainMs: number): Promise<void>;
}

/** Loads the rules; an unusable file is a ConfigError listing every problem (start-up stops). */
export function loadAlertRules(path: string | undefined): RulesFile {
  try {
    return path ? loadRules(path) : loadRules();
  } catch (err) {
    if (err instanceof AlertRulesError) throw new ConfigError(err.problems.map((p) => `ALERT_RULES_PATH (${err.source}) ${p}`));
    throw err;
  }
}

export interface AlertsDeps {
  readonly config: Readonly<Config>;
  readonly registry: Registry;
  readonly influx: InfluxHttp;
  /** Where backtests read raw readings from, in a worker thread; absent = streamed on this thread. */
  readonly influxTarget?: InfluxTarget | undefined;
  /** api/auth.ts verifyToken, for /ws/officer (called only once the API is up). */
  readonly verifyToken: (token: string) => Principal | undefined;
  readonly log: Logger;
  /** Officer actions (acknowledgements, backtests) and the rules in force at each start. */
  readonly audit: AuditLog;
  /**
   * Under the durable log: the engine is fed by the log's now lane (readings, ticks, commands), and
   * an acknowledgement is appended to the log as a command and answered once the lane applied it.
   */
  readonly logDriven?: {
    readonly clock: () => number;
    readonly acknowledge: (alertId: string, ack: { by: string; note?: string }) => Promise<AlertEvent | undefined>;
  };
  /** Alert, delivery and engine-error metrics; absent = not counted. */
  readonly metrics?: AlertMetrics | undefined;
  /** Officers' validation marks in force: values marked invalid raise no alert (create-validations.ts). */
  readonly excluded?: AlertServiceOptions['excluded'];
}

/** The metrics of ingest/metrics.ts this module feeds. */
export type AlertMetrics = Pick<Metrics, 'alertEvents' | 'alertEngineErrors' | 'alertFanoutDropped' | 'alertDeliveries' | 'alertDeliveryQueue' | 'alertDeliveryLogErrors'>;

export function createAlerts(deps: AlertsDeps): Alerts {
  const { config, registry, log } = deps;
  const m = deps.metrics;
  const rules = loadAlertRules(config.ALERT_RULES_PATH);
  const audited = (event: AuditEvent) => void deps.audit.append(event).catch((err: unknown) => log.error({ err, event }, 'audit log write failed'));
  // A rules change takes effect at start: recording the version and content hash of each start's
  // rules file gives the audit trail of rule changes.
  const rulesText = readFileSync(config.ALERT_RULES_PATH ?? DEFAULT_RULES_PATH, 'utf8');
  audited({ actor: 'system', action: 'alert.rules.load', subject: config.ALERT_RULES_PATH ?? 'default', detail: { version: rules.version, sha256: createHash('sha256').update(rulesText).digest('hex') } });
  const service = createAlertService({
    registry,
    rules,
    store: createAlertStore(config.alertsDir),
    log,
    tickMs: config.ALERT_TICK_MS,
    queueMax: config.ALERT_DELIVERY_QUEUE_MAX,
    ...(deps.logDriven ? { logDriven: true, clock: deps.logDriven.clock } : {}),
    ...(deps.excluded ? { excluded: deps.excluded } : {}),
    onEvents: (events) => events.forEach((e) => m?.alertEvents.inc({ rule: e.alert.ruleId, type: e.type })),
    onDropped: (n) => m?.alertFanoutDropped.inc(n),
    onEngineError: (what) => m?.alertEngineErrors.inc({ what }),
  });
  const hub = createAlertHub({
    verifyToken: deps.verifyToken,
    activeAlerts: () => service.list({ state: 'active' }),
    roles: ['officer'],
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    onError: (err) => log.error({ err }, '/ws/officer: admitting a socket failed'),
  });
  service.addChannel({ name: 'officer-ws', deliver: (events) => hub.broadcast(events) });

  let logWriteErrors = 0;
  const deliveryLog = openDeliveryLog(join(config.alertsDir, 'deliveries.jsonl'), {
    retainMs: 30 * 86_400_000,
    onWriteError: (err) => {
      m?.alertDeliveryLogErrors.inc();
      if (logWriteErrors++ % 1000 === 0) log.error({ err, failures: logWriteErrors }, 'webhook delivery log not written; deliveries go on');
    },
  });
  let webhooks: WebhookDelivery | undefined;
  if (config.alertWebhookUrls.length > 0 && config.ALERT_WEBHOOK_SECRET) {
    webhooks = createWebhookDelivery({
      urls: config.alertWebhookUrls,
      secret: config.ALERT_WEBHOOK_SECRET,
      log: deliveryLog,
      timeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS,
      maxAttempts: config.ALERT_WEBHOOK_MAX_ATTEMPTS,
      backoffBaseMs: config.ALERT_WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: config.ALERT_WEBHOOK_BACKOFF_MAX_MS,
      queueMax: config.ALERT_DELIVERY_QUEUE_MAX,
      onFinal: (r) => {
        if (r.status !== 'delivered') log.warn({ deliveryId: r.deliveryId, alertId: r.alertId, url: redactUrl(r.url), status: r.status, attempts: r.attempts, error: r.lastError }, 'alert webhook not delivered');
      },
      onCount: (outcome) => m?.alertDeliveries.inc({ channel: 'webhook', outcome }),
      onError: (err) => log.error({ err }, 'webhook delivery failed unexpectedly; going on'),
    });
    const w = webhooks;
    service.addChannel({ name: 'webhooks', deliver: (events) => events.forEach((e) => w.enqueue(e)) });
  }

  const api: AlertApi = {
    hub,
    list: (filter) => service.list(filter),
    get: (id) => service.get(id),
    acknowledge(id, ack) {
      const done = (event: AlertEvent | undefined) => {
        if (event) audited({ actor: ack.by, action: 'alert.acknowledge', subject: id, ...(ack.note ? { detail: { note: ack.note } } : {}) });
        return event;
      };
      if (!service.get(id)) return undefined;
      if (deps.logDriven) return deps.logDriven.acknowledge(id, ack).then(done);
      try {
        return done(service.acknowledge(id, ack));
      } catch (err) {
        if (err instanceof AlertNotFoundError) return undefined;
        throw err;
      }
    },
    deliveries: (id) => deliveryLog.forAlert(id).map((r) => ({ ...r, url: redactUrl(r.url) })),
    async backtest(req) {
      const tried = backtestRules(req.rules, rules);
      audited({ actor: req.by ?? 'operator', action: 'alert.backtest', subject: `${new Date(req.fromMs).toISOString()}/${new Date(req.toMs).toISOString()}`, detail: { customRules: req.rules !== undefined } });
      // The API shows transitions, not value updates, and at most BACKTEST_MAX_EVENTS of them: the
      // heap stays bounded whatever the registry and window (byRule still counts every event).
      const window = { registry, rules: tried, fromMs: req.fromMs, toMs: req.toMs, stationIds: req.stationIds, report: SUMMARY_REPORT };
      try {
        // Off the broker's thread: the window is streamed and replayed in a worker (bounded heap).
        const report = deps.influxTarget ? await runBacktestOffThread({ ...window, target: deps.influxTarget }) : await backtestStored({ ...window, influx: deps.influx });
        return summarise(report);
      } catch (err) {
        if (err instanceof BacktestFailedError) throw new ApiError('DATABASE_UNAVAILABLE', `backtest failed: ${err.message}`, { cause: err });
        throw err;
      }
    },
  };

  // Queue depths sampled each second, like the spool's gauges.
  const sampleQueues = () => {
    m?.alertDeliveryQueue.set({ queue: 'fanout' }, service.queueDepth());
    m?.alertDeliveryQueue.set({ queue: 'webhooks' }, webhooks?.depth() ?? 0);
  };
  sampleQueues();
  const sampler = setInterval(sampleQueues, 1000);
  sampler.unref();

  return {
    service,
    onReading: (r) => service.onReading(r),
    api,
    hub,
    webhooks,
    publishTo(broker) {
      service.addChannel({
        name: 'mqtt',
        deliver: (events) => events.forEach((e) => broker.publish(alertTopic(e.alert.stationId), JSON.stringify(e), 1)),
      });
    },
    start: () => service.start(),
    async stop(drainMs) {
      clearInterval(sampler);
      service.stop();
      await webhooks?.stop(drainMs);
      hub.close();
    },
  };
}

/** The rules a backtest request tries: its own (refused as BAD_BODY when invalid) or those in force. */
export function backtestRules(requested: unknown, inForce: RulesFile): RulesFile {
  if (requested === undefined) return inForce;
  try {
    return parseRules(requested, 'request body');
  } catch (err) {
    if (err instanceof AlertRulesError) throw new ApiError('BAD_BODY', err.problems.join('; '), { cause: err });
    throw err;
  }
}

/** A backtest report as the API returns it: counts per rule and each lifecycle event, compactly. */
/** Most events a backtest answer lists (the first ones; `eventsTotal` says how many there were). */
export const BACKTEST_MAX_EVENTS = 50_000;
/** What summarise() needs of a backtest: transitions (no value updates), at most BACKTEST_MAX_EVENTS. */
export const SUMMARY_REPORT = { valueUpdates: false, maxEvents: BACKTEST_MAX_EVENTS } as const;

export function summarise(report: Awaited<ReturnType<typeof backtestStored>>) {
  return {
    from: new Date(report.fromMs).toISOString(),
    to: new Date(report.toMs).toISOString(),
    readings: report.readings,
    byRule: report.byRule,
    eventsTotal: report.eventsTotal,
    eventsTruncated: report.eventsTruncated,
    events: report.events
      .filter((e) => e.type !== 'updated' || e.reason === 'deescalated')
      .map((e) => ({
        type: e.type === 'updated' ? 'deescalated' : e.type,
        at: new Date(e.at).toISOString(),
        alertId: e.alert.id,
        stationId: e.alert.stationId,
        ruleId: e.alert.ruleId,
        level: e.alert.level.key,
        severity: e.alert.level.severity,
        value: e.alert.value,
      })),
    stillActive: report.alerts.filter((a) => a.state === 'active').map((a) => a.id),
  };
}
