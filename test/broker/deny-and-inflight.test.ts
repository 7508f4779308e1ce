// Against the real server (broker on TCP, real InfluxDB), issue #8: with MQTT_DENY_ACTION=disconnect
// a publish outside the ACL closes the publisher's connection, is counted in /metrics and delivered
// to no one, while another gateway's readings keep landing. And MQTT_MAX_INFLIGHT: a client far over
// the bound is held (the broker stops reading its socket: quantrac_broker_inflight_holds_total), never
// has more than the bound inside the pipeline at once (quantrac_broker_inflight_peak), and still has
// every reading acknowledged and stored.
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCredential } from '../../broker/credential-admin.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { eventually, influxRows } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const MAX_INFLIGHT = 5;
let t: TestQuantrac;
let legit: MqttClient;
let seq = 0;
const base = Date.now() - 10 * 60_000;

beforeAll(async () => {
  t = await startTestQuantrac({ MQTT_DENY_ACTION: 'disconnect', MQTT_MAX_INFLIGHT: String(MAX_INFLIGHT) });
  legit = await t.connectGateway('gw-air-01');
});
afterAll(async () => t?.stop());

/** One valid air reading of the legitimate gateway; distinct ts per seq, so no two share a point. */
const legitPublishes = async (): Promise<void> => {
  const n = seq++;
  await legit.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: base + n * 1000, seq: n, values: { pm25: 10 + (n % 7), pm10: 20 + (n % 5) } }), { qos: 1 });
};

/** A sample of /metrics as served over HTTP, 0 when the series is absent. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && want.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Polls until the broker has closed the client's connection (reconnectPeriod 0: it stays closed). */
const closed = (c: MqttClient, what: string) => eventually(async () => (c.connected ? undefined : true), 5_000, what);

/** Rows of air-001 by seq once at least `n` are stored. */
const storedSeqs = (n: number) =>
  eventually(async () => {
    const rows = await influxRows(t.database, `SELECT "seq" FROM "air" WHERE "station" = 'air-001'`);
    return rows.length >= n ? rows.map((r) => Number(r.seq)).sort((a, b) => a - b) : undefined;
  }, 10_000, `${n} air-001 readings in InfluxDB`);

describe('MQTT_DENY_ACTION=disconnect', () => {
  it("disconnects a gateway publishing another gateway's status or a quantrac/ topic, counts it, delivers nothing, and keeps the others flowing", async () => {
    const password = await addCredential({ credentialsPath: t.q.config.credentialsPath, audit: createAuditLog(t.q.config.auditLogPath), actor: 'test' }, 'city-ops', 'consumer');
    const consumer = await mqtt.connectAsync(t.mqttUrl, { clientId: 'city-ops', username: 'city-ops', password, protocolVersion: 4, reconnectPeriod: 0 });
    const seen: string[] = [];
    consumer.on('message', (topic, payload) => seen.push(`${topic} ${String(payload)}`));
    await consumer.subscribeAsync(['gateways/+/status', 'quantrac/alerts/#'], { qos: 1 });

    // The legitimate gateway publishes throughout, not waiting for the refusals.
    const stream = (async () => {
      for (let i = 0; i < 20; i++) await legitPublishes();
    })();

    const rogue = await t.connectGateway('gw-water-01');
    rogue.publish('gateways/gw-air-01/status', 'offline', { qos: 1, retain: true });
    await closed(rogue, 'the spoofing gateway disconnected');
    await eventually(async () => ((await metric('quantrac_broker_refused_total', { what: 'publish', reason: 'not_your_gateway' })) >= 1 ? true : undefined), 10_000, 'not_your_gateway counted');

    const rogue2 = await t.connectGateway('gw-water-01');
    rogue2.publish('quantrac/alerts/air-001', '{"fake":true}', { qos: 1 });
    await closed(rogue2, 'the gateway publishing to quantrac/ disconnected');
    await eventually(async () => ((await metric('quantrac_broker_refused_total', { what: 'publish', reason: 'internal_topic' })) >= 1 ? true : undefined), 10_000, 'internal_topic counted');

    await stream;
    expect(legit.connected).toBe(true);
    // The legitimate gateway's own status arrives; had either refused publish been delivered, the
    // consumer would have it before this one (same broker, in order).
    await legit.publishAsync('gateways/gw-air-01/status', 'online', { qos: 1 });
    await eventually(async () => (seen.includes('gateways/gw-air-01/status online') ? true : undefined), 10_000, 'legit status delivered');
    expect(seen).toEqual(['gateways/gw-air-01/status online']);
    await consumer.endAsync();

    await t.q.flushed();
    expect(await storedSeqs(seq)).toEqual(Array.from({ length: seq }, (_, i) => i));
  });
});

describe('MQTT_MAX_INFLIGHT', () => {
  it('holds a client with many more unacknowledged QoS 1 publishes than the bound, and acknowledges and stores every one', async () => {
    const holdsBefore = await metric('quantrac_broker_inflight_holds_total');
    const first = seq;
    const burst = 40 * MAX_INFLIGHT;
    // All sent without waiting for PUBACKs: up to `burst` unacknowledged at once on the client side.
    const acks = Array.from({ length: burst }, () => legitPublishes());
    await Promise.all(acks);
    expect(await metric('quantrac_broker_inflight_holds_total')).toBeGreaterThan(holdsBefore);
    // The burst reached the bound and never passed it.
    expect(await metric('quantrac_broker_inflight_peak')).toBe(MAX_INFLIGHT);
    expect(legit.connected).toBe(true);

    await t.q.flushed();
    const stored = await storedSeqs(seq);
    expect(stored.filter((s) => s >= first)).toEqual(Array.from({ length: burst }, (_, i) => first + i));
    // The client is released after the burst: a further reading is acknowledged and stored.
    await legitPublishes();
    await t.q.flushed();
    expect((await storedSeqs(seq)).at(-1)).toBe(seq - 1);
  });
});
