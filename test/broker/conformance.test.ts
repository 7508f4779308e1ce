// MQTT 3.1.1 conformance points Aedes 1.x leaves to us, over real TCP: a zero-byte client id with
// CleanSession 0 is refused with CONNACK 0x02 [MQTT-3.1.3-8]; and the development-only open ACL
// (MQTT_ACL=open) that lets standard interoperability suites run, warned about loudly at start.
import { once } from 'node:events';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const servers: TestQuantrac[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

/** CONNECT (protocol level 4) with the given client id and flags, as raw bytes [MQTT-3.1]. */
function connectPacket(clientId: string, clean: boolean): Buffer {
  const id = Buffer.from(clientId);
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, clean ? 0x02 : 0x00, 0, 60]);
  const body = Buffer.concat([variable, Buffer.from([id.length >> 8, id.length & 0xff]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** SUBACK return codes per filter; mqtt.js rejects when any is 0x80, so read them off the packet. */
async function subackCodes(c: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  try {
    return (await c.subscribeAsync(filters)).map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted;
  }
}

/** Sends one CONNECT over TCP; resolves with the bytes received once the server closed, or after `waitMs`. */
async function rawConnect(url: string, packet: Buffer, waitMs = 3000): Promise<{ bytes: Buffer; closed: boolean }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(packet);
  const closed = await Promise.race([once(socket, 'close').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), waitMs))]);
  socket.destroy();
  return { bytes: Buffer.concat(chunks), closed };
}

describe('MQTT 3.1.1 client identifier rules', () => {
  it('refuses a zero-byte client id with CleanSession 0: CONNACK 0x02, then close [MQTT-3.1.3-8]', async () => {
    const s = await startTestQuantrac();
    servers.push(s);
    const r = await rawConnect(s.mqttUrl, connectPacket('', false));
    expect([...r.bytes]).toEqual([0x20, 0x02, 0x00, 0x02]);
    expect(r.closed).toBe(true);
    expect(await (await fetch(`${s.httpUrl}/metrics`)).text()).toContain('quantrac_broker_refused_total{what="connect",reason="empty_client_id_persistent_session"} 1');
  });

  it('accepts a zero-byte client id with CleanSession 1 where anonymous clients are allowed [MQTT-3.1.3-6]', async () => {
    const s = await startTestQuantrac({ MQTT_ALLOW_ANONYMOUS: 'true' });
    servers.push(s);
    expect([...(await rawConnect(s.mqttUrl, connectPacket('', true), 500)).bytes].slice(0, 4)).toEqual([0x20, 0x02, 0x00, 0x00]);
    // ...and still refuses the persistent session without an id, anonymous or not.
    expect([...(await rawConnect(s.mqttUrl, connectPacket('', false))).bytes]).toEqual([0x20, 0x02, 0x00, 0x02]);
  });
});

describe('MQTT_ACL=open (development only)', () => {
  it('lets any client use any topic outside the reserved ones, and warns at start', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const s = await startTestQuantrac({ MQTT_ACL: 'open', MQTT_ALLOW_ANONYMOUS: 'true' }, { log: pino({ level: 'warn' }, sink) });
    servers.push(s);
    expect(lines.some((l) => /"level":40/.test(l) && l.includes('MQTT_ACL=open: DEVELOPMENT ONLY'))).toBe(true);

    // Authenticated gateways, whose strict ACL would refuse all of this (anonymous clients too).
    const sub = await s.connectGateway('gw-air-01');
    const pub = await s.connectGateway('gw-air-02');
    try {
      // Filters of the Eclipse Paho interoperability suite.
      expect(await subackCodes(sub, { 'TopicA/#': { qos: 2 }, '+/+': { qos: 1 }, 'quantrac/#': { qos: 0 }, '$SYS/#': { qos: 0 } })).toEqual([2, 1, 0, 128]); // reserved `$` stays reserved
      const got: string[] = [];
      sub.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
      await pub.publishAsync('quantrac/alerts/x', 'spoof', { qos: 1 }); // reserved: acknowledged, delivered to no one
      await pub.publishAsync('TopicA/B', 'qos2', { qos: 2 });
      await pub.publishAsync('Topic/C', 'qos1', { qos: 1 });
      await eventually(async () => (got.length >= 2 ? true : undefined), 5000, 'the interop messages');
      await pub.publishAsync('TopicA/end', 'last', { qos: 1 }); // ordered after the others on this connection
      await eventually(async () => (got.includes('TopicA/end=last') ? true : undefined), 5000, 'the last message');
      // One copy of TopicA/B although it matches 'TopicA/#' and '+/+' [MQTT-3.3.5-1]; the spoof nowhere.
      expect(got.sort()).toEqual(['Topic/C=qos1', 'TopicA/B=qos2', 'TopicA/end=last']);
    } finally {
      await Promise.all([sub.endAsync(true), pub.endAsync(true)]);
    }
  });

  it('is off by default: the same subscriptions are refused (SUBACK 0x80)', async () => {
    const s = await startTestQuantrac();
    servers.push(s);
    const sub = await s.connectGateway('gw-air-01');
    expect(await subackCodes(sub, { 'TopicA/#': { qos: 2 }, '+/+': { qos: 1 } })).toEqual([128, 128]);
  });
});
