// The webhook delivery log in cluster mode: the replicated KV bucket quantrac_deliveries, one key per
// delivery (`p{partition}.{deliveryId}`, its latest state), instead of DATA_DIR/alerts/deliveries.jsonl,
// so the next owner of a partition resumes its predecessor's unfinished deliveries and every api
// process lists them. The delivery id is derived from the transition and the URL (the same on every
// replay of the same records), so a re-emitted event finds its delivery already recorded.
//
//   owner p{n}: event ─▶ claim (create p{n}.{id}, body included) ─▶ attempts ─▶ update (CAS) ─▶ final
//   api × N:    watch quantrac_deliveries ─▶ GET /api/alerts/:id/deliveries
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import type { AlertEvent } from '../../../contracts/alerts.ts';
import { createJetStreamReader, followReader } from '../../log/jetstream-reader.ts';
import { alertEventId } from '../event-stream.ts';
import type { DeliveryLog, DeliveryRecord } from './delivery-log.ts';
import type { WebhookBody } from './webhooks.ts';

export const DELIVERY_BUCKET = 'quantrac_deliveries';
/** Final deliveries are kept this long after their last change, as in single-process mode. */
export const DELIVERY_RETAIN_MS = 30 * 86_400_000;

const FINAL = new Set(['delivered', 'failed', 'dropped']);
const isFinal = (r: DeliveryRecord) => FINAL.has(r.status);

export async function openDeliveryBucket(nc: NatsConnection, replicas = 3): Promise<KV> {
  return new Kvm(nc).create(DELIVERY_BUCKET, { replicas, history: 1, ttl: DELIVERY_RETAIN_MS });
}

/** The delivery of one transition to one URL: the same id on every owner and every replay (UUID-shaped). */
export function clusterDeliveryId(event: AlertEvent, url: string): string {
  const h = createHash('sha256').update(`${alertEventId(event)}\n${url}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The pending delivery of `event` to `url`, body included, as the webhook sender expects it. */
export function newClusterDelivery(event: AlertEvent, url: string, nowMs: number): DeliveryRecord & { body: string } {
  const deliveryId = clusterDeliveryId(event, url);
  const body = JSON.stringify({ deliveryId, event } satisfies WebhookBody);
  return { deliveryId, alertId: event.alert.id, eventType: event.type, eventAt: event.at, url, status: 'pending', attempts: 0, createdAt: nowMs, updatedAt: nowMs, body };
}

export interface PartitionDeliveryLog extends Pick<DeliveryLog, 'record' | 'unfinished'> {
  /**
   * Records a new delivery; resolves true when this owner must send it: it was not recorded yet, or
   * it was recorded unfinished (a predecessor's, re-emitted after a hand-over). False when it is final.
   */
  claim(r: DeliveryRecord & { body: string }): Promise<boolean>;
  /** Resolves once every record() so far is written (or refused). */
  flushed(): Promise<void>;
  /** Stops retrying writes (the partition was handed over, or the process stops). */
  close(): void;
}

/**
 * The deliveries of one partition. Updates are compare-and-set on the revision this owner last
 * read or wrote, so an old owner still running after a hand-over cannot overwrite its successor's
 * record: its write is refused and reported to `onWriteError`.
 */
export async function openPartitionDeliveryLog(kv: KV, partition: number, onWriteError: (err: unknown, r: DeliveryRecord) => void): Promise<PartitionDeliveryLog> {
  const prefix = `p${partition}`;
  const revisions = new Map<string, number>();
  /** Bodies of the deliveries not final yet: every update carries it, so a successor can resume. */
  const bodies = new Map<string, string>();
  const unfinished: DeliveryRecord[] = [];
  // Every key of the partition is read at a takeover (final ones too, for 30 days): in parallel
  // batches, so a long history costs round trips in parallel rather than one after another.
  const keys: string[] = [];
  for await (const k of await kv.keys(`${prefix}.>`)) keys.push(k);
  for (let i = 0; i < keys.length; i += 64) {
    for (const e of await Promise.all(keys.slice(i, i + 64).map((k) => kv.get(k)))) {
      if (!e || e.operation !== 'PUT') continue;
      const r = e.json<DeliveryRecord>();
      revisions.set(r.deliveryId, e.revision);
      if (!isFinal(r) && r.body) {
        bodies.set(r.deliveryId, r.body);
        unfinished.push(r);
      }
    }
  }
  unfinished.sort((a, b) => a.createdAt - b.createdAt);
  let writes: Promise<void> = Promise.resolve();
  let closed = false;
  const key = (id: string) => `${prefix}.${id}`;

  return {
    unfinished: () => unfinished,
    async claim(r) {
      if (bodies.has(r.deliveryId)) return false; // already this owner's (resumed at open, or claimed)
      try {
        revisions.set(r.deliveryId, await kv.create(key(r.deliveryId), JSON.stringify(r)));
        bodies.set(r.deliveryId, r.body);
        return true;
      } catch (err) {
        const e = await kv.get(key(r.deliveryId));
        if (!e || e.operation !== 'PUT') throw err; // not a conflict: the caller retries
        const found = e.json<DeliveryRecord>();
        revisions.set(r.deliveryId, e.revision);
        if (isFinal(found)) return false;
        bodies.set(r.deliveryId, found.body ?? r.body);
        return true;
      }
    },
    record(r) {
      const body = isFinal(r) ? undefined : bodies.get(r.deliveryId);
      if (isFinal(r)) bodies.delete(r.deliveryId);
      const value = JSON.stringify(body ? { ...r, body } : r);
      writes = writes.then(async () => {
        await store(r, value);
        if (isFinal(r)) revisions.delete(r.deliveryId);
      });
    },
    flushed: () => writes,
    close: () => void (closed = true),
  };

  /**
   * Writes one state change, retried while the bucket is unavailable (a leader election after a
   * server died): a delivered record left 'retrying' would be shown so for 30 days and sent again
   * by the next owner. A compare-and-set that fails is settled on what the bucket holds: a final
   * or newer record stays (another owner finished it, or our own write was stored and only its
   * answer lost); an older unfinished one is overwritten on its revision.
   */
  async function store(r: DeliveryRecord, value: string): Promise<void> {
    const k = key(r.deliveryId);
    for (let delayMs = 100; !closed; delayMs = Math.min(delayMs * 2, 2000)) {
      try {
        const revision = revisions.get(r.deliveryId);
        revisions.set(r.deliveryId, revision ? await kv.update(k, value, revision) : await kv.create(k, value));
        return;
      } catch (err) {
        const held = await kv.get(k).catch(() => undefined);
        if (held && held.operation === 'PUT') {
          const stored = held.json<DeliveryRecord>();
          if (isFinal(stored) || stored.updatedAt > r.updatedAt || (stored.updatedAt === r.updatedAt && stored.status === r.status)) {
            if (stored.updatedAt !== r.updatedAt || stored.status !== r.status) onWriteError(err, r);
            return;
          }
          revisions.set(r.deliveryId, held.revision);
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
    onWriteError(new Error('the delivery log was closed before this change was stored'), r);
  }
}

/**
 * Every delivery in the bucket, kept current (api processes): GET /api/alerts/:id/deliveries. The
 * bucket's stream is read through the log's JetStream reader (a restarted consumer after a server
 * dies, as for the alert history); each message is a delivery's state, later ones replace earlier.
 */
export async function followDeliveries(nc: NatsConnection): Promise<{ forAlert(alertId: string): DeliveryRecord[]; stop(): Promise<void> }> {
  const byAlert = new Map<string, Map<string, DeliveryRecord>>();
  const reader = await createJetStreamReader(nc, { stream: `KV_${DELIVERY_BUCKET}` });
  const following = followReader(reader, reader.start(), (entries) => {
    for (const e of entries) {
      try {
        const { body: _body, ...r } = JSON.parse(e.body.toString('utf8')) as DeliveryRecord;
        if (typeof r.alertId !== 'string' || typeof r.deliveryId !== 'string') continue;
        let m = byAlert.get(r.alertId);
        if (!m) byAlert.set(r.alertId, (m = new Map()));
        m.set(r.deliveryId, r);
      } catch {
        // not a delivery record (a delete marker): skipped
      }
    }
  });
  return {
    forAlert: (alertId) => [...(byAlert.get(alertId)?.values() ?? [])].sort((a, b) => a.createdAt - b.createdAt),
    stop: following.stop,
  };
}
