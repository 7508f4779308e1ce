// Station status end to end through the real pipeline: a reading marked calibrating (per reading),
// and a fault reported on the gateway's status topic, are stored and marked, shown as such by the
// API and the CSV export, and left out of the AQI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { eventually, influxRows } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const MIN = 60_000;
let t: TestQuantrac;
let gw: MqttClient;
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
const publish = (msAgo: number, values: Record<string, number>, status?: string) =>
  gw.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: iso(msAgo), values, ...(status ? { status } : {}) }), { qos: 1 });
const getJson = async <T>(path: string) => (await (await fetch(`${t.httpUrl}${path}`)).json()) as T;

beforeAll(async () => {
  t = await startTestQuantrac();
  gw = await t.connectGateway('gw-air-01');
});
afterAll(async () => {
  await gw?.endAsync();
  await t?.stop();
});

describe('station status', () => {
  it('a calibrating reading is stored and marked, shown as such, and left out of the AQI', async () => {
    for (const ago of [125, 65, 10]) await publish(ago * MIN, { pm25: 10, pm10: 20 });
    await publish(2 * MIN, { pm25: 900, pm10: 950 }, '01'); // span gas: would be hazardous
    const latest = await eventually(async () => {
      const r = await getJson<{ latest: { status?: string; values: Record<string, number> } | null }>('/api/stations/air-001/latest');
      return r.latest?.values.pm25 === 900 ? r.latest : undefined;
    }, 15_000, 'the calibrating reading');
    expect(latest.status).toBe('calibrating');
    await t.q.flushed();
    const stored = await influxRows(t.database, `SELECT "pm25", "pm25_unusable", "status" FROM "air" WHERE "station" = 'air-001' AND "status" = 1`);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ pm25: null, pm25_unusable: 900, status: 1 });
    // AQI from the measuring readings only: PM2.5 10 µg/m³ is "good" on VN_AQI, never hazardous.
    const snap = await getJson<{ features: { id: string; properties: { aqi: { value: number } | null; latest: { status?: string } | null } }[] }>('/api/snapshot/air');
    const f = snap.features.find((x) => x.id === 'air-001')!;
    expect(f.properties.latest?.status).toBe('calibrating');
    expect(f.properties.aqi?.value).toBeLessThan(50);
    const csv = await (await fetch(`${t.httpUrl}/api/export.csv?station=air-001&from=${Date.now() - 3 * 60 * MIN}&to=${Date.now()}`)).text();
    expect(csv.split('\n').some((l) => l.includes(',calibrating,900,2,950,2,'))).toBe(true);
  });

  it('a fault reported on the gateway status topic marks the station’s next readings until cleared', async () => {
    await gw.publishAsync('gateways/gw-air-01/status', JSON.stringify({ status: 'online', ts: iso(0), stations: { 'air-001': '02' } }), { qos: 1 });
    await publish(MIN, { pm25: 11 });
    await eventually(async () => {
      const r = await getJson<{ latest: { status?: string; values: Record<string, number> } | null }>('/api/stations/air-001/latest');
      return r.latest?.values.pm25 === 11 && r.latest.status === 'fault' ? true : undefined;
    }, 15_000, 'the fault status');
    await gw.publishAsync('gateways/gw-air-01/status', JSON.stringify({ status: 'online', stations: { 'air-001': 'measuring' } }), { qos: 1 });
    await publish(30_000, { pm25: 12 });
    await eventually(async () => {
      const r = await getJson<{ latest: { status?: string; values: Record<string, number> } | null }>('/api/stations/air-001/latest');
      return r.latest?.values.pm25 === 12 && r.latest.status === undefined ? true : undefined;
    }, 15_000, 'measuring again');
  });
});
