// Against the real server (broker on TCP, real InfluxDB): wrong and revoked credentials, another
// gateway's station, batch and dead-letter topics, a read-only consumer, an oversized packet and a
// connect flood are refused and counted, while a legitimate gateway keeps publishing and every one
// of its readings lands in InfluxDB.
import { metricSum } from '../support/metrics.ts';
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCredential, revokeCredential, rotateCredential } from '../../broker/credential-admin.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { eventually, influxRows } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;
let legit: MqttClient;
let seq = 0;
const sockets: Socket[] = [];
const extraClients: MqttClient[] = [];

beforeAll(async () => {
  t = await startTestQuantrac({
    INGEST_MAX_PAYLOAD_BYTES: '4096',
    MQTT_MAX_PACKET_BYTES: '8192',
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: '20',
    MQTT_CONNECT_BURST: '30',
    MQTT_CONNECT_WINDOW_MS: '60000',
    MQTT_CONNECT_BAN_MS: '60000',
  });
  legit = await t.connectGateway('gw-air-01');
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(extraClients.map((c) => c.endAsync(true).catch(() => undefined)));
  await t?.stop();
});

const admin = () => ({ credentialsPath: t.q.config.credentialsPath, audit: createAuditLog(t.q.config.auditLogPath), actor: 'test' });
const iso = () => new Date(Date.now() - 1000).toISOString();

/** The legitimate gateway publishes one valid reading (QoS 1, acknowledged once durable). */
async function legitPublishes(): Promise<void> {
  await legit.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: Date.now() - 60_000 + seq, seq, values: { pm25: 20, pm10: 30, no2: 10 } }), { qos: 1 });
  seq++;
}

async function refused(what: string, reason: string): Promise<number> {
  const metric = await t.q.metrics.brokerRefused.get();
  return metric.values.find((v) => v.labels.what === what && v.labels.reason === reason)?.value ?? 0;
}
async function rejected(reason: string): Promise<number> {
  return metricSum(t.httpUrl, 'quantrac_readings_rejected_total', { reason });
}
const counted = (what: string, reason: string, atLeast = 1) =>
  eventually(async () => ((await refused(what, reason)) >= atLeast ? true : undefined), 10_000, `${what}/${reason} counted`);

async function connectAs(username: string, password: string, clientId = username): Promise<MqttClient> {
  const c = await mqtt.connectAsync(t.mqttUrl, { clientId, username, password, protocolVersion: 4, reconnectPeriod: 0 });
  extraClients.push(c);
  return c;
}

/** CONNACK return code of a refused connect [MQTT-3.2.2.3]. */
async function connackCode(username: string, password: string): Promise<number | undefined> {
  try {
    const c = await connectAs(username, password);
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

/** SUBACK return codes per filter; mqtt.js rejects when any is 0x80, so read them off the packet. */
async function subackCodes(c: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await c.subscribeAsync(filters, { qos: 0 })).map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted;
  }
}

const closed = (c: MqttClient) => new Promise<void>((resolve) => (c.connected ? c.once('close', () => resolve()) : resolve()));

describe('identity', () => {
  it('refuses a wrong password with CONNACK 4 and counts it', async () => {
    await legitPublishes();
    expect(await connackCode('gw-air-01-x', 'nope')).toBe(4);
    await t.connectGateway('gw-water-01'); // creates a credential
    expect(await connackCode('gw-water-01', 'not-the-password')).toBe(4);
    await counted('connect', 'bad_credentials', 2);
    await legitPublishes();
  });

  it('ends a revoked gateway session, refuses it afterwards, and applies add/rotate without a restart', async () => {
    const rain = await t.connectGateway('gw-rain-01');
    const gone = closed(rain);
    await revokeCredential(admin(), 'gw-rain-01');
    await gone;
    await counted('session', 'credential_revoked');
    const password = await addCredential(admin(), 'gw-rain-01');
    (await connectAs('gw-rain-01', password)).end();
    const rotated = await rotateCredential(admin(), 'gw-rain-01');
    expect(await connackCode('gw-rain-01', password)).toBe(4);
    expect(await connackCode('gw-rain-01', rotated)).toBe(0);
    await revokeCredential(admin(), 'gw-rain-01');
    expect(await connackCode('gw-rain-01', rotated)).toBe(4);
    // Only the credential lines: the audit log also records the alert rules loaded at start.
    const actions = (await createAuditLog(t.q.config.auditLogPath).read()).filter((e) => e.action.startsWith('credential.')).map((e) => `${e.action} ${e.subject}`);
    expect(actions).toEqual(['credential.revoke gw-rain-01', 'credential.add gw-rain-01', 'credential.rotate gw-rain-01', 'credential.revoke gw-rain-01']);
    await legitPublishes();
  });

  it('refuses a client id that is not the gateway id (CONNACK 5)', async () => {
    const password = await addCredential(admin(), 'gw-air-02');
    await expect(connectAs('gw-air-02', password, 'someone-else')).rejects.toMatchObject({ code: 5 });
    await counted('connect', 'client_id_mismatch');
  });
});

describe('topic ACL', () => {
  it("acknowledges and dead-letters gateway A's reading for gateway B's station without storing it", async () => {
    const letters: { reason: string; station?: string }[] = [];
    legit.on('message', (topic, payload) => {
      if (topic === 'gateways/gw-air-01/deadletter') letters.push(JSON.parse(String(payload)) as { reason: string });
    });
    await legit.subscribeAsync('gateways/gw-air-01/deadletter', { qos: 1 });
    await legit.publishAsync('sensors/water-001/reading', JSON.stringify({ ts: iso(), values: { ph: 7 } }), { qos: 1 });
    await counted('publish', 'not_your_station');
    await eventually(async () => (letters.some((l) => l.reason === 'not_authorized' && l.station === 'water-001') ? true : undefined));
    expect(await rejected('not_authorized')).toBeGreaterThanOrEqual(1);
    expect(legit.connected).toBe(true);
    await legitPublishes();
  });

  it("drops a publish to another gateway's batch topic and status topic, and to quantrac/ topics", async () => {
    await legit.publishAsync('gateways/gw-water-01/readings', JSON.stringify([{ station: 'water-001', ts: iso(), values: { ph: 7.2 } }]), { qos: 1 });
    await legit.publishAsync('gateways/gw-water-01/status', 'offline', { qos: 1, retain: true });
    await legit.publishAsync('quantrac/alerts/water-001', '{"fake":true}', { qos: 1 });
    await counted('publish', 'not_your_gateway', 2);
    await counted('publish', 'internal_topic');
    expect(legit.connected).toBe(true);
    await legitPublishes();
    await t.q.flushed();
    expect(await influxRows(t.database, `SELECT * FROM "water" WHERE "station" = 'water-001'`)).toEqual([]);
  });

  it("refuses subscriptions to another gateway's topics (SUBACK 0x80) and keeps the session", async () => {
    expect(await subackCodes(legit, ['gateways/gw-water-01/deadletter', 'sensors/#', '#', '$SYS/#', 'quantrac/alerts/#'])).toEqual([128, 128, 128, 128, 128]);
    await counted('subscribe', 'topic_not_allowed', 4);
    await counted('subscribe', 'sys_topic');
    await legitPublishes();
  });

  it('lets a read-only consumer subscribe to alerts and gateway status but publish nothing', async () => {
    const password = await addCredential(admin(), 'city-ops', 'consumer');
    const consumer = await connectAs('city-ops', password, 'city-ops:dashboard-1');
    expect(await subackCodes(consumer, ['quantrac/alerts/#', 'gateways/+/status', 'gateways/gw-air-01/deadletter'])).toEqual([0, 0, 128]);
    const status: string[] = [];
    consumer.on('message', (topic, payload) => status.push(`${topic} ${String(payload)}`));
    await consumer.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: iso(), values: { pm25: 1 } }), { qos: 1 });
    await counted('publish', 'read_only');
    await legit.publishAsync('gateways/gw-air-01/status', 'online', { qos: 1 });
    await eventually(async () => (status.includes('gateways/gw-air-01/status online') ? true : undefined));
    expect(status.some((s) => s.includes('gw-water-01'))).toBe(false); // the spoofed status was dropped
    await legitPublishes();
  });
});

describe('limits', () => {
  it('closes a connection that announces a packet over MQTT_MAX_PACKET_BYTES', async () => {
    const street = await t.connectGateway('gw-street-01');
    const gone = closed(street);
    street.publish('sensors/street-001/reading', Buffer.alloc(9000, 0x20), { qos: 0 });
    await gone;
    await counted('packet', 'packet_too_large');
    await legitPublishes();
  });

  it('bounds connections per address and bans a connect flood, while other addresses connect', async () => {
    const open = async (): Promise<void> => {
      const s = tcpConnect({ host: '127.0.0.1', port: Number(new URL(t.mqttUrl).port), localAddress: '127.0.0.2' });
      s.on('error', () => undefined);
      sockets.push(s);
      await new Promise<void>((resolve) => {
        s.once('connect', () => resolve());
        s.once('close', () => resolve());
      });
    };
    for (let i = 0; i < 36; i++) await open();
    await counted('connect', 'too_many_connections', 10);
    await counted('connect', 'connect_rate', 1);
    await counted('connect', 'banned', 5);
    // The ban is per address: a gateway from 127.0.0.1 still connects and publishes.
    await t.connectGateway('gw-air-03');
    await legitPublishes();
  });
});

describe('the legitimate gateway', () => {
  it('had every acknowledged reading stored in InfluxDB', async () => {
    expect(legit.connected).toBe(true);
    await t.q.flushed();
    const rows = await eventually(async () => {
      const r = await influxRows(t.database, `SELECT "seq" FROM "air" WHERE "station" = 'air-001'`);
      return r.length >= seq ? r : undefined;
    });
    expect(rows.map((r) => r.seq).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: seq }, (_, i) => i));
  });
});
