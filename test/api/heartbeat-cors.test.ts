// Against the real server (real HTTP/WebSocket, real broker and InfluxDB), issue #5: a /ws/live client
// that stops answering pings is terminated after a missed heartbeat (RFC 6455 §5.5.2–5.5.3) while one
// that answers stays connected across several heartbeats and still receives readings; CORS answers
// only the configured origins, and none by default.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const HEARTBEAT_MS = 200;
const PORTAL = 'https://portal.example';
const EVIL = 'https://evil.example';
let plain: TestQuantrac; // default API_CORS_ORIGINS (empty)
let withCors: TestQuantrac;
let air: MqttClient;

beforeAll(async () => {
  [plain, withCors] = await Promise.all([startTestQuantrac({ WS_HEARTBEAT_MS: String(HEARTBEAT_MS) }), startTestQuantrac({ API_CORS_ORIGINS: PORTAL })]);
  air = await plain.connectGateway('gw-air-01');
});
afterAll(async () => Promise.all([plain?.stop(), withCors?.stop()]));

interface Watched {
  ws: WebSocket;
  pings: number;
  closeCode: number | undefined;
  messages: string[];
}

async function openLive(options: WebSocket.ClientOptions = {}): Promise<Watched> {
  const ws = new WebSocket(`${plain.httpUrl.replace('http', 'ws')}/ws/live`, options);
  const w: Watched = { ws, pings: 0, closeCode: undefined, messages: [] };
  ws.on('ping', () => w.pings++);
  ws.on('close', (code) => (w.closeCode = code));
  ws.on('message', (d) => w.messages.push(String(d)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return w;
}

describe('/ws/live heartbeat', () => {
  it('terminates a client that does not answer pings and keeps one that does', async () => {
    const silent = await openLive({ autoPong: false });
    const answering = await openLive();

    // The silent client was pinged, did not answer, and was cut off without a close frame (1006).
    await eventually(async () => (silent.closeCode !== undefined ? true : undefined), 10_000, 'the silent client terminated');
    expect(silent.pings).toBeGreaterThanOrEqual(1);
    expect(silent.closeCode).toBe(1006);

    // The answering client outlives several heartbeat periods, counted by the pings it answered.
    const pingsThen = answering.pings;
    await eventually(async () => (answering.pings >= pingsThen + 5 ? true : undefined), 10_000, 'five more heartbeats');
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    expect(answering.closeCode).toBeUndefined();

    // And it is still a live client: a reading published over MQTT reaches it.
    await air.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: Date.now() - 1000, values: { pm25: 12 } }), { qos: 1 });
    await eventually(async () => (answering.messages.some((m) => m.includes('air-001')) ? true : undefined), 10_000, 'the reading on the live socket');
    answering.ws.close();
  });
});

describe('CORS', () => {
  const get = (server: TestQuantrac, origin: string) => fetch(`${server.httpUrl}/api/stations`, { headers: { origin } });
  const preflight = (server: TestQuantrac, origin: string) =>
    fetch(`${server.httpUrl}/api/stations`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });

  it('allows a configured origin, for requests and preflights', async () => {
    const res = await get(withCors, PORTAL);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(PORTAL);

    const pre = await preflight(withCors, PORTAL);
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('gives an origin that is not configured no allow-origin header', async () => {
    const res = await get(withCors, EVIL);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await preflight(withCors, EVIL);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows no foreign origin by default', async () => {
    for (const origin of [PORTAL, EVIL]) {
      const res = await get(plain, origin);
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect((await preflight(plain, origin)).headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});
