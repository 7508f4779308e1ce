// Officer alert API over real HTTP on a running server: who may call what (401 without a token,
// 403 for the wrong role), the list filters and paging, acknowledgement, the public view without
// officer details, the /ws/officer authentication modes, and a backtest on stored readings.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { setUser } from '../../api/auth.ts';
import type { Alert } from '../../contracts/alerts.ts';
import { OFFICER_WS_PROTOCOL, WS_CLOSE, type OfficerMessage } from '../../contracts/alerts-api.ts';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;
const HOOK_SECRET = 'hook-url-secret-4711';
let officer: string;
let operator: string;
const T0 = Date.now() - 2 * 3_600_000;
const iso = (min: number) => new Date(T0 + min * 60_000).toISOString();

async function login(user: string, password: string): Promise<string> {
  const res = await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
  return ((await res.json()) as { token: string }).token;
}
const get = (path: string, token?: string) => fetch(`${t.httpUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const list = async (query: string) => (await (await get(`/api/alerts?${query}`, officer)).json()) as { total: number; nextOffset: number | null; alerts: Alert[] };

beforeAll(async () => {
  t = await startTestQuantrac({
    ALERT_TICK_MS: '200',
    // A receiver that is down, at a URL carrying its secret (user info and query).
    ALERT_WEBHOOKS: `http://hook:${HOOK_SECRET}@127.0.0.1:9/hook?key=${HOOK_SECRET}`,
    ALERT_WEBHOOK_SECRET: 'webhook-signing-secret-0123',
    ALERT_WEBHOOK_MAX_ATTEMPTS: '2',
    ALERT_WEBHOOK_BACKOFF_BASE_MS: '50',
    ALERT_WEBHOOK_BACKOFF_MAX_MS: '100',
  });
  await setUser(join(t.dataDir, 'users.json'), 'lan', 'officer', 'officer-pw');
  await setUser(join(t.dataDir, 'users.json'), 'minh', 'operator', 'operator-pw');
  [officer, operator] = await Promise.all([login('lan', 'officer-pw'), login('minh', 'operator-pw')]);
  const gw = await t.connectGateway('gw-river');
  // Long Biên straight to level II (severe), Sơn Tây to level I (moderate).
  await gw.publishAsync('sensors/flood-longbien/reading', JSON.stringify({ ts: iso(0), seq: 1, values: { level_m: 10.6 } }), { qos: 1 });
  await gw.publishAsync('sensors/flood-sontay/reading', JSON.stringify({ ts: iso(0), seq: 1, values: { level_m: 12.5 } }), { qos: 1 });
  await eventually(async () => ((await list('rule=flood-river-level')).total === 2 ? true : undefined), 10_000, 'two flood alerts');
});
afterAll(async () => t?.stop());

describe('GET /api/alerts', () => {
  it('needs an officer token: 401 without one, 403 for an operator', async () => {
    expect((await get('/api/alerts')).status).toBe(401);
    expect(await (await get('/api/alerts')).json()).toMatchObject({ error: 'UNAUTHORIZED' });
    expect((await get('/api/alerts', 'not-a-token')).status).toBe(401);
    expect((await get('/api/alerts', operator)).status).toBe(403);
    expect((await get('/api/alerts', officer)).status).toBe(200);
  });

  it('filters by state, severity, kind, station, acknowledgement and time, and pages', async () => {
    const severe = await list('rule=flood-river-level&severity=severe');
    expect(severe.alerts.map((a) => a.stationId)).toEqual(['flood-longbien']);
    expect((await list('rule=flood-river-level&minSeverity=moderate')).total).toBe(2);
    expect((await list('rule=flood-river-level&severity=minor,extreme')).total).toBe(0);
    expect((await list('station=flood-sontay&rule=flood-river-level')).alerts[0]?.level.key).toBe('I');
    expect((await list('kind=air&rule=flood-river-level')).total).toBe(0);
    expect((await list('state=cleared&rule=flood-river-level')).total).toBe(0);
    expect((await list(`rule=flood-river-level&to=${T0 - 60_000}`)).total).toBe(0);
    expect((await list(`rule=flood-river-level&from=${encodeURIComponent(iso(-5))}&to=${encodeURIComponent(iso(5))}`)).total).toBe(2);
    const page1 = await list('rule=flood-river-level&limit=1');
    expect(page1).toMatchObject({ total: 2, nextOffset: 1 });
    const page2 = await list('rule=flood-river-level&limit=1&offset=1');
    expect(page2.nextOffset).toBeNull();
    expect(page2.alerts[0]!.id).not.toBe(page1.alerts[0]!.id);
    expect((await get('/api/alerts?severity=awful', officer)).status).toBe(400);
  });

  it('acknowledges for the officer who asked, hides it from the public view, and 404s an unknown id', async () => {
    const [sontay] = (await list('station=flood-sontay&rule=flood-river-level')).alerts;
    const path = `/api/alerts/${encodeURIComponent(sontay!.id)}`;
    const post = (p: string, token?: string) =>
      fetch(`${t.httpUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ note: 'đã kiểm tra' }) });
    expect((await post(`${path}/ack`)).status).toBe(401);
    expect((await post(`${path}/ack`, operator)).status).toBe(403);
    const res = await post(`${path}/ack`, officer);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: sontay!.id, acknowledged: { by: 'lan', note: 'đã kiểm tra' } });
    expect((await list('acknowledged=true&rule=flood-river-level')).alerts.map((a) => a.stationId)).toEqual(['flood-sontay']);
    expect((await list('acknowledged=false&rule=flood-river-level')).alerts.map((a) => a.stationId)).toEqual(['flood-longbien']);
    expect(await (await get(path, officer)).json()).toMatchObject({ acknowledged: { by: 'lan' } });
    expect((await get('/api/alerts/nope', officer)).status).toBe(404);
    expect((await post('/api/alerts/nope/ack', officer)).status).toBe(404);

    const pub = (await (await get('/api/alerts/public')).json()) as { alerts: Record<string, unknown>[] };
    const shown = pub.alerts.find((a) => a.id === sontay!.id);
    expect(shown).toBeDefined();
    expect(shown).not.toHaveProperty('acknowledged');
    expect(JSON.stringify(pub)).not.toContain('đã kiểm tra');
  });
});

describe('/ws/officer authentication', () => {
  const wsUrl = () => `${t.httpUrl.replace('http', 'ws')}/ws/officer`;
  const firstMessage = (ws: WebSocket) =>
    new Promise<OfficerMessage>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d)) as OfficerMessage));
      ws.once('close', (code) => reject(new Error(`closed ${code}`)));
    });
  const closeCode = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

  it('accepts the token as a subprotocol, a header or the first message, and sends the active alerts', async () => {
    const viaProtocol = new WebSocket(wsUrl(), [OFFICER_WS_PROTOCOL, `bearer.${officer}`]);
    const viaHeader = new WebSocket(wsUrl(), { headers: { authorization: `Bearer ${officer}` } });
    const viaMessage = new WebSocket(wsUrl());
    viaMessage.once('open', () => viaMessage.send(JSON.stringify({ type: 'auth', token: officer })));
    for (const ws of [viaProtocol, viaHeader, viaMessage]) {
      const m = await firstMessage(ws);
      expect(m.type).toBe('snapshot');
      if (m.type === 'snapshot') expect(m.alerts.filter((a) => a.ruleId === 'flood-river-level')).toHaveLength(2);
      ws.close();
    }
    expect(viaProtocol.protocol).toBe(OFFICER_WS_PROTOCOL);
  });

  it('closes with 4401 for a bad token and 4403 for an operator', async () => {
    expect(await closeCode(new WebSocket(wsUrl(), [OFFICER_WS_PROTOCOL, 'bearer.garbage']))).toBe(WS_CLOSE.unauthorized);
    expect(await closeCode(new WebSocket(wsUrl(), [OFFICER_WS_PROTOCOL, `bearer.${operator}`]))).toBe(WS_CLOSE.forbidden);
    const ws = new WebSocket(wsUrl());
    ws.once('open', () => ws.send('{"type":"hello"}'));
    expect(await closeCode(ws)).toBe(WS_CLOSE.unauthorized);
  });
});

describe('alert and delivery metrics, webhook URLs', () => {
  it('counts alerts by rule and type and webhook outcomes, and never shows the URL secret', async () => {
    const [longbien] = (await list('station=flood-longbien&rule=flood-river-level')).alerts;
    const deliveries = await eventually(async () => {
      const body = (await (await get(`/api/alerts/${encodeURIComponent(longbien!.id)}/deliveries`, operator)).json()) as { deliveries: { status: string; url: string }[] };
      return body.deliveries.some((d) => d.status === 'failed') ? body.deliveries : undefined;
    }, 15_000, 'a failed delivery');
    expect(JSON.stringify(deliveries)).not.toContain(HOOK_SECRET);
    expect(deliveries[0]!.url).toBe('http://***@127.0.0.1:9/hook?***');
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    const sample = (series: string) => Number(metrics.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? NaN);
    expect(sample('quantrac_alert_events_total{rule="flood-river-level",type="opened"}')).toBe(2);
    expect(sample('quantrac_alert_deliveries_total{channel="webhook",outcome="retried"}')).toBeGreaterThanOrEqual(1);
    expect(sample('quantrac_alert_deliveries_total{channel="webhook",outcome="failed"}')).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^quantrac_alert_delivery_queue\{queue="webhooks"\} \d+$/m);
    expect(metrics).toMatch(/^# HELP quantrac_alert_engine_errors_total /m);
  });
});

describe('tokens in URLs', () => {
  it('are refused on REST routes and on /ws/officer, even when valid (they end up in proxy logs)', async () => {
    const rest = await fetch(`${t.httpUrl}/api/alerts?access_token=${encodeURIComponent(officer)}`);
    expect(rest.status).toBe(401);
    expect(((await rest.json()) as { message: string }).message).toMatch(/tokens in URLs are refused/);
    const ws = new WebSocket(`${t.httpUrl.replace('http', 'ws')}/ws/officer?token=${encodeURIComponent(officer)}`);
    const got = await new Promise<string>((resolve) => {
      ws.once('message', (d) => resolve(`message ${JSON.parse(String(d)).type}`));
      ws.once('close', (code) => resolve(`closed ${code}`));
    });
    expect(got).toBe(`closed ${WS_CLOSE.unauthorized}`);
  });
});

describe('POST /api/alerts/backtest', () => {
  it('replays the stored readings of a window for an operator only', async () => {
    await t.q.flushed();
    const body = JSON.stringify({ from: iso(-10), to: iso(10), stations: ['flood-longbien', 'flood-sontay'] });
    const post = (token: string) => fetch(`${t.httpUrl}/api/alerts/backtest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    expect((await post(officer)).status).toBe(403);
    const res = await post(operator);
    expect(res.status).toBe(200);
    const report = (await res.json()) as { readings: number; byRule: Record<string, { opened: number }>; events: { type: string; stationId: string; level: string }[] };
    expect(report.readings).toBe(2);
    expect(report.byRule['flood-river-level']?.opened).toBe(2);
    expect(report.events.filter((e) => e.type === 'opened').map((e) => `${e.stationId}:${e.level}`).sort()).toEqual(['flood-longbien:II', 'flood-sontay:I']);
    // It ran in a worker thread of its own (off the threads that acknowledge and serve): its heap was sampled there.
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(Number(/^quantrac_backtest_worker_heap_peak_bytes (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(1_000_000);

    const bad = await fetch(`${t.httpUrl}/api/alerts/backtest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: iso(-10), to: iso(10), rules: { version: 1, rules: [{ id: 'x', signal: 'threshold' }] } }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'BAD_BODY' });
  });
});
