// Webhook delivery of one alert partition in the cluster's alerts role, by the partition's owner:
// the same signed POSTs, retries and final states as the single process (createWebhookDelivery),
// its log in the replicated KV bucket (kv-delivery-log.ts) instead of a local file.
//
// At least once, with a stable idempotency key: each (transition, URL) has one delivery id
// (X-Quantrac-Delivery, `deliveryId` in the body) on every node. The lane's checkpoint waits for
// claimed() — every event before it has its delivery recorded — so after a crash the next owner
// resumes the unfinished ones from the bucket and re-emits the events after the checkpoint, whose
// claims find the deliveries already recorded (final ones are not sent again). A delivery sent
// again is one whose attempt was in flight, or whose outcome was not yet recorded, when its owner
// died or lost the lease: the receiver dedupes on the delivery id.
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { AlertEvent } from '../../contracts/alerts.ts';
import { newClusterDelivery, openPartitionDeliveryLog } from '../../ingest/alerts/delivery/kv-delivery-log.ts';
import { redactUrl } from '../../ingest/alerts/delivery/webhook-url.ts';
import { createWebhookDelivery, type WebhookOptions } from '../../ingest/alerts/delivery/webhooks.ts';

export interface PartitionWebhooks {
  /** The alert service's channel: records each event's deliveries, then sends them. Returns at once. */
  deliver(events: readonly AlertEvent[]): void;
  /** Resolves once the deliveries of every event given so far are recorded in the bucket. */
  claimed(): Promise<void>;
  depth(): number;
  /** `lost`: the lease is gone, stop at once (the next owner resumes); otherwise drain up to drainMs. */
  stop(lost: boolean, drainMs: number): Promise<void>;
}

export type PartitionWebhookOptions = Omit<WebhookOptions, 'log' | 'onFinal' | 'onError'>;

export async function startPartitionWebhooks(kv: KV, partition: number, options: PartitionWebhookOptions, log: Logger): Promise<PartitionWebhooks> {
  const deliveryLog = await openPartitionDeliveryLog(kv, partition, (err, r) =>
    log.warn({ err: (err as Error).message, partition, deliveryId: r.deliveryId, status: r.status }, 'webhook delivery state not stored (another owner took the partition, or the bucket is unavailable)'),
  );
  const webhooks = createWebhookDelivery({
    ...options,
    log: deliveryLog,
    onFinal: (r) => {
      if (r.status !== 'delivered') log.warn({ deliveryId: r.deliveryId, alertId: r.alertId, url: redactUrl(r.url), status: r.status, attempts: r.attempts, error: r.lastError, partition }, 'alert webhook not delivered');
    },
    onError: (err) => log.error({ err, partition }, 'webhook delivery failed unexpectedly; going on'),
  });
  const now = options.now ?? Date.now;
  let stopped = false;
  let claims: Promise<void> = Promise.resolve();

  /** Retried until stored (the checkpoint waits on it), like the events' own publication. */
  async function claim(event: AlertEvent, url: string): Promise<void> {
    const record = newClusterDelivery(event, url, now());
    for (let delayMs = 100; !stopped; delayMs = Math.min(delayMs * 2, 2000)) {
      try {
        if (await deliveryLog.claim(record)) webhooks.resume(record);
        return;
      } catch (err) {
        log.warn({ err: (err as Error).message, partition, deliveryId: record.deliveryId }, 'webhook delivery not recorded yet; retrying');
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  return {
    deliver(events) {
      const batch = [...events];
      claims = claims.then(async () => {
        for (const e of batch) for (const url of options.urls) await claim(e, url);
      });
    },
    claimed: () => claims,
    depth: () => webhooks.depth(),
    async stop(lost, drainMs) {
      stopped = true;
      await webhooks.stop(lost ? 0 : drainMs);
      await claims;
      // The state changes so far, while the bucket answers within the drain; the next owner resumes the rest.
      if (lost) deliveryLog.close();
      await Promise.race([deliveryLog.flushed(), new Promise((r) => setTimeout(r, drainMs).unref())]);
      deliveryLog.close();
    },
  };
}
