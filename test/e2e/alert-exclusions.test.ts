// Which readings raise alerts, end to end through the real pipeline (MQTT over TCP in, the officer
// WebSocket and GET /api/alerts out): a value QC flags suspect still opens its flood alert (alerts
// never go silent because of a flag other than fail), while a value that failed QC and the readings
// of a station calibrating (status in the reading) or faulty (status on the gateway's status topic)
// are stored but raise nothing. Each excluded reading is followed by a usable one at the same
// station, so the test knows the excluded one was judged before it looks for its absence.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { setUser } from '../../api/auth.ts';
import type { Alert, AlertEvent } from '../../contracts/alerts.ts';
import { AlertsResponseSchema, type OfficerMessage } from '../../contracts/alerts-api.ts';
import type { LiveReading } from '../../contracts/reading.ts';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const RULE = 'flood-river-level';
const T0 = Date.now() - 2 * 3_600_000; // readings stamped in the recent past, minutes after T0
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-alert-exclusions-'));
// Son Tây's gauge is given a sensor span ending at 13 m, so a 13.6 m value fails QC (gross range 4).
const qcPath = join(dataDir, 'qc.json');
let t: TestQuantrac;
let gw: MqttClient;
let token: string;
const events: AlertEvent[] = [];
let ws: WebSocket;

beforeAll(async () => {
  const qc = JSON.parse(readFileSync(new URL('../../ingest/quality/qc.default.json', import.meta.url), 'utf8')) as { stations: Record<string, unknown> };
  qc.stations = { 'flood-sontay': { level_m: { grossRange: { fail: [-1, 13], suspect: [0, 13] } } } };
  writeFileSync(qcPath, JSON.stringify(qc));
  await setUser(join(dataDir, 'users.json'), 'lan', 'officer', 'officer-pw');
  t = await startTestQuantrac({ DATA_DIR: dataDir, QC_CONFIG_PATH: qcPath, ALERT_TICK_MS: '200' });
  const login = await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'lan', password: 'officer-pw' }) });
  token = ((await login.json()) as { token: string }).token;
  const messages: OfficerMessage[] = [];
  ws = new WebSocket(`${t.httpUrl.replace('http', 'ws')}/ws/officer`, { headers: { authorization: `Bearer ${token}` } });
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as OfficerMessage;
    messages.push(m);
    if (m.type === 'event' && m.event.alert.ruleId === RULE) events.push(m.event);
  });
  await eventually(async () => (messages[0]?.type === 'snapshot' ? true : undefined), 10_000, 'the officer snapshot');
  gw = await t.connectGateway('gw-river');
}, 60_000);

afterAll(async () => {
  ws?.close();
  await t?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function level(station: string, minute: number, levelM: number, status?: string): Promise<void> {
  await gw.publishAsync(`sensors/${station}/reading`, JSON.stringify({ ts: at(minute), values: { level_m: levelM }, ...(status ? { status } : {}) }), { qos: 1 });
}

const stationEvents = (station: string) => events.filter((e) => e.alert.stationId === station);
const opened = (station: string) => eventually(async () => stationEvents(station).find((e) => e.type === 'opened'), 15_000, `an alert opened at ${station} on /ws/officer`);

async function listed(station: string): Promise<Alert[]> {
  const res = await fetch(`${t.httpUrl}/api/alerts?station=${station}&rule=${RULE}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return AlertsResponseSchema.parse(await res.json()).alerts;
}

async function latest(station: string, levelM: number): Promise<LiveReading> {
  return eventually(async () => {
    const r = (await (await fetch(`${t.httpUrl}/api/stations/${station}/latest`)).json()) as { latest: LiveReading | null };
    return r.latest?.values.level_m === levelM ? r.latest : undefined;
  }, 15_000, `${station} at ${levelM} m served`);
}

describe('alerts and quality flags', () => {
  it('a value suspect by rate of change opens the flood alert (Long Biên 9.0 → 9.6 m in 5 min)', async () => {
    await level('flood-longbien', 0, 9.0);
    await level('flood-longbien', 5, 9.6); // 7.2 m/h against 1 m/h: suspect
    const e = await opened('flood-longbien');
    expect(e.alert).toMatchObject({ level: { key: 'I' }, value: 9.6, openedAt: Date.parse(at(5)) });
    expect((await latest('flood-longbien', 9.6)).quality?.level_m).toMatchObject({ flag: 3, tests: { rate_of_change: 3 } });
    expect((await listed('flood-longbien')).map((a) => a.state)).toEqual(['active']);
  });

  it("values an officer marked invalid raise nothing: Long Biên's 12.0 m inside the mark does not escalate its alert", async () => {
    // Follows the case above: Long Biên's level-I alert is active at 9.6 m. The officer marks minutes
    // 20–30 of the gauge invalid (a fouled float), before those readings arrive.
    const res = await fetch(`${t.httpUrl}/api/stations/flood-longbien/validations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ parameter: 'level_m', from: at(20), to: at(30), reason: 'float fouled by debris' }),
    });
    expect(res.status).toBe(201);
    await level('flood-longbien', 25, 12.0); // would escalate to level III
    await level('flood-longbien', 35, 9.7); // outside the mark: judged
    expect((await latest('flood-longbien', 9.7)).values.level_m).toBe(9.7);
    await eventually(async () => ((await listed('flood-longbien'))[0]?.value === 9.7 ? true : undefined), 15_000, 'Long Biên judged at 9.7 m');
    expect(stationEvents('flood-longbien').map((x) => x.alert.value)).not.toContain(12.0);
    expect((await listed('flood-longbien')).map((a) => [a.state, a.peakLevel.key, a.peakValue])).toEqual([['active', 'I', 9.7]]);
  });

  it('a value suspect by gross range opens the flood alert (Trung Hà 17.1 m, above the 16 m operator span)', async () => {
    await level('flood-trungha', 5, 17.1);
    const e = await opened('flood-trungha');
    expect(e.alert).toMatchObject({ level: { key: 'III' }, value: 17.1 });
    expect((await latest('flood-trungha', 17.1)).quality?.level_m).toMatchObject({ flag: 3, tests: { gross_range: 3 } });
  });

  it('a value that failed QC raises nothing; the next good one does (Son Tây)', async () => {
    await level('flood-sontay', 0, 12.3);
    await level('flood-sontay', 5, 13.6); // outside this gauge's sensor span: fail — would be level II
    await level('flood-sontay', 10, 12.5); // level I (12.4 m)
    const e = await opened('flood-sontay');
    expect(e.alert).toMatchObject({ level: { key: 'I' }, value: 12.5, peakValue: 12.5, openedAt: Date.parse(at(10)) });
    expect(stationEvents('flood-sontay').map((x) => x.alert.value)).not.toContain(13.6);
    const [alert] = await listed('flood-sontay');
    expect(alert).toMatchObject({ peakLevel: { key: 'I' }, peakValue: 12.5 });
  });

  it('readings marked calibrating ("01") raise nothing; measuring again, the alert opens (Thượng Cát)', async () => {
    await level('flood-thuongcat', 0, 8.5);
    await level('flood-thuongcat', 5, 11.2, '01'); // would be level III
    expect((await latest('flood-thuongcat', 11.2)).status).toBe('calibrating');
    await level('flood-thuongcat', 10, 9.2); // level I (9.0 m)
    const e = await opened('flood-thuongcat');
    expect(e.alert).toMatchObject({ level: { key: 'I' }, value: 9.2, openedAt: Date.parse(at(10)) });
    expect(stationEvents('flood-thuongcat').map((x) => x.alert.value)).not.toContain(11.2);
    expect((await listed('flood-thuongcat')).map((a) => [a.peakLevel.key, a.peakValue])).toEqual([['I', 9.2]]);
  });

  it('a fault reported on gateways/{id}/status silences the station until it reports measuring (Ba Thá)', async () => {
    await level('flood-batha', 0, 5.0);
    await gw.publishAsync('gateways/gw-river/status', JSON.stringify({ status: 'online', stations: { 'flood-batha': '02' } }), { qos: 1 });
    await level('flood-batha', 5, 7.6); // would be level III
    expect((await latest('flood-batha', 7.6)).status).toBe('fault');
    await gw.publishAsync('gateways/gw-river/status', JSON.stringify({ status: 'online', stations: { 'flood-batha': '00' } }), { qos: 1 });
    await level('flood-batha', 10, 5.6); // level I (5.5 m)
    const e = await opened('flood-batha');
    expect(e.alert).toMatchObject({ level: { key: 'I' }, value: 5.6, openedAt: Date.parse(at(10)) });
    expect(stationEvents('flood-batha').map((x) => x.alert.value)).not.toContain(7.6);
    expect((await listed('flood-batha')).map((a) => [a.peakLevel.key, a.peakValue])).toEqual([['I', 5.6]]);
  });
});
