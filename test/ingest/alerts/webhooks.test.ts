// Webhook signing and delivery: the signature verifies only the exact body, key and a fresh
// timestamp; deliveries to a real local HTTP server are retried with growing, jittered delays
// until it answers, permanent refusals are not retried, every step lands in the delivery log, and
// a delivery left unfinished by a stopped server is resumed by the next one.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../contracts/alerts.ts';
import { backoffDelayMs } from '../../../ingest/alerts/delivery/backoff.ts';
import { openDeliveryLog } from '../../../ingest/alerts/delivery/delivery-log.ts';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER, verifyWebhook } from '../../../ingest/alerts/delivery/webhook-signature.ts';
import { createWebhookDelivery, type WebhookBody } from '../../../ingest/alerts/delivery/webhooks.ts';
import { eventually } from '../../support/influx.ts';

const SECRET = 'unit-test-secret-0123456789';

describe('webhook signature', () => {
  const body = '{"deliveryId":"d1","event":{"type":"opened"}}';
  const now = Date.parse('2026-09-12T03:00:00Z');

  it('verifies the exact body signed with the same key within the tolerance', () => {
    const headers = signWebhook(SECRET, body, now);
    expect(headers[SIGNATURE_HEADER]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhook(SECRET, body, headers, { nowMs: now + 60_000 })).toEqual({ ok: true });
    expect(verifyWebhook(SECRET, Buffer.from(body), { 'X-Quantrac-Signature': headers[SIGNATURE_HEADER], 'X-Quantrac-Timestamp': headers[TIMESTAMP_HEADER] }, { nowMs: now })).toEqual({ ok: true });
  });

  it('refuses a changed body, another key, a moved timestamp, a replay and missing headers', () => {
    const headers = signWebhook(SECRET, body, now);
    expect(verifyWebhook(SECRET, body.replace('opened', 'cleared'), headers, { nowMs: now })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook('another-secret-0123456789', body, headers, { nowMs: now })).toEqual({ ok: false, reason: 'bad_signature' });
    const moved = { ...headers, [TIMESTAMP_HEADER]: String(Number(headers[TIMESTAMP_HEADER]) + 1) };
    expect(verifyWebhook(SECRET, body, moved, { nowMs: now })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SECRET, body, headers, { nowMs: now + 301_000 })).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(verifyWebhook(SECRET, body, { [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER] }, { nowMs: now })).toEqual({ ok: false, reason: 'missing_headers' });
  });
});

describe('backoff', () => {
  it('doubles up to the cap and keeps each delay within [d/2, d)', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, { ...opts, random: () => 0 }))).toEqual([50, 100, 200, 400, 500]);
    expect(backoffDelayMs(3, { ...opts, random: () => 0.999 })).toBeCloseTo(399.8, 0);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(10, opts);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThan(1000);
    }
  });
});

const event = (type: AlertEvent['type'], id = 'flood-longbien~flood-river-level~1'): AlertEvent =>
  ({ type, at: 1, alert: { id, stationId: 'flood-longbien' } }) as unknown as AlertEvent;

describe('webhook delivery to a real HTTP server', () => {
  let server: Server;
  let url: string;
  let dir: string;
  /** Status codes to answer, in order; 204 once exhausted. */
  let script: number[] = [];
  const received: { headers: IncomingHttpHeaders; raw: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        received.push({ headers: req.headers, raw });
        const status = script.shift() ?? 204;
        res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {}).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  afterEach(() => {
    received.length = 0;
    script = [];
    rmSync(dir, { recursive: true, force: true });
  });

  const setup = (over: Partial<Parameters<typeof createWebhookDelivery>[0]> = {}) => {
    dir = mkdtempSync(join(tmpdir(), 'quantrac-webhooks-'));
    const log = openDeliveryLog(join(dir, 'deliveries.jsonl'), { retainMs: 86_400_000 });
    const delivery = createWebhookDelivery({ urls: [url], secret: SECRET, log, timeoutMs: 2000, maxAttempts: 5, backoffBaseMs: 20, backoffMaxMs: 200, queueMax: 100, ...over });
    return { log, delivery };
  };

  it('retries a failing receiver until it answers, with the same delivery id and a fresh signature', async () => {
    const { log, delivery } = setup();
    script = [503, 500, 503];
    delivery.enqueue(event('opened'));
    await delivery.idle();
    expect(received).toHaveLength(4);
    const ids = new Set(received.map((r) => r.headers['x-quantrac-delivery']));
    expect(ids.size).toBe(1);
    for (const r of received) expect(verifyWebhook(SECRET, r.raw, r.headers).ok).toBe(true);
    expect((JSON.parse(received[0]!.raw) as WebhookBody).event.type).toBe('opened');
    const [record] = log.forAlert(event('opened').alert.id);
    expect(record).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 204, url });
    await delivery.stop(100);
  });

  it('does not retry a permanent refusal and gives up after maxAttempts', async () => {
    const { log, delivery } = setup({ maxAttempts: 3 });
    script = [400, 503, 503, 503];
    delivery.enqueue(event('opened', 'a'));
    await delivery.idle();
    delivery.enqueue(event('opened', 'b'));
    await delivery.idle();
    expect(log.forAlert('a')[0]).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 400 });
    expect(log.forAlert('b')[0]).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 503 });
    await delivery.stop(100);
  });

  it('records each state change on disk and resumes an unfinished delivery after a restart', async () => {
    const { delivery } = setup({ backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
    script = [503];
    delivery.enqueue(event('escalated', 'c'));
    await eventually(async () => (received.length === 1 ? true : undefined), 5000, 'the first attempt');
    const lastStatus = () => readFileSync(join(dir, 'deliveries.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: string }).at(-1)?.status;
    await eventually(async () => (lastStatus() === 'retrying' ? true : undefined), 5000, 'a retrying record');
    await delivery.stop(100); // the retry is a minute away: stopped before it

    const log = openDeliveryLog(join(dir, 'deliveries.jsonl'), { retainMs: 86_400_000 });
    expect(log.unfinished()).toHaveLength(1);
    const resumed = createWebhookDelivery({ urls: [url], secret: SECRET, log, timeoutMs: 2000, maxAttempts: 5, backoffBaseMs: 20, backoffMaxMs: 200, queueMax: 100, now: () => Date.now() + 120_000 });
    await eventually(async () => (log.forAlert('c')[0]?.status === 'delivered' ? true : undefined), 5000, 'the resumed delivery');
    expect(received).toHaveLength(2);
    expect(received[1]!.headers['x-quantrac-delivery']).toBe(received[0]!.headers['x-quantrac-delivery']);
    expect(openDeliveryLog(join(dir, 'deliveries.jsonl'), { retainMs: 86_400_000 }).unfinished()).toHaveLength(0);
    await resumed.stop(100);
  });
});
