// Webhook delivery of alert events: one signed POST per (event, URL), retried with exponential
// backoff and jitter on network errors, timeouts, 408, 429 (Retry-After honoured) and 5xx; any other
// 4xx is final. Every state change is recorded in the delivery log; enqueue() never blocks.
import { randomUUID } from 'node:crypto';
import type { AlertEvent } from '../../../contracts/alerts.ts';
import { parseRetryAfter } from '../../influx/influx-http.ts';
import { backoffDelayMs } from './backoff.ts';
import type { DeliveryLog, DeliveryRecord } from './delivery-log.ts';
import { DELIVERY_HEADER, EVENT_HEADER, signWebhook } from './webhook-signature.ts';
import { redactIn, requestTarget } from './webhook-url.ts';

export interface WebhookOptions {
  readonly urls: readonly string[];
  readonly secret: string;
  /** Where each state change goes; its unfinished deliveries are resumed at creation. */
  readonly log: Pick<DeliveryLog, 'record' | 'unfinished'>;
  /** Timeout of one request, ms. */
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Deliveries waiting (not in flight) before the oldest waiting one is dropped and recorded as such. */
  readonly queueMax: number;
  /** Requests in flight per URL. Default 4. */
  readonly concurrency?: number;
  readonly random?: () => number;
  readonly now?: () => number;
  /** Reports a delivery that became final (delivered, failed or dropped). */
  readonly onFinal?: (r: DeliveryRecord) => void;
  /** Counts each attempt's outcome and each drop (for metrics). */
  readonly onCount?: (outcome: 'sent' | 'failed' | 'retried' | 'dropped') => void;
  /** An unexpected failure inside the delivery machinery (logged by the caller; delivery goes on). */
  readonly onError?: (err: unknown) => void;
}

export interface WebhookDelivery {
  /** Queues the event for every URL; returns at once. */
  enqueue(event: AlertEvent): void;
  /**
   * Sends a delivery already in the log (its body included) when its next attempt is due: an
   * unfinished one of an earlier run, or in cluster mode one claimed in the replicated log first.
   */
  resume(record: DeliveryRecord): void;
  /** Resolves when nothing is queued, waiting for a retry or in flight. */
  idle(): Promise<void>;
  /** Stops starting attempts; waits up to `drainMs` for those in flight. Unfinished ones resume at the next start. */
  stop(drainMs: number): Promise<void>;
  /** Deliveries waiting for a free slot (not in flight, not waiting for a retry). */
  depth(): number;
}

/** What a receiver gets: the delivery id (also in X-Quantrac-Delivery) and the alert event. */
export interface WebhookBody {
  readonly deliveryId: string;
  readonly event: AlertEvent;
}

type Job = { record: DeliveryRecord; body: string };

export function createWebhookDelivery(opts: WebhookOptions): WebhookDelivery {
  const now = opts.now ?? Date.now;
  const concurrency = opts.concurrency ?? 4;
  const queues = new Map<string, Job[]>(opts.urls.map((u) => [u, []]));
  const active = new Map<string, number>(opts.urls.map((u) => [u, 0]));
  const timers = new Set<NodeJS.Timeout>();
  const inflight = new Set<Promise<void>>();
  let waiting = 0;
  let stopped = false;
  let idleWaiters: (() => void)[] = [];

  const busy = () => waiting > 0 || inflight.size > 0 || timers.size > 0;
  const checkIdle = () => {
    if (!busy()) for (const w of idleWaiters.splice(0)) w();
  };

  const save = (job: Job, change: Partial<DeliveryRecord>): void => {
    job.record = { ...job.record, ...change, updatedAt: now() };
    const { body: _b, ...rest } = job.record;
    opts.log.record(rest);
    if (job.record.status === 'delivered' || job.record.status === 'failed' || job.record.status === 'dropped') opts.onFinal?.(job.record);
  };

  function push(job: Job): void {
    const q = queues.get(job.record.url) ?? [];
    queues.set(job.record.url, q);
    if (!active.has(job.record.url)) active.set(job.record.url, 0);
    if (waiting >= opts.queueMax) dropOldest();
    q.push(job);
    waiting++;
    pump(job.record.url);
  }

  /** The queue is full: the oldest waiting delivery (by creation) gives way to the new one. */
  function dropOldest(): void {
    let oldest: Job[] | undefined;
    for (const q of queues.values()) if (q[0] && (!oldest || q[0].record.createdAt < oldest[0]!.record.createdAt)) oldest = q;
    const job = oldest?.shift();
    if (!job) return;
    waiting--;
    opts.onCount?.('dropped');
    save(job, { status: 'dropped', lastError: `delivery queue full (${opts.queueMax}): oldest waiting delivery dropped` });
  }

  function pump(url: string): void {
    const q = queues.get(url)!;
    while (!stopped && q.length > 0 && active.get(url)! < concurrency) {
      const job = q.shift()!;
      waiting--;
      active.set(url, active.get(url)! + 1);
      const p = attempt(job)
        .catch((err: unknown) => opts.onError?.(err))
        .finally(() => {
          inflight.delete(p);
          active.set(url, active.get(url)! - 1);
          pump(url);
          checkIdle();
        });
      inflight.add(p);
    }
  }

  async function attempt(job: Job): Promise<void> {
    const attempts = job.record.attempts + 1;
    let statusCode: number | undefined;
    let error: string | undefined;
    let retryAfterMs: number | undefined;
    try {
      const target = requestTarget(job.record.url);
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          ...target.headers,
          'content-type': 'application/json',
          [DELIVERY_HEADER]: job.record.deliveryId,
          [EVENT_HEADER]: job.record.eventType,
          ...signWebhook(opts.secret, job.body, now()),
        },
        body: job.body,
        signal: AbortSignal.timeout(opts.timeoutMs),
        redirect: 'manual',
      });
      statusCode = res.status;
      retryAfterMs = parseRetryAfter(res.headers.get('retry-after') ?? undefined);
      await res.body?.cancel().catch(() => undefined);
    } catch (err) {
      error = redactIn(err instanceof Error ? (err.name === 'TimeoutError' ? `timed out after ${opts.timeoutMs} ms` : err.message) : String(err), job.record.url);
    }
    if (statusCode !== undefined && statusCode >= 200 && statusCode < 300) {
      opts.onCount?.('sent');
      save(job, { status: 'delivered', attempts, lastStatusCode: statusCode, lastError: undefined, nextAttemptAt: undefined });
      return;
    }
    const retryable = statusCode === undefined || statusCode === 408 || statusCode === 429 || statusCode >= 500;
    const failure = { attempts, ...(statusCode !== undefined ? { lastStatusCode: statusCode } : {}), lastError: error ?? `HTTP ${statusCode}` };
    if (!retryable || attempts >= opts.maxAttempts) {
      opts.onCount?.('failed');
      save(job, { ...failure, status: 'failed', nextAttemptAt: undefined });
      return;
    }
    const delayMs = Math.max(retryAfterMs ?? 0, backoffDelayMs(attempts, { baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs, random: opts.random }));
    opts.onCount?.('retried');
    save(job, { ...failure, status: 'retrying', nextAttemptAt: now() + Math.round(delayMs) });
    schedule(job, delayMs);
  }

  function schedule(job: Job, delayMs: number): void {
    const t = setTimeout(() => {
      timers.delete(t);
      try {
        if (!stopped) push(job);
      } catch (err) {
        opts.onError?.(err); // a timer callback that throws would end the process
      }
      checkIdle();
    }, delayMs);
    timers.add(t);
  }

  function resume(r: DeliveryRecord): void {
    if (stopped || !r.body) return;
    const job: Job = { record: r, body: r.body };
    if (!queues.has(r.url)) {
      save(job, { status: 'failed', lastError: 'URL no longer configured in ALERT_WEBHOOKS' });
      return;
    }
    schedule(job, Math.max(0, (r.nextAttemptAt ?? 0) - now()));
  }

  // Deliveries left unfinished by the previous run: resume them (the receiver dedupes by id).
  for (const r of opts.log.unfinished()) resume(r);

  return {
    enqueue(event) {
      if (stopped) return;
      for (const url of opts.urls) {
        const deliveryId = randomUUID();
        const body = JSON.stringify({ deliveryId, event } satisfies WebhookBody);
        const t = now();
        const record: DeliveryRecord = { deliveryId, alertId: event.alert.id, eventType: event.type, eventAt: event.at, url, status: 'pending', attempts: 0, createdAt: t, updatedAt: t };
        opts.log.record({ ...record, body });
        const job: Job = { record, body };
        push(job);
      }
    },
    resume,
    idle: () => (busy() ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    depth: () => waiting,
    async stop(drainMs) {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, drainMs).unref())]);
      idleWaiters.splice(0).forEach((w) => w());
    },
  };
}
