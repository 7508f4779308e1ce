// A fleet reconnecting at once (gateways coming back after a restart) must not hold the connected
// gateways' acknowledgements: each gateway login is a scrypt check on libuv's 4-thread pool, where
// the log's fdatasync waits its turn. Seen before the bound: 60 CONNECTs at once held a waiting
// gateway's PUBACK for 2.6 s. The bound is checked here without timing anything: at most
// MQTT_AUTH_HASH_CONCURRENCY checks ran at once, and past MQTT_AUTH_QUEUE_MAX waiting CONNECTs the
// broker answers CONNACK 3 (server unavailable), after which the gateway's retry gets in.
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;
beforeAll(async () => {
  t = await startTestQuantrac({ MQTT_AUTH_HASH_CONCURRENCY: '2', MQTT_AUTH_QUEUE_MAX: '4', MQTT_CONNECT_BURST: '1000' });
});
afterAll(async () => t?.stop());

const connect = (id: string, password: string) =>
  mqtt.connectAsync(t.mqttUrl, { clientId: id, username: id, password, protocolVersion: 4, reconnectPeriod: 0 });

describe('gateway logins at once', () => {
  it('run at most MQTT_AUTH_HASH_CONCURRENCY password checks at once, refuse past the queue with CONNACK 3, and admit the retry', async () => {
    const fleet: Record<string, string> = {};
    for (let i = 0; i < 16; i++) fleet[`gw-fleet-${i}`] = await setGatewayPassword(join(t.dataDir, 'gateways.json'), `gw-fleet-${i}`);
    const results = await Promise.allSettled(Object.entries(fleet).map(([id, pw]) => connect(id, pw)));

    expect(t.q.broker.hashingStats()?.peakRunning).toBe(2);
    const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [[Object.keys(fleet)[i]!, (r.reason as { code?: number }).code] as const] : []));
    expect(refused.length).toBeGreaterThan(0); // 16 at once: 2 checked, 4 waiting, the rest refused
    expect(refused.every(([, code]) => code === 3)).toBe(true);
    // The refused gateways retry (as mqtt.js does after its reconnect period, spread out) and get in.
    const retried: mqtt.MqttClient[] = [];
    for (const [id] of refused) retried.push(await connect(id, fleet[id]!));
    expect(retried.every((c) => c.connected)).toBe(true);
    expect(t.q.broker.hashingStats()?.peakRunning).toBe(2);
    for (const r of results) if (r.status === 'fulfilled') r.value.end(true);
    for (const c of retried) c.end(true);
  });
});
