// /ws/live against a real server fed over real MQTT: subscription filters, invalid messages, and a
// client that never reads (raw TCP upgrade, socket paused): its held bytes stay bounded and it is
// disconnected. Plus per-address rate limiting of the public HTTP API.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAuth, loadOrCreateSecret, setUser } from '../../api/auth.ts';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const MAX_HELD = 64 * 1024;
let t: TestQuantrac;
let air: MqttClient;
let street: MqttClient;
let seq = 0;

beforeAll(async () => {
  t = await startTestQuantrac({ WS_COALESCE_BYTES: '4096', WS_MAX_BUFFERED_BYTES: String(MAX_HELD), WS_HEARTBEAT_MS: '60000', WS_MAX_STALL_MS: '1000', API_RATE_LIMIT_PER_MIN: '1000' });
  air = await t.connectGateway('gw-air-01');
  street = await t.connectGateway('gw-street-01');
});
afterAll(async () => t?.stop());

const publishAir = (station: string, pm25: number) => air.publishAsync(`sensors/${station}/reading`, JSON.stringify({ ts: Date.now(), seq: seq++, values: { pm25 } }), { qos: 1 });
const publishStreet = (depth: number) => street.publishAsync('sensors/street-001/reading', JSON.stringify({ ts: Date.now(), seq: seq++, values: { depth_cm: depth } }), { qos: 1 });

interface Client {
  ws: WebSocket;
  msgs: Record<string, unknown>[];
  next(pred: (m: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
}

async function open(): Promise<Client> {
  const ws = new WebSocket(`${t.httpUrl.replace('http', 'ws')}/ws/live`);
  const msgs: Record<string, unknown>[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(String(d)) as Record<string, unknown>));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return { ws, msgs, next: (pred, what) => eventually(async () => msgs.find(pred), 10_000, what) };
}

const stats = async () => {
  const usersPath = join(t.dataDir, 'users.json');
  await setUser(usersPath, 'ops', 'operator', 'pw');
  const auth = createAuth({ usersPath, secret: loadOrCreateSecret(undefined, join(t.dataDir, 'api-token-secret')), tokenTtlS: 60 });
  const res = await fetch(`${t.httpUrl}/api/ops/stats`, { headers: { authorization: `Bearer ${auth.issueToken('ops', 'operator')}` } });
  return ((await res.json()) as { live: { clients: number; peakHeldBytes: number; disconnectedSlow: number } }).live;
};

describe('/ws/live subscriptions', () => {
  it('sends everything without a subscription, and only matching readings with one', async () => {
    const all = await open();
    const floods = await open();
    const byStation = await open();
    const byDistrict = await open();
    floods.ws.send(JSON.stringify({ type: 'subscribe', kinds: ['flood'] }));
    byStation.ws.send(JSON.stringify({ type: 'subscribe', stations: ['air-002'] }));
    byDistrict.ws.send(JSON.stringify({ type: 'subscribe', districts: ['Cầu Giấy'] })); // air-002's former district
    for (const c of [floods, byStation, byDistrict]) await c.next((m) => m.type === 'subscribed', 'subscription ack');

    await publishAir('air-001', 11);
    await publishAir('air-002', 22);
    await publishStreet(7);
    await all.next((m) => m.station === 'street-001', 'street reading for the unsubscribed client');
    await all.next((m) => m.station === 'air-001', 'air-001 reading');
    await floods.next((m) => m.station === 'street-001', 'flood reading for the flood subscriber');
    await byStation.next((m) => m.station === 'air-002', 'air-002 reading');
    await byDistrict.next((m) => m.station === 'air-002', 'air-002 reading by district');
    expect(floods.msgs.filter((m) => m.type === 'reading').map((m) => m.kind)).toEqual(['flood']);
    expect(byStation.msgs.filter((m) => m.type === 'reading').map((m) => m.station)).toEqual(['air-002']);
    expect(byDistrict.msgs.filter((m) => m.type === 'reading').every((m) => m.station === 'air-002')).toBe(true);

    // Unsubscribe: floods now wants nothing; after an air reading reaches `all`, floods saw no more.
    floods.ws.send(JSON.stringify({ type: 'unsubscribe', kinds: ['flood'] }));
    await floods.next((m) => m.type === 'subscribed' && (m.kinds as string[]).length === 0, 'unsubscribe ack');
    await publishStreet(8);
    await all.next((m) => m.station === 'street-001' && (m.values as Record<string, number>).depth_cm === 8, 'second street reading');
    await byStation.ws.ping();
    expect(floods.msgs.filter((m) => m.type === 'reading')).toHaveLength(1);
    for (const c of [all, floods, byStation, byDistrict]) c.ws.close();
  });

  it('answers an invalid message with an error message and keeps the connection', async () => {
    const c = await open();
    c.ws.send('not json');
    await c.next((m) => m.type === 'error', 'error for non-JSON');
    c.ws.send(JSON.stringify({ type: 'subscribe', kinds: ['lava'] }));
    await eventually(async () => (c.msgs.filter((m) => m.type === 'error').length === 2 ? true : undefined), 5000, 'second error');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.send(JSON.stringify({ type: 'subscribe', stations: ['air-003'] }));
    await c.next((m) => m.type === 'subscribed', 'valid subscribe after errors');
    c.ws.close();
  });

  it('refuses a message over WS_MAX_PAYLOAD_BYTES by closing with 1009', async () => {
    const c = await open();
    const code = new Promise<number>((r) => c.ws.once('close', (n) => r(n)));
    c.ws.send(JSON.stringify({ type: 'subscribe', stations: ['x'.repeat(20_000)] }));
    expect(await code).toBe(1009);
  });
});

describe('a client that does not read', () => {
  it('is held to a bounded number of bytes and then disconnected', async () => {
    const sock: Socket = netConnect(Number(new URL(t.httpUrl).port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(
      `GET /ws/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await new Promise((r) => sock.once('data', r)); // the 101 response
    sock.pause(); // and never read again
    const before = (await stats()).disconnectedSlow;
    let peak = 0;
    const stations = ['air-001', 'air-002', 'air-003', 'air-004', 'air-005', 'air-006', 'air-007', 'air-008', 'air-009', 'air-010'];
    // Batches of large-ish readings until the server gives up on the client.
    await eventually(
      async () => {
        const batch = Array.from({ length: 500 }, (_, i) => ({ station: stations[i % 10], ts: Date.now() - 1000 + (i % 50), seq: seq++, values: { pm25: i, pm10: i, no2: i, so2: i, o3: i, co: i, temp_c: 20, rh_pct: 50 } }));
        await air.publishAsync('gateways/gw-air-01/readings', JSON.stringify(batch), { qos: 1 });
        const s = await stats();
        peak = Math.max(peak, s.peakHeldBytes);
        return s.disconnectedSlow > before ? s : undefined;
      },
      40_000,
      'the non-reading client to be disconnected',
    );
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(MAX_HELD + 1024);
    await eventually(async () => ((await stats()).clients === 0 ? true : undefined), 5000, 'no live clients left');
    sock.destroy();
  });
});

describe('rate limiting', () => {
  it('answers 429 RATE_LIMITED past the per-address limit, but not on health probes', async () => {
    const limited = await startTestQuantrac({ API_RATE_LIMIT_PER_MIN: '5' });
    try {
      const codes = [];
      for (let i = 0; i < 7; i++) codes.push((await fetch(`${limited.httpUrl}/api/stations?limit=1`)).status);
      expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      const res = await fetch(`${limited.httpUrl}/api/stations`);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(await res.json()).toMatchObject({ error: 'RATE_LIMITED' });
      expect((await fetch(`${limited.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
