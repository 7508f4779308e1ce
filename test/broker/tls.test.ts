// MQTT over TLS and HTTPS from the same certificate files: a test CA and a server certificate for
// 127.0.0.1 are made with openssl; a client trusting the CA connects and publishes, plain MQTT to
// the TLS port is refused and counted, and the API answers over HTTPS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPacket } from '../../bench/mqtt-bytes.ts';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { eventually, influxRows } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;
let dir: string;

function makeCertificates(at: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: at, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=quantrac test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(at, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quantrac-tls-'));
  makeCertificates(dir);
  t = await startTestQuantrac({ MQTT_TLS_PORT: '0', TLS_CERT_FILE: join(dir, 'server.pem'), TLS_KEY_FILE: join(dir, 'server.key') });
});

afterAll(async () => {
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const refused = async (reason: string) =>
  (await t.q.metrics.brokerRefused.get()).values.find((v) => v.labels.what === 'connect' && v.labels.reason === reason)?.value ?? 0;

describe('TLS', () => {
  it('accepts MQTT over TLS from a client trusting the CA; the reading lands in InfluxDB', async () => {
    const mqtts = t.q.urls().mqtts;
    expect(mqtts).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const password = await setGatewayPassword(t.q.config.credentialsPath, 'gw-air-01');
    const client = await mqtt.connectAsync(mqtts!, {
      clientId: 'gw-air-01',
      username: 'gw-air-01',
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      ca: readFileSync(join(dir, 'ca.pem')),
    });
    await client.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: Date.now() - 1000, seq: 1, values: { pm25: 12 } }), { qos: 1 });
    await client.endAsync();
    await eventually(async () => {
      const rows = await influxRows(t.database, `SELECT "pm25" FROM "air" WHERE "station" = 'air-001'`);
      return rows.length === 1 ? rows : undefined;
    });
  });

  it('refuses plain MQTT on the TLS port: no CONNACK, the connection is closed and counted', async () => {
    const port = Number(new URL(t.q.urls().mqtts!.replace('mqtts:', 'http:')).port);
    const before = await refused('tls_handshake');
    const connect = connectPacket('gw-air-01', 'gw-air-01', 'x');
    const received = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = tcpConnect({ host: '127.0.0.1', port }, () => s.write(connect));
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(received[0]).not.toBe(0x20); // 0x20 would be a CONNACK [MQTT-3.2.1]
    await eventually(async () => ((await refused('tls_handshake')) > before ? true : undefined));
  });

  it('serves the API over HTTPS from the same certificate files', async () => {
    expect(t.httpUrl).toMatch(/^https:/);
    const body = await new Promise<string>((resolve, reject) => {
      request(`${t.httpUrl}/healthz`, { ca: readFileSync(join(dir, 'ca.pem')) }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += String(d)));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(JSON.parse(body)).toEqual({ status: 'ok' });
  });
});
