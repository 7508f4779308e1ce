// The PROXY protocol on the edge's listener: the parser (v1, v2, partial, bad input), and a real
// HAProxy 2.6 (send-proxy-v2) in front of a real broker whose per-address connection limit then
// counts each gateway's own address, not the balancer's.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../broker/create-broker.ts';
import { parseProxyHeader, ProxyProtocolError, V2_SIGNATURE } from '../../broker/limits/proxy-protocol.ts';
import { freePort } from '../../ops/local-influxd.ts';
import { startLocalHaproxy, type LocalHaproxy } from '../../ops/local-haproxy.ts';
import { startTestBroker } from '../support/test-broker.ts';

describe('parseProxyHeader', () => {
  it('reads v1 TCP4/TCP6 lines and UNKNOWN, waiting for the whole line', () => {
    const line = Buffer.from('PROXY TCP4 192.0.2.7 10.0.0.1 51234 1883\r\n\x10\x0c');
    expect(parseProxyHeader(line)).toEqual({ address: '192.0.2.7', port: 51234, headerBytes: line.length - 2 });
    expect(parseProxyHeader(line.subarray(0, 20))).toBeUndefined();
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 4000 1883\r\n'))).toMatchObject({ address: '2001:db8::1', port: 4000 });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toEqual({ address: undefined, port: undefined, headerBytes: 15 });
  });

  it('reads v2 PROXY (IPv4, IPv6) and LOCAL headers, with TLVs skipped', () => {
    const v4 = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x00, 0x10, 198, 51, 100, 9, 10, 0, 0, 1, 0xc8, 0x01, 0x07, 0x5b]), Buffer.from([0x04, 0x00, 0x01, 0x00])]);
    expect(parseProxyHeader(v4)).toEqual({ address: '198.51.100.9', port: 0xc801, headerBytes: 32 });
    expect(parseProxyHeader(v4.subarray(0, 20))).toBeUndefined();
    const v6addr = Buffer.alloc(36);
    v6addr.writeUInt16BE(0x2001, 0);
    v6addr.writeUInt16BE(0x0db8, 2);
    v6addr.writeUInt16BE(0x0001, 14);
    v6addr.writeUInt16BE(4000, 32);
    const v6 = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x21, 0x00, 36]), v6addr]);
    expect(parseProxyHeader(v6)).toMatchObject({ address: '2001:db8:0:0:0:0:0:1', port: 4000 });
    const local = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
    expect(parseProxyHeader(local)).toEqual({ address: undefined, port: undefined, headerBytes: 16 });
  });

  it('refuses a connection that does not start with a header (plain MQTT, garbage, bad lines)', () => {
    expect(() => parseProxyHeader(Buffer.from([0x10, 0x0c, 0x00, 0x04]))).toThrow(ProxyProtocolError);
    expect(() => parseProxyHeader(Buffer.from('PROXY TCP4 a b c d e f\r\n'))).toThrow(ProxyProtocolError);
    expect(() => parseProxyHeader(Buffer.from(`PROXY TCP4 ${'9'.repeat(120)}`))).toThrow(/too long/);
    expect(() => parseProxyHeader(Buffer.concat([V2_SIGNATURE, Buffer.from([0x31, 0x11, 0, 0])]))).toThrow(/version/);
  });
});

/** An MQTT 3.1.1 CONNECT (clean session, anonymous) [MQTT-3.1]. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, id.length]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** Connects from `localAddress` through the balancer; resolves with whether a CONNACK 0 came back. */
function mqttConnectFrom(port: number, localAddress: string, clientId: string): Promise<{ accepted: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ port, host: '127.0.0.1', localAddress });
    const timer = setTimeout(() => resolve({ accepted: false, socket }), 3000);
    socket.once('connect', () => socket.write(connectPacket(clientId)));
    socket.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve({ accepted: d[0] === 0x20 && d[3] === 0, socket });
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ accepted: false, socket });
    });
    socket.on('error', () => undefined);
  });
}

describe('behind HAProxy (send-proxy-v2)', () => {
  let broker: Broker;
  let haproxy: LocalHaproxy;
  let dir: string;
  const refused: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quantrac-haproxy-'));
    broker = await startTestBroker(
      { allowAnonymous: true, addressLimits: { maxConnections: 2, burst: 1000, windowMs: 10_000, banMs: 1000 }, proxyProtocol: true },
      { onRefused: (what, reason) => refused.push(`${what}:${reason}`) },
    );
    haproxy = await startLocalHaproxy({ dir, bindHost: '127.0.0.1', port: await freePort(), edges: [{ name: 'e1', host: '127.0.0.1', port: broker.port() }] });
  });

  afterAll(async () => {
    await haproxy?.stop();
    await broker?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('limits connections per gateway address, not per balancer address', async () => {
    const a1 = await mqttConnectFrom(haproxy.port, '127.0.0.2', 'a1');
    const a2 = await mqttConnectFrom(haproxy.port, '127.0.0.2', 'a2');
    const a3 = await mqttConnectFrom(haproxy.port, '127.0.0.2', 'a3');
    const b1 = await mqttConnectFrom(haproxy.port, '127.0.0.3', 'b1');
    const b2 = await mqttConnectFrom(haproxy.port, '127.0.0.3', 'b2');
    expect([a1, a2, a3, b1, b2].map((c) => c.accepted)).toEqual([true, true, false, true, true]);
    expect(refused).toContain('connect:too_many_connections');
    for (const c of [a1, a2, a3, b1, b2]) c.socket.destroy();
  });

  it('refuses a direct connection that skips the balancer (no PROXY header)', async () => {
    const direct = await mqttConnectFrom(broker.port(), '127.0.0.4', 'd1');
    expect(direct.accepted).toBe(false);
    expect(refused).toContain('connect:proxy_header');
  });
});
