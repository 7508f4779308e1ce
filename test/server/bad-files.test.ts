// Hand-edited files never take the server down: a malformed gateways.json or users.json leaves the
// last good version in force (connected gateways stay, new ones still connect, officers still log
// in and their tokens still verify, /ws/officer still admits), and the problem is logged, counted in
// /metrics and shown in /readyz (degraded, HTTP 200) until the file is good again.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { OFFICER_WS_PROTOCOL } from '../../contracts/alerts-api.ts';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
beforeAll(async () => {
  t = await startTestQuantrac({ METRICS_TOKEN });
  await setUser(join(t.dataDir, 'users.json'), 'lan', 'officer', 'correct horse battery');
});
afterAll(async () => t?.stop());

const login = (user: string, password: string) =>
  fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
const readyz = async () => {
  const res = await fetch(`${t.httpUrl}/readyz`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
};
const metric = async (name: string, labels: string) => {
  const text = await (await fetch(`${t.httpUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('gateways.json edited into invalid JSON', () => {
  it('keeps the broker up with the last good credentials', async () => {
    const client = await t.connectGateway('gw-air-01');
    const path = join(t.dataDir, 'gateways.json');
    const good = readFileSync(path, 'utf8');
    const newcomer = await setGatewayPassword(path, 'gw-air-02');
    const connectNewcomer = () => mqtt.connectAsync(t.mqttUrl, { clientId: 'gw-air-02', username: 'gw-air-02', password: newcomer, protocolVersion: 4, reconnectPeriod: 0 });
    await (await connectNewcomer()).endAsync(); // this version of the file is now the last good one
    writeFileSync(path, `${readFileSync(path, 'utf8').slice(0, -10)} ,,oops`); // a hand edit gone wrong
    // The revocation watcher re-reads the file within a second; before the fix its JSON.parse threw
    // inside setInterval and ended the process.
    await eventually(async () => ((await readyz()).body.checks['gateways-file'] !== 'ok' ? true : undefined), 5000, 'gateways-file problem in /readyz');
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('degraded');
    expect(r.body.checks['gateways-file']).toMatch(/gateways\.json is not usable.*last good version/);
    expect(await metric('quantrac_file_read_errors_total', 'file="gateways.json"')).toBe(1);
    expect(client.connected).toBe(true);
    await client.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: Date.now(), values: { pm25: 12 } }), { qos: 1 });
    const other = await connectNewcomer();
    expect(other.connected).toBe(true);
    await other.endAsync();
    writeFileSync(path, good);
    await eventually(async () => ((await readyz()).body.checks['gateways-file'] === 'ok' ? true : undefined), 5000, 'gateways-file ok again');
  });
});

describe('users.json edited into a file its schema refuses', () => {
  it('keeps logins, tokens and /ws/officer working with the last good accounts', async () => {
    const ok = await login('lan', 'correct horse battery');
    expect(ok.status).toBe(200);
    const { token } = (await ok.json()) as { token: string };
    const path = join(t.dataDir, 'users.json');
    const good = JSON.parse(readFileSync(path, 'utf8')) as { users: Record<string, unknown> };
    writeFileSync(path, JSON.stringify({ version: 1, users: { ...good.users, Thu: good.users.lan } }, null, 2));

    expect((await login('lan', 'correct horse battery')).status).toBe(200);
    expect((await fetch(`${t.httpUrl}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // The first-message path of /ws/officer verifies the token inside a ws listener.
    const ws = new WebSocket(`${t.httpUrl.replace('http', 'ws')}/ws/officer`, [OFFICER_WS_PROTOCOL]);
    const first = new Promise<{ type: string }>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d)) as { type: string }));
      ws.once('close', (code) => reject(new Error(`closed ${code}`)));
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    expect((await first).type).toBe('snapshot');
    ws.close();

    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.checks['users-file']).toMatch(/users\.json is not usable.*users\.Thu/);
    expect(await metric('quantrac_file_read_errors_total', 'file="users.json"')).toBe(1);
    const pub = (await (await fetch(`${t.httpUrl}/readyz`)).json()) as { checks: Record<string, string> };
    expect(pub.checks['users-file']).toBe('degraded'); // the public answer names no file and no reason
    writeFileSync(path, JSON.stringify(good));
    expect((await readyz()).body.checks['users-file']).toBe('ok');
  });
});
