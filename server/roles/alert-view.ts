// The alert views of a cluster API process: the officers' side (AlertApi: list, get, acknowledge,
// backtest, /ws/officer) built from the replicated alert history (QUANTRAC_ALERTS) instead of an
// engine of its own. Each event carries the alert after the change, so the view is the last event
// per alert id. An acknowledgement is appended to the log as a command (every partition; the owner
// of the alert's partition applies it) and answered once its 'acknowledged' event is in the history.
// Webhook deliveries are read from the replicated bucket the evaluators record them in.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Alert, AlertEvent } from '../../contracts/alerts.ts';
import type { DeliveryRecord } from '../../contracts/alerts-api.ts';
import type { Registry } from '../../contracts/stations.ts';
import { createAlertHub } from '../../api/alert-hub.ts';
import type { Principal } from '../../api/auth.ts';
import { ApiError } from '../../api/errors.ts';
import type { AlertApi } from '../../api/routes/alerts.ts';
import { filterAlertList } from '../../ingest/alerts/engine.ts';
import { followDeliveries, openDeliveryBucket } from '../../ingest/alerts/delivery/kv-delivery-log.ts';
import { redactUrl } from '../../ingest/alerts/delivery/webhook-url.ts';
import { followAlertEvents } from '../../ingest/alerts/event-stream.ts';
import { backtestStored } from '../../ingest/alerts/backtest-source.ts';
import type { RulesFile } from '../../ingest/alerts/rules.ts';
import type { InfluxHttp } from '../../ingest/influx/influx-http.ts';
import type { JetStreamAppender } from '../../ingest/log/jetstream-log.ts';
import { SUMMARY_REPORT, backtestRules, summarise } from '../create-alerts.ts';

export interface ClusterAlertView {
  readonly api: AlertApi;
  stop(): Promise<void>;
}

export interface ClusterAlertViewDeps {
  readonly nc: NatsConnection;
  readonly appender: JetStreamAppender;
  readonly registry: Registry;
  readonly rules: RulesFile;
  readonly influx: InfluxHttp;
  readonly verifyToken: (token: string) => Principal | undefined;
  readonly maxBufferedBytes: number;
  /** How long an acknowledgement waits for the owner's event, ms. */
  readonly ackTimeoutMs?: number;
}

export async function startClusterAlertView(deps: ClusterAlertViewDeps): Promise<ClusterAlertView> {
  const alerts = new Map<string, Alert>();
  const ackWaiters = new Map<string, ((e: AlertEvent) => void)[]>();
  let live = false;
  const hub = createAlertHub({
    verifyToken: deps.verifyToken,
    activeAlerts: () => filterAlertList(alerts.values(), { state: 'active' }),
    roles: ['officer'],
    maxBufferedBytes: deps.maxBufferedBytes,
  });
  const follower = await followAlertEvents(deps.nc, (e) => {
    alerts.set(e.alert.id, e.alert);
    if (live) hub.broadcast([e]);
    if (e.type === 'acknowledged') for (const w of ackWaiters.get(e.alert.id)?.splice(0) ?? []) w(e);
  });
  await follower.caughtUp();
  live = true;
  await openDeliveryBucket(deps.nc); // created here too when no evaluator has sent a webhook yet
  const deliveries = await followDeliveries(deps.nc);

  const api: AlertApi = {
    hub,
    list: (filter) => filterAlertList(alerts.values(), filter),
    get: (id) => alerts.get(id),
    async acknowledge(id, ack) {
      const alert = alerts.get(id);
      if (!alert) return undefined;
      const applied = new Promise<AlertEvent | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), deps.ackTimeoutMs ?? 15_000);
        const list = ackWaiters.get(id) ?? [];
        list.push((e) => {
          clearTimeout(timer);
          resolve(e);
        });
        ackWaiters.set(id, list);
      });
      await deps.appender.appendCommand(Date.now(), { type: 'acknowledge', alertId: id, by: ack.by, ...(ack.note ? { note: ack.note } : {}) });
      const event = await applied;
      if (!event) throw new ApiError('BUSY', 'the acknowledgement is in the log but its alert evaluator has not applied it yet');
      return event;
    },
    deliveries: (id): DeliveryRecord[] => deliveries.forAlert(id).map((r) => ({ ...r, url: redactUrl(r.url) })),
    async backtest(req) {
      const tried = backtestRules(req.rules, deps.rules);
      return summarise(await backtestStored({ influx: deps.influx, registry: deps.registry, rules: tried, fromMs: req.fromMs, toMs: req.toMs, stationIds: req.stationIds, report: SUMMARY_REPORT }));
    },
  };
  return {
    api,
    async stop() {
      await follower.stop();
      await deliveries.stop();
      hub.close();
    },
  };
}
