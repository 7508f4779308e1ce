// Upgrade as an operator does it: this version's real server started on a DATA_DIR exactly as
// quantrac 0.1 left it (test/fixtures/formats/v0.1: a spool of line-protocol records, its
// checkpoint, alert snapshot + journal, credentials, accounts) and a real InfluxDB. The log's
// un-drained 0.1 records reach InfluxDB (each once, none lost), 0.1's alerts, accounts and gateway
// credentials serve, and the state it writes from then on carries this version's format versions.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { STATE_FORMAT_VERSION } from '../../ingest/consumers/lane-state.ts';
import { eventually, influxRows, uniqueDatabase } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const FIXTURE = new URL('../fixtures/formats/v0.1/', import.meta.url).pathname;
const passwords = JSON.parse(readFileSync(join(FIXTURE, 'passwords.json'), 'utf8')) as { gateways: Record<string, string>; users: Record<string, string> };
const undrained = readFileSync(join(FIXTURE, 'spool-undrained.txt'), 'utf8').trim().split('\n');
const expectedAlerts = (JSON.parse(readFileSync(join(FIXTURE, 'alerts-expected.json'), 'utf8')) as { id: string; state: string; level: { key: string } }[])
  .map((a) => [a.id, a.state, a.level.key]).sort();

const data = mkdtempSync(join(tmpdir(), 'quantrac-upgrade-'));
cpSync(join(FIXTURE, 'data'), data, { recursive: true });
let server: TestQuantrac | undefined;
afterAll(async () => {
  await server?.stop();
  rmSync(data, { recursive: true, force: true });
});

/** "station seq" of a line-protocol point (the reading's identity). */
const identity = (line: string) => `${/station=([^,\s]+)/.exec(line)![1]} ${/[ ,]seq=(\d+)i/.exec(line)![1]}`;

async function stored(database: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of ['air', 'flood']) {
    for (const r of await influxRows(database, `SELECT "seq", "station" FROM "${m}"`)) out.push(`${String(r.station)} ${String(r.seq)}`);
  }
  return out.sort();
}

describe('upgrade from quantrac 0.1', () => {
  it('the real server on 0.1\'s DATA_DIR delivers the un-drained log, serves 0.1\'s alerts, accounts and credentials', async () => {
    const database = uniqueDatabase('upgrade');
    server = await startTestQuantrac({ DATA_DIR: data, INFLUX_DATABASE: database });
    await server.q.flushed();

    // Every point 0.1 acknowledged and had not written is in InfluxDB, each once. Points of the
    // oldest segment before 0.1's checkpoint may be written again (0.1's checkpoint is not the
    // log's): they were stored already, and rewriting a point overwrites it with itself.
    const wanted = undrained.map(identity);
    const got = await eventually(async () => {
      const s = await stored(database);
      return wanted.every((w) => s.includes(w)) ? s : undefined;
    }, 20_000, 'the un-drained 0.1 points in InfluxDB');
    expect(new Set(got).size).toBe(got.length);
    const rows = await influxRows(database, `SELECT "pm25", "pm10" FROM "air" WHERE "station" = 'air-001' AND "seq" = 40`);
    const last001 = undrained.filter((l) => l.startsWith('air,station=air-001')).at(-1)!;
    expect(last001).toMatch(/seq=40i/);
    expect(rows).toMatchObject([{ time: Number(last001.split(' ').at(-1)), pm25: Number(/pm25=([\d.]+)/.exec(last001)![1]), pm10: Number(/pm10=([\d.]+)/.exec(last001)![1]) }]);

    // 0.1's accounts log in, and see the alerts 0.1 had recovered.
    const login = await fetch(`${server.httpUrl}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'officer.lan', password: passwords.users['officer.lan'] }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const body = (await (await fetch(`${server.httpUrl}/api/alerts`, { headers: { authorization: `Bearer ${token}` } })).json()) as unknown;
    const alerts = (Array.isArray(body) ? body : (body as { alerts: unknown[] }).alerts) as { id: string; state: string; level: { key: string } }[];
    expect(alerts.map((a) => [a.id, a.state, a.level.key]).sort()).toEqual(expectedAlerts);

    // 0.1's gateway credentials: a live one connects, the revoked one is refused.
    const gw = await mqtt.connectAsync(server.mqttUrl, { clientId: 'gw-air-01', username: 'gw-air-01', password: passwords.gateways['gw-air-01'], protocolVersion: 4, reconnectPeriod: 0 });
    expect(gw.connected).toBe(true);
    await gw.endAsync();
    const old = await mqtt.connectAsync(server.mqttUrl, { clientId: 'gw-old', username: 'gw-old', password: 'fixture-revoked-pass', protocolVersion: 4, reconnectPeriod: 0 }).catch((e: unknown) => e);
    expect(old).toBeInstanceOf(Error);

    // What this version writes from now on carries its format versions.
    await server.stop();
    server = undefined;
    const checkpoints = readdirSync(join(data, 'checkpoints')).filter((f) => f.endsWith('.json') && !f.endsWith('.tmp'));
    expect(checkpoints).toEqual(expect.arrayContaining(['store.json', 'now.json']));
    for (const f of checkpoints) expect(JSON.parse(readFileSync(join(data, 'checkpoints', f), 'utf8'))).toMatchObject({ version: STATE_FORMAT_VERSION });
  }, 90_000);
});
