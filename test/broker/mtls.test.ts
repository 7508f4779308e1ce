// TLS-only operation (MQTT_PLAIN=off) and client-certificate authentication per gateway (mTLS),
// with real TLS clients: openssl makes a server CA, a client CA and gateway certificates; a
// certificate bound with `npm run gateways -- bind-cert` authenticates its gateway (no password),
// the gateway's password is refused from then on, and unbound or foreign certificates get nowhere.
import { execFileSync } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindCertificate } from '../../broker/credential-admin.ts';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { freePort } from '../../ops/local-influxd.ts';
import { parseConfig } from '../../server/config.ts';
import { eventually, influxRows } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
const file = (name: string) => join(dir, name);
const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A CA, and a certificate signed by it. */
function makeCa(name: string): void {
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
}
function makeCert(name: string, ca: string, cn: string, ext?: string): void {
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  const extArgs = ext ? (writeFileSync(file(`${name}.cnf`), ext), ['-extfile', `${name}.cnf`]) : [];
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...extArgs);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'quantrac-mtls-'));
  makeCa('server-ca');
  makeCert('server', 'server-ca', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\n');
  makeCa('client-ca');
  makeCert('gw-air-01', 'client-ca', 'gw-air-01');
  makeCert('gw-air-03', 'client-ca', 'gw-air-03'); // signed by the client CA, bound to no one
  makeCa('rogue-ca');
  makeCert('rogue', 'rogue-ca', 'gw-air-01'); // right name, wrong CA
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tlsEnv = () => ({ MQTT_TLS_PORT: '0', TLS_CERT_FILE: file('server.pem'), TLS_KEY_FILE: file('server.key') });

/** CONNACK return code of a TLS connection (0 = accepted), or `handshake` when it closed without a CONNACK. */
async function connack(url: string, opts: { clientId: string; username?: string; password?: string; cert?: string }): Promise<number | 'handshake'> {
  const c = mqtt.connect(url, {
    clientId: opts.clientId,
    ...(opts.username ? { username: opts.username, password: opts.password } : {}),
    ...(opts.cert ? { cert: readFileSync(file(`${opts.cert}.pem`)), key: readFileSync(file(`${opts.cert}.key`)) } : {}),
    ca: readFileSync(file('server-ca.pem')),
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  const result = await new Promise<number | 'handshake'>((resolve) => {
    c.once('connect', () => resolve(0));
    c.once('error', (err) => {
      const code = (err as { code?: number | string }).code;
      resolve(typeof code === 'number' ? code : 'handshake');
    });
    c.once('close', () => resolve('handshake'));
  });
  await c.endAsync(true);
  return result;
}

describe('TLS only (MQTT_PLAIN=off)', () => {
  it('is refused at start without certificate files', () => {
    expect(() => parseConfig({ MQTT_PLAIN: 'off' })).toThrow(/MQTT_PLAIN: off needs TLS_CERT_FILE/);
    expect(() => parseConfig({ MQTT_TLS_CLIENT_CERT: 'optional', ...tlsEnv() })).toThrow(/MQTT_TLS_CLIENT_CA_FILE: required/);
  });

  it('opens no plain listener; the advertised MQTT address is the TLS one', async () => {
    const plainPort = await freePort();
    const t = await startTestQuantrac({ ...tlsEnv(), MQTT_PLAIN: 'off', MQTT_PORT: String(plainPort) });
    try {
      expect(t.q.urls().mqtt).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
      const refused = await new Promise<string>((resolve) => {
        const s = tcpConnect({ host: '127.0.0.1', port: plainPort }, () => (s.destroy(), resolve('connected')));
        s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
      const password = await setGatewayPassword(t.q.config.credentialsPath, 'gw-air-02');
      expect(await connack(t.q.urls().mqtt, { clientId: 'gw-air-02', username: 'gw-air-02', password })).toBe(0);
    } finally {
      await t.stop();
    }
  });
});

describe('client certificates per gateway (MQTT_TLS_CLIENT_CERT)', () => {
  let t: TestQuantrac;
  let url: string;
  let oldPassword: string;
  let otherPassword: string;
  beforeAll(async () => {
    t = await startTestQuantrac({ ...tlsEnv(), MQTT_TLS_CLIENT_CERT: 'optional', MQTT_TLS_CLIENT_CA_FILE: file('client-ca.pem') });
    url = t.q.urls().mqtts!;
    oldPassword = await setGatewayPassword(t.q.config.credentialsPath, 'gw-air-01');
    otherPassword = await setGatewayPassword(t.q.config.credentialsPath, 'gw-air-02');
    await setGatewayPassword(t.q.config.credentialsPath, 'gw-air-03');
    // As an operator binds it: the CLI, on the server's DATA_DIR.
    execFileSync(process.execPath, [join(root, 'ops/gateways.ts'), 'bind-cert', 'gw-air-01', file('gw-air-01.pem')], {
      env: { ...process.env, DATA_DIR: t.dataDir, NATS_URL: '' },
      stdio: 'pipe',
    });
  });
  afterAll(async () => t?.stop());

  it('authenticates a gateway by its bound certificate, without a password; its reading lands', async () => {
    const client = await mqtt.connectAsync(url, {
      clientId: 'gw-air-01',
      cert: readFileSync(file('gw-air-01.pem')),
      key: readFileSync(file('gw-air-01.key')),
      ca: readFileSync(file('server-ca.pem')),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await client.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: Date.now() - 1000, seq: 7, values: { pm25: 17 } }), { qos: 1 });
    await client.endAsync();
    await eventually(async () => {
      const rows = await influxRows(t.database, `SELECT "pm25" FROM "air" WHERE "station" = 'air-001'`);
      return rows.length === 1 ? rows : undefined;
    });
  });

  it('refuses the bound gateway\'s password, and its certificate under another client id', async () => {
    expect(await connack(url, { clientId: 'gw-air-01', username: 'gw-air-01', password: oldPassword })).toBe(4);
    expect(await connack(url, { clientId: 'gw-air-02', cert: 'gw-air-01' })).toBe(4);
    expect(await connack(url, { clientId: 'gw-air-01', username: 'gw-air-02', password: otherPassword, cert: 'gw-air-01' })).toBe(5); // user ≠ the cert's gateway: password path, client id mismatch
  });

  it('gets nowhere with a certificate bound to no one, or from another CA', async () => {
    expect(await connack(url, { clientId: 'gw-air-03', cert: 'gw-air-03' })).toBe(4);
    expect(await connack(url, { clientId: 'gw-air-01', cert: 'rogue' })).toBe(5); // not verified: anonymous
  });

  it('ends a password session when a certificate is bound to its gateway, which then connects by certificate', async () => {
    const password = await setGatewayPassword(t.q.config.credentialsPath, 'gw-air-03');
    const session = await mqtt.connectAsync(url, { clientId: 'gw-air-03', username: 'gw-air-03', password, ca: readFileSync(file('server-ca.pem')), protocolVersion: 4, reconnectPeriod: 0 });
    const closed = new Promise<void>((r) => session.once('close', () => r()));
    await bindCertificate({ credentialsPath: t.q.config.credentialsPath, audit: createAuditLog(join(t.dataDir, 'audit.jsonl')), actor: 'operator' }, 'gw-air-03', readFileSync(file('gw-air-03.pem')));
    await closed; // the broker's credential watcher ends it (within credentialsCheckMs)
    await session.endAsync(true);
    expect(await connack(url, { clientId: 'gw-air-03', username: 'gw-air-03', password })).toBe(4);
    expect(await connack(url, { clientId: 'gw-air-03', cert: 'gw-air-03' })).toBe(0);
  });

  it('keeps password authentication for gateways without a bound certificate', async () => {
    expect(await connack(url, { clientId: 'gw-air-02', username: 'gw-air-02', password: otherPassword })).toBe(0);
  });
});

describe('MQTT_TLS_CLIENT_CERT=required', () => {
  it('fails the TLS handshake of a client without a certificate from the client CA', async () => {
    const t = await startTestQuantrac({ ...tlsEnv(), MQTT_TLS_CLIENT_CERT: 'required', MQTT_TLS_CLIENT_CA_FILE: file('client-ca.pem') });
    try {
      const url = t.q.urls().mqtts!;
      const password = await setGatewayPassword(t.q.config.credentialsPath, 'gw-air-02');
      expect(await connack(url, { clientId: 'gw-air-02', username: 'gw-air-02', password })).toBe('handshake');
      expect(await connack(url, { clientId: 'gw-air-01', cert: 'rogue' })).toBe('handshake');
      expect(await connack(url, { clientId: 'gw-air-02', username: 'gw-air-02', password, cert: 'gw-air-03' })).toBe(0); // CA-signed, then its password
    } finally {
      await t.stop();
    }
  });
});
