// Hand-edited files never take the server down: a malformed gateways.json, users.json or
// validations.json leaves the last good version in force (connected gateways stay, new ones still
// connect, officers still log in and their tokens still verify, /ws/officer still admits, officers'
// marks still keep marked values out of alerts), and the problem is logged, counted in /metrics and
// shown in /readyz (degraded, HTTP 200) until the file is good again.
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

describe('validations.json edited into invalid JSON', () => {
  it('keeps judging alerts with the last good marks, serves them, and refuses changes until it is fixed', async () => {
    const { token } = (await (await login('lan', 'correct horse battery')).json()) as { token: string };
    const staff = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const T0 = Date.now() - 2 * 3_600_000;
    const at = (min: number) => new Date(T0 + min * 60_000).toISOString();
    const mark = (from: number, to: number) =>
      fetch(`${t.httpUrl}/api/stations/flood-longbien/validations`, { method: 'POST', headers: staff, body: JSON.stringify({ parameter: 'level_m', from: at(from), to: at(to), status: 'invalid', reason: 'gauge being cleaned' }) });
    expect((await mark(10, 20)).status).toBe(201);
    const path = join(t.dataDir, 'validations.json');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, `${good.slice(0, -20)} ,,oops`);
    // The alerts take the marks again at most a second after the last look (alertExclusion's
    // maxAgeMs): wait that long, so the readings below are judged after the damaged file was read.
    await new Promise((r) => setTimeout(r, 1100));

    // Long Biên above level I (9.5 m): inside the marked range (left out), then after it (judged).
    const gw = await t.connectGateway('gw-river');
    await gw.publishAsync('sensors/flood-longbien/reading', JSON.stringify({ ts: at(15), values: { level_m: 9.8 } }), { qos: 1 });
    await gw.publishAsync('sensors/flood-longbien/reading', JSON.stringify({ ts: at(25), values: { level_m: 9.6 } }), { qos: 1 });
    await gw.endAsync();
    // Before the fix every reading's judgement threw while the file was damaged: no alert at all.
    const alert = await eventually(async () => {
      const res = await fetch(`${t.httpUrl}/api/alerts?station=flood-longbien&rule=flood-river-level`, { headers: staff });
      return ((await res.json()) as { alerts: { openedAt: number }[] }).alerts[0];
    }, 15_000, 'the Long Biên alert');
    expect(alert.openedAt).toBe(T0 + 25 * 60_000); // the marked 9.8 m was still left out

    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.checks['validations-file']).toMatch(/validations\.json is not usable.*last good version/);
    expect(await metric('quantrac_file_read_errors_total', 'file="validations.json"')).toBe(1);
    const listed = await fetch(`${t.httpUrl}/api/stations/flood-longbien/validations`, { headers: staff });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { marks: unknown[] }).marks).toHaveLength(1);
    const refused = await mark(40, 50); // writing now would replace what an operator is repairing
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: 'MARKS_READ_ONLY' });

    writeFileSync(path, good);
    expect((await readyz()).body.checks['validations-file']).toBe('ok');
    expect((await mark(40, 50)).status).toBe(201);
  });
});
