// The single-process server (`npm start`'s: no NATS_URL, no QUANTRAC_ROLE, its log a file in its
// DATA_DIR) run over given readings, for tests that compare a cluster's alert history with it: every
// alert event it emits, as its signed webhook delivers them (the channel that carries each event).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import type { AlertEvent } from '../../contracts/alerts.ts';
import type { WebhookBody } from '../../ingest/alerts/delivery/webhooks.ts';
import { eventually, uniqueDatabase } from './influx.ts';
import { startPublisher, type PublisherGateway } from './publisher.ts';
import { serverProcessEnv, startServerProcess, stopProcesses } from './server-process.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';

/** One publisher run: `countPerStation` readings per station, seq n stamped baseMs + n × stepMs. */
export interface ReadingBatch {
  readonly baseMs: number;
  readonly stepMs: number;
  readonly countPerStation: number;
}

export interface SingleProcessRun {
  /** Folder for its DATA_DIR (created). */
  readonly dataDir: string;
  readonly influxUrl: string;
  /** ALERT_RULES_PATH, ALERT_TICK_MS and the like, as the cluster had them. */
  readonly env: Record<string, string>;
  readonly gateway: Omit<PublisherGateway, 'password'>;
  /** The batches in the order the cluster got them; each is published to the end before the next. */
  readonly batches: readonly ReadingBatch[];
  /** Unacknowledged publishes, as the cluster's publisher had them. */
  readonly inflight: number;
  /**
   * A reading published after the batches that opens an alert (a station of the same gateway not
   * in the batches): once its event is delivered, every reading before it was judged.
   */
  readonly sentinel: { readonly station: string; readonly ts: number; readonly values: Record<string, number> };
}

/**
 * Publishes the batches, then the sentinel; resolves with the events delivered once the sentinel's
 * `opened` arrived (each delivery once: a retried delivery keeps its id). The events before the
 * sentinel's were sent before it, so at most an answer or two may still be on its way: callers
 * wait for the count they expect with a deadline.
 */
export async function runSingleProcess(run: SingleProcessRun): Promise<{ events: () => AlertEvent[]; stop: () => Promise<void> }> {
  const delivered = new Map<string, AlertEvent>();
  const receiver = await startWebhookReceiver((raw) => {
    const body = JSON.parse(raw.toString('utf8')) as WebhookBody;
    delivered.set(body.deliveryId, body.event);
    return 204;
  });
  mkdirSync(run.dataDir, { recursive: true });
  const password = await setGatewayPassword(join(run.dataDir, 'gateways.json'), run.gateway.gatewayId);
  const server = await startServerProcess({
    ...serverProcessEnv(uniqueDatabase('single'), run.dataDir),
    INFLUX_URL: run.influxUrl,
    ...run.env,
    ALERT_WEBHOOKS: JSON.stringify([`${receiver.url}/hook`]),
    ALERT_WEBHOOK_SECRET: 'single-process-run-webhook-secret',
  });
  const stop = async () => {
    await stopProcesses([server]);
    await receiver.close();
  };
  try {
    const gateway = { ...run.gateway, password };
    for (const b of run.batches) {
      const publisher = startPublisher({ url: server.mqtt, gateways: [gateway], countPerStation: b.countPerStation, inflight: run.inflight, baseMs: b.baseMs, stepMs: b.stepMs });
      await publisher.done;
      await publisher.stop();
      const expected = b.countPerStation * run.gateway.stations.length;
      if (publisher.acked.size !== expected) throw new Error(`single-process run: ${publisher.acked.size} of ${expected} readings acknowledged`);
    }
    const client = await mqtt.connectAsync(server.mqtt, { clientId: gateway.gatewayId, username: gateway.gatewayId, password, protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync(`sensors/${run.sentinel.station}/reading`, JSON.stringify({ ts: run.sentinel.ts, seq: 0, values: run.sentinel.values }), { qos: 1 });
    await client.endAsync();
    await eventually(
      async () => ([...delivered.values()].some((e) => e.type === 'opened' && e.alert.stationId === run.sentinel.station) ? true : undefined),
      60_000,
      "the single-process run's sentinel alert",
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { events: () => [...delivered.values()], stop };
}
