// Each MQTT packet the broker sends leaves as ONE write syscall: a PUBACK split into pieces waits
// on Nagle and the client's delayed ACK (~40 ms each), which held a gateway that waits for every
// acknowledgement to ~22 readings/s. Counted with strace on the real server process; nothing timed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { mqttPacketsSent, readTrace, startTracedServer } from '../support/syscall-trace.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-writes-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('packets on the wire', () => {
  it('sends every PUBACK to a one-at-a-time publisher in a single write syscall', async () => {
    const password = await setGatewayPassword(join(dataDir, 'gateways.json'), 'gw-air-01');
    const server = await startTracedServer(dataDir, join(dataDir, 'trace.txt'));
    const count = 20;
    try {
      const client = await mqtt.connectAsync(server.mqtt, { clientId: 'gw-air-01', username: 'gw-air-01', password, protocolVersion: 4, reconnectPeriod: 0 });
      for (let seq = 0; seq < count; seq++) {
        const reading = { ts: new Date(Date.now() - (count - seq) * 1000).toISOString(), seq, values: { pm25: 20 + seq, pm10: 40 } };
        await client.publishAsync('sensors/air-001/reading', JSON.stringify(reading), { qos: 1 });
      }
      await client.endAsync();
    } finally {
      await server.stop();
    }
    const trace = readTrace(server.traceFile, dataDir);
    const packets = mqttPacketsSent(trace);
    const pubacks = packets.filter((p) => p.type === 4);
    expect(pubacks).toHaveLength(count);
    expect(pubacks.map((p) => p.writes.length)).toEqual(Array(count).fill(1));
    // ...and no write carried more than its own PUBACK (nothing else was due to this client).
    expect(pubacks.map((p) => p.writes[0]!.bytes.length)).toEqual(Array(count).fill(4));
    // The CONNACK too.
    const connack = packets.find((p) => p.type === 2);
    expect(connack?.writes).toHaveLength(1);
    // Nagle is off on the gateway's connection (listeners.ts says why).
    expect(trace.noDelay.has(connack!.connection)).toBe(true);
  });
});
