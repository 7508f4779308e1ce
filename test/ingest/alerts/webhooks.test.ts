// Webhook signing and delivery: the signature verifies only the exact body, key and a fresh
// timestamp; deliveries to a real local HTTP server are retried with growing, jittered delays
// until it answers, permanent refusals are not retried, every step lands in the delivery log, and
// a delivery left unfinished by a stopped server is resumed by the next one.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../contracts/alerts.ts';
import { backoffDelayMs } from '../../../ingest/alerts/delivery/backoff.ts';
import { openDeliveryLog } from '../../../ingest/alerts/delivery/delivery-log.ts';
import { redactIn, redactUrl, requestTarget } from '../../../ingest/alerts/delivery/webhook-url.ts';
import { hmacSha256Hex, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER, verifyWebhook } from '../../../ingest/alerts/delivery/webhook-signature.ts';
import { createWebhookDelivery, type WebhookBody } from '../../../ingest/alerts/delivery/webhooks.ts';
import { eventually } from '../../support/influx.ts';

const SECRET = 'unit-test-secret-0123456789';

// RFC 4231 §4 (HMAC-SHA256 test vectors, Dec 2005): key, data, HMAC-SHA-256. Case 5 (output
// truncated to 128 bits) checks the first 32 hex digits.
const hex = (h: string) => Buffer.from(h, 'hex');
const RFC4231: readonly { readonly name: string; readonly key: Buffer; readonly data: Buffer; readonly mac: string }[] = [
  { name: '1', key: Buffer.alloc(20, 0x0b), data: Buffer.from('Hi There'), mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
  { name: '2', key: Buffer.from('Jefe'), data: Buffer.from('what do ya want for nothing?'), mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
  { name: '3', key: Buffer.alloc(20, 0xaa), data: Buffer.alloc(50, 0xdd), mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
  { name: '4', key: hex('0102030405060708090a0b0c0d0e0f10111213141516171819'), data: Buffer.alloc(50, 0xcd), mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b' },
  { name: '5', key: Buffer.alloc(20, 0x0c), data: Buffer.from('Test With Truncation'), mac: 'a3b6167473100ee06e0c796c2955552b' },
  { name: '6', key: Buffer.alloc(131, 0xaa), data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54' },
  {
    name: '7',
    key: Buffer.alloc(131, 0xaa),
    data: Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

describe('webhook signature: RFC 4231 HMAC-SHA256 test vectors', () => {
  for (const v of RFC4231) {
    it(`test case ${v.name}`, () => {
      expect(hmacSha256Hex(v.key, v.data).slice(0, v.mac.length)).toBe(v.mac);
      // the same MAC when the data arrives in two parts, as `{timestamp}.` and the body do
      expect(hmacSha256Hex(v.key, v.data.subarray(0, 7), v.data.subarray(7)).slice(0, v.mac.length)).toBe(v.mac);
    });
  }
  it('signs `{timestamp}.{body}` with that HMAC (test case 2\'s key and data as the body)', () => {
    const body = 'what do ya want for nothing?';
    const headers = signWebhook('Jefe', body, 1_700_000_000_000);
    expect(headers[TIMESTAMP_HEADER]).toBe('1700000000');
    expect(headers[SIGNATURE_HEADER]).toBe(`sha256=${createHmac('sha256', 'Jefe').update(`1700000000.${body}`).digest('hex')}`);
  });
});

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
    // Checked as a receiver would, with node:crypto alone (not through our module).
    for (const r of received) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${r.headers['x-quantrac-timestamp']}.${r.raw}`).digest('hex')}`;
      expect(r.headers['x-quantrac-signature']).toBe(expected);
      expect(Math.abs(Number(r.headers['x-quantrac-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
    }
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

describe('a full delivery queue, a failing delivery log, secrets in URLs', () => {
  let server: Server;
  let url: string;
  let dir: string;
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const alertIds: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        alertIds.push((JSON.parse(raw) as WebhookBody).event.alert.id);
        void gate.then(() => res.writeHead(204).end());
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  afterEach(() => {
    alertIds.length = 0;
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops the oldest waiting delivery, records it as dropped and counts it (README: ALERT_DELIVERY_QUEUE_MAX)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'quantrac-webhooks-'));
    const log = openDeliveryLog(join(dir, 'deliveries.jsonl'), { retainMs: 86_400_000 });
    const counts: string[] = [];
    gate = new Promise((r) => (release = r));
    let clock = 1000;
    const delivery = createWebhookDelivery({
      urls: [url], secret: SECRET, log, timeoutMs: 5000, maxAttempts: 2, backoffBaseMs: 20, backoffMaxMs: 200,
      queueMax: 2, concurrency: 1, now: () => clock++, onCount: (o) => counts.push(o),
    });
    delivery.enqueue(event('opened', 'e1')); // in flight, held by the receiver
    await eventually(async () => (alertIds.length === 1 ? true : undefined), 5000, 'e1 in flight');
    for (const id of ['e2', 'e3', 'e4']) delivery.enqueue(event('opened', id)); // e4 finds the queue full
    release();
    await delivery.idle();
    expect(alertIds).toEqual(['e1', 'e3', 'e4']);
    expect(delivery.depth()).toBe(0);
    expect(log.forAlert('e2')[0]).toMatchObject({ status: 'dropped' });
    expect(log.forAlert('e4')[0]).toMatchObject({ status: 'delivered' });
    expect(counts.filter((c) => c === 'dropped')).toHaveLength(1);
    expect(counts.filter((c) => c === 'sent')).toHaveLength(3);
    await delivery.stop(100);
  });

  it('keeps delivering when the delivery log cannot be written, and reports each failed write', async () => {
    dir = mkdtempSync(join(tmpdir(), 'quantrac-webhooks-'));
    const path = join(dir, 'deliveries.jsonl');
    const writeErrors: unknown[] = [];
    const log = openDeliveryLog(path, { retainMs: 86_400_000, onWriteError: (err) => writeErrors.push(err) });
    // The file becomes a folder: every appendFileSync fails with EISDIR (as root, permissions would not stop it).
    rmSync(path);
    mkdirSync(path);
    gate = Promise.resolve();
    const errors: unknown[] = [];
    const delivery = createWebhookDelivery({ urls: [url], secret: SECRET, log, timeoutMs: 5000, maxAttempts: 2, backoffBaseMs: 20, backoffMaxMs: 200, queueMax: 10, onError: (e) => errors.push(e) });
    delivery.enqueue(event('opened', 'f1'));
    delivery.enqueue(event('cleared', 'f1'));
    await delivery.idle();
    expect(alertIds).toEqual(['f1', 'f1']);
    expect(log.forAlert('f1').map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(writeErrors.length).toBeGreaterThanOrEqual(4); // pending + delivered, twice
    expect((writeErrors[0] as NodeJS.ErrnoException).code).toBe('EISDIR');
    expect(errors).toEqual([]);
    await delivery.stop(100);
  });

  it('redacts user info and query of a webhook URL wherever it is shown', () => {
    expect(redactUrl('https://hook:s3cret@example.org/a/b?token=abc&x=1#frag')).toBe('https://***@example.org/a/b?***');
    expect(redactUrl('http://127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080/hook');
    expect(redactUrl('not a url')).toBe('[unparseable URL]');
    // fetch refuses user info in a URL: it is sent as Basic authentication instead.
    expect(requestTarget('https://hook:s%40cret@example.org/a?x=1')).toEqual({ url: 'https://example.org/a?x=1', headers: { authorization: `Basic ${Buffer.from('hook:s@cret').toString('base64')}` } });
    expect(redactIn('fetch failed for https://hook:s3cret@example.org/a?token=abcd', 'https://hook:s3cret@example.org/a?token=abcd')).toBe('fetch failed for https://***@example.org/a?***');
  });
});
