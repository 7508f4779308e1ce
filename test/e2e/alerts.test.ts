// Threshold alerts end to end: a river gauge published over MQTT rises through flood levels I and
// II; an officer's WebSocket sees one alert open and escalate, a real HTTP receiver gets signed
// webhooks, MQTT subscribers get the republished events, an acknowledgement made through the API
// shows on the WebSocket, and after a restart of the server the same alert continues and clears.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { setUser } from '../../api/auth.ts';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import type { Alert, AlertEvent } from '../../contracts/alerts.ts';
import type { DeliveryRecord, OfficerMessage } from '../../contracts/alerts-api.ts';
import { verifyWebhook } from '../../ingest/alerts/delivery/webhook-signature.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import type { WebhookBody } from '../../ingest/alerts/delivery/webhooks.ts';
import { eventually, uniqueDatabase } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'e2e-webhook-secret-0123456789';
const STATION = 'flood-longbien';
const RULE = 'flood-river-level';
const T0 = Date.now() - 3 * 3_600_000; // readings stamped in the recent past, 5 min apart
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-alerts-e2e-'));
const database = uniqueDatabase('alerts');
const hooks: { body: WebhookBody; verified: boolean; tamperedVerified: boolean }[] = [];
let receiver: WebhookReceiver | undefined;
let webhookUrl: string;
let t: TestQuantrac | undefined;

beforeAll(async () => {
  receiver = await startWebhookReceiver((raw, req) => {
    hooks.push({
      body: JSON.parse(raw.toString('utf8')) as WebhookBody,
      verified: verifyWebhook(SECRET, raw, req.headers).ok,
      tamperedVerified: verifyWebhook(SECRET, Buffer.concat([raw, Buffer.from(' ')]), req.headers).ok,
    });
    return 204;
  });
  webhookUrl = `${receiver.url}/hook`;
  await setUser(join(dataDir, 'users.json'), 'lan', 'officer', 'officer-pw');
  await setUser(join(dataDir, 'users.json'), 'minh', 'operator', 'operator-pw');
});

afterAll(async () => {
  await t?.stop();
  await receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = () =>
  startTestQuantrac({ DATA_DIR: dataDir, INFLUX_DATABASE: database, ALERT_WEBHOOKS: JSON.stringify([webhookUrl]), ALERT_WEBHOOK_SECRET: SECRET, ALERT_TICK_MS: '200' });

async function login(user: string, password: string): Promise<string> {
  const res = await fetch(`${t!.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
  return ((await res.json()) as { token: string }).token;
}

/** An officer's socket: every message it received, in order. */
async function officerSocket(token: string): Promise<{ ws: WebSocket; messages: OfficerMessage[] }> {
  const messages: OfficerMessage[] = [];
  const ws = new WebSocket(`${t!.httpUrl.replace('http', 'ws')}/ws/officer`, { headers: { authorization: `Bearer ${token}` } });
  ws.on('message', (d) => messages.push(JSON.parse(String(d)) as OfficerMessage));
  await eventually(async () => (messages[0]?.type === 'snapshot' ? true : undefined), 10_000, 'the snapshot on connect');
  return { ws, messages };
}

const eventsOf = (messages: OfficerMessage[]): AlertEvent[] =>
  messages.flatMap((m) => (m.type === 'event' && m.event.alert.ruleId === RULE ? [m.event] : []));

const waitEvent = (messages: OfficerMessage[], type: AlertEvent['type']) =>
  eventually(async () => eventsOf(messages).find((e) => e.type === type), 15_000, `a ${type} event on /ws/officer`);

async function publishLevel(gw: MqttClient, seq: number, minute: number, levelM: number): Promise<void> {
  await gw.publishAsync(`sensors/${STATION}/reading`, JSON.stringify({ ts: at(minute), seq, values: { level_m: levelM } }), { qos: 1 });
}

describe('flood alert at Long Biên from MQTT to officers, webhooks and city systems', () => {
  it('opens, escalates, is acknowledged, survives a restart as the same alert and clears', async () => {
    t = await start();
    const officerToken = await login('lan', 'officer-pw');
    const officer = await officerSocket(officerToken);

    // Another city system subscribes to the republished alerts with a read-only MQTT credential.
    const consumerPw = await setGatewayPassword(join(dataDir, 'gateways.json'), 'city-ops', undefined, 'consumer');
    const city = await mqtt.connectAsync(t.mqttUrl, { clientId: 'city-ops', username: 'city-ops', password: consumerPw, protocolVersion: 4, reconnectPeriod: 0 });
    const republished: AlertEvent[] = [];
    city.on('message', (_topic, payload) => republished.push(JSON.parse(String(payload)) as AlertEvent));
    await city.subscribeAsync(`quantrac/alerts/${STATION}`, { qos: 1 });

    const gw = await t.connectGateway('gw-river');
    await publishLevel(gw, 1, 0, 9.0);
    await publishLevel(gw, 2, 5, 9.6); // level I (9.5 m)
    const opened = await waitEvent(officer.messages, 'opened');
    expect(opened.alert).toMatchObject({ stationId: STATION, state: 'active', level: { key: 'I', severity: 'moderate' } });
    await publishLevel(gw, 3, 10, 10.6); // level II (10.5 m)
    const escalated = await waitEvent(officer.messages, 'escalated');
    expect(escalated.alert.id).toBe(opened.alert.id);
    expect(escalated.alert.level.key).toBe('II');
    if (escalated.type === 'escalated') expect(escalated.from.key).toBe('I');

    // Webhooks: both events, each signed over its exact body; a changed body does not verify.
    const signed = await eventually(async () => {
      const mine = hooks.filter((h) => h.body.event.alert.id === opened.alert.id);
      return mine.length >= 2 ? mine : undefined;
    }, 15_000, 'two webhooks');
    expect(signed.map((h) => h.body.event.type)).toEqual(expect.arrayContaining(['opened', 'escalated']));
    expect(signed.every((h) => h.verified && !h.tamperedVerified)).toBe(true);

    // MQTT republish for other city systems.
    await eventually(async () => (republished.some((e) => e.type === 'escalated' && e.alert.id === opened.alert.id) ? true : undefined), 10_000, 'the escalation on MQTT');
    await city.endAsync();

    // Acknowledgement through the API shows on the officer's socket, with who and the note.
    const ack = await fetch(`${t.httpUrl}/api/alerts/${encodeURIComponent(opened.alert.id)}/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${officerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'Đã báo Ban chỉ huy PCTT' }),
    });
    expect(ack.status).toBe(200);
    const acked = await waitEvent(officer.messages, 'acknowledged');
    expect(acked.alert).toMatchObject({ id: opened.alert.id, acknowledged: { by: 'lan', note: 'Đã báo Ban chỉ huy PCTT' } });
    // The officer's action is in the audit trail, beside the rules in force at start.
    const audit = await eventually(async () => {
      const events = (await createAuditLog(join(dataDir, 'audit.jsonl')).read()).map((e) => `${e.actor} ${e.action} ${e.subject}`);
      return events.includes(`lan alert.acknowledge ${opened.alert.id}`) ? events : undefined;
    }, 5000, 'the acknowledgement in the audit log');
    expect(audit.some((e) => e.startsWith('system alert.rules.load'))).toBe(true);

    // Operators see each delivery's outcome.
    const operatorToken = await login('minh', 'operator-pw');
    const deliveries = await eventually(async () => {
      const res = await fetch(`${t!.httpUrl}/api/alerts/${encodeURIComponent(opened.alert.id)}/deliveries`, { headers: { authorization: `Bearer ${operatorToken}` } });
      const body = (await res.json()) as { deliveries: DeliveryRecord[] };
      return body.deliveries.filter((d) => d.status === 'delivered').length >= 3 ? body.deliveries : undefined;
    }, 15_000, 'three delivered webhooks');
    expect(deliveries.every((d) => d.url === webhookUrl && d.attempts >= 1)).toBe(true);

    // Restart the whole server on the same data folder and database.
    officer.ws.close();
    await t.stop();
    t = await start();
    const again = await officerSocket(await login('lan', 'officer-pw'));
    const first = again.messages[0]!;
    const restored = first.type === 'snapshot' ? first.alerts.find((a: Alert) => a.ruleId === RULE) : undefined;
    expect(restored).toMatchObject({ id: opened.alert.id, state: 'active', level: { key: 'II' }, acknowledged: { by: 'lan' } });

    // The water falls below level I's clear threshold and stays there for the 30 min debounce.
    const gw2 = await t.connectGateway('gw-river');
    await publishLevel(gw2, 4, 15, 10.7);
    await publishLevel(gw2, 5, 20, 9.0);
    await publishLevel(gw2, 6, 55, 9.0);
    const cleared = await waitEvent(again.messages, 'cleared');
    expect(cleared.alert).toMatchObject({ id: opened.alert.id, state: 'cleared', peakLevel: { key: 'II' } });
    expect(eventsOf(again.messages).filter((e) => e.type === 'opened')).toEqual([]);

    const publicView = (await (await fetch(`${t.httpUrl}/api/alerts/public`)).json()) as { alerts: Alert[] };
    expect(publicView.alerts.find((a) => a.ruleId === RULE)).toBeUndefined();
    again.ws.close();
  });
});
