// Reports through the real API and a real InfluxDB, on the hand-checked November 2026 data of
// report-fixtures.ts: each figure as worked out there, from raw readings and from hourly rollups.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportSchema, type Report, type StationReport } from '../../contracts/reports-api.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { writePoints } from './fixtures.ts';
import { airNovember, airNovemberRollups, floodNovember, rainNovember, waterNovember } from './report-fixtures.ts';
import { join } from 'node:path';
import { setUser } from '../../api/auth.ts';
import { influxUrl } from '../support/influx.ts';
import { novDay } from './report-fixtures.ts';
import { buildReport } from '../../api/reports/build-report.ts';
import { createHourlySource } from '../../api/reports/hourly-source.ts';

let t: TestQuantrac;
const report = async (path: string): Promise<Report> => {
  const res = await fetch(`${t.httpUrl}${path}`);
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return ReportSchema.parse(await res.json());
};
const station = (r: Report, id: string): StationReport => r.stations.find((s) => s.id === id)!;

beforeAll(async () => {
  t = await startTestQuantrac({ API_CACHE_TTL_MS: '0' });
  await t.q.influx.ensureDatabase();
  await writePoints(t.database, [...airNovember(), ...rainNovember(), ...floodNovember(), ...waterNovember()]);
  // The rollups of the same air data, for air-002, in the rollup retention policy.
  await fetch(`${influxUrl()}/query`, { method: 'POST', body: new URLSearchParams({ q: `CREATE RETENTION POLICY "rollups" ON "${t.database}" DURATION INF REPLICATION 1` }) });
  const res = await fetch(`${influxUrl()}/write?${new URLSearchParams({ db: t.database, rp: 'rollups', precision: 'ms' })}`, { method: 'POST', body: airNovemberRollups('air-002').join('\n') });
  expect(res.status).toBe(204);
});
afterAll(async () => t?.stop());

describe('station reports (November 2026)', () => {
  it('air: days per VN_AQI category, QCVN 05 exceedances, annual means, completeness', async () => {
    const r = await report('/api/reports/station?id=air-001&period=2026-11');
    expect(r.period).toMatchObject({ kind: 'month', from: '2026-10-31T17:00:00.000Z', to: '2026-11-30T17:00:00.000Z' });
    const air = station(r, 'air-001').air!;
    expect(air.daysByCategory).toEqual({ good: 1, moderate: 1, poor: 3, bad: 0, very_bad: 0, hazardous: 0, insufficient: 25 });
    const ex = (param: string, window: string) => air.exceedances.find((e) => e.param === param && e.window === window);
    expect(ex('no2', '1h')).toMatchObject({ count: 3, evaluated: 24, unit: 'hours', limitUgM3: 200 });
    expect(ex('no2', '24h')).toMatchObject({ count: 0, evaluated: 1 });
    expect(ex('pm25', '24h')).toMatchObject({ count: 1, evaluated: 5, limitUgM3: 45, unit: 'days' });
    expect(ex('pm10', '24h')).toMatchObject({ count: 1, evaluated: 2, limitUgM3: 100 });
    expect(ex('o3', '1h')).toMatchObject({ count: 0, evaluated: 24 });
    expect(ex('o3', '8h')).toMatchObject({ count: 1, evaluated: 1, limitUgM3: 120, unit: 'days' });
    expect(air.annualMeans).toEqual(
      expect.arrayContaining([
        { param: 'pm25', meanUgM3: 27.8, annualLimitUgM3: 25, exceeds: true, complete: false },
        { param: 'pm10', meanUgM3: 80, annualLimitUgM3: 50, exceeds: true, complete: false },
        { param: 'no2', meanUgM3: 75, annualLimitUgM3: 40, exceeds: true, complete: false },
      ]),
    );
    expect(air.completeness.find((c) => c.param === 'pm25')).toEqual({ param: 'pm25', hours: 720, validHours: 131, validHourPct: 18.2, days: 30, validDays: 5, validDayPct: 16.7 });
  });

  it('air from hourly rollups gives the same figures as from raw readings', async () => {
    const raw = station(await report('/api/reports/station?id=air-001&period=2026-11'), 'air-001');
    const rolled = station(await report('/api/reports/station?id=air-002&period=2026-11'), 'air-002');
    expect(rolled.source).toBe('rollups');
    expect(rolled.air).toEqual(raw.air);
  });

  it('rain: total, wettest hour and 24 hours, wet days', async () => {
    const rain = station(await report('/api/reports/station?id=rain-001&period=2026-11'), 'rain-001').rain!;
    expect(rain).toMatchObject({ totalMm: 42, max1h: { mm: 24, at: '2026-11-10T07:00:00.000Z' }, max24h: { mm: 36, at: '2026-11-09T09:00:00.000Z' } });
    expect(rain.months).toEqual([{ month: '2026-11', totalMm: 42, max1h: rain.max1h, max24h: rain.max24h, wetDays: 2 }]);
    expect(rain.completeness[0]).toMatchObject({ validHours: 3, hours: 720 });
  });

  it('flood: hours at or above each level and the peak with its time', async () => {
    const flood = station(await report('/api/reports/station?id=flood-longbien&period=2026-11'), 'flood-longbien').flood!;
    expect(flood.hoursAbove).toEqual({ I: 3, II: 1, III: 0 });
    expect(flood.peak).toEqual({ value: 10.9, unit: 'm', at: '2026-11-14T20:25:00.000Z', level: 'II' });
  });

  it('water: the QCVN 08:2023 class of the month and NH₄⁺ against the health limit', async () => {
    const water = station(await report('/api/reports/station?id=water-001&period=2026-11'), 'water-001').water!;
    expect(water.months).toEqual([
      { month: '2026-11', meansMgL: { ph: 7, do_mgl: 5.5, bod5_mgl: 5, cod_mgl: 12, nh4_mgl: 0.4 }, waterClass: 'B', limiting: ['bod5_mgl', 'cod_mgl', 'do_mgl'], meetsDesignated: true, nh4AboveHealthLimit: true },
    ]);
  });

  it('air over a whole year: the November figures, the annual mean against the annual limit incomplete (131 of 8,760 hours)', async () => {
    const afterYear = Date.UTC(2027, 0, 2); // the year is over: every figure over all of 2026
    const r = await buildReport(t.q.registry, createHourlySource({ influx: t.q.influx }), 'station', 'air-001', '2026', afterYear);
    expect(r.period).toMatchObject({ kind: 'year', from: '2025-12-31T17:00:00.000Z', to: '2026-12-31T17:00:00.000Z' });
    const air = r.stations[0]!.air!;
    expect(air.daysByCategory).toEqual({ good: 1, moderate: 1, poor: 3, bad: 0, very_bad: 0, hazardous: 0, insufficient: 360 });
    expect(air.annualMeans).toEqual(
      expect.arrayContaining([
        { param: 'pm25', meanUgM3: 27.8, annualLimitUgM3: 25, exceeds: true, complete: false },
        { param: 'no2', meanUgM3: 75, annualLimitUgM3: 40, exceeds: true, complete: false },
      ]),
    );
    expect(air.completeness.find((c) => c.param === 'pm25')).toEqual({ param: 'pm25', hours: 8760, validHours: 131, validHourPct: 1.5, days: 365, validDays: 5, validDayPct: 1.4 });
    expect(air.exceedances.find((e) => e.param === 'no2' && e.window === '1h')).toMatchObject({ count: 3, evaluated: 24 });
  });

  it('a year report has the month in its months and the same totals', async () => {
    const r = await report('/api/reports/station?id=rain-001&period=2026');
    const rain = station(r, 'rain-001').rain!;
    expect(r.period.kind).toBe('year');
    expect(rain.totalMm).toBe(42);
    expect(rain.months.map((m) => m.month)).toEqual(['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12']);
    expect(rain.months[10]).toMatchObject({ totalMm: 42, wetDays: 2 });
  });
});

describe('area reports and formats', () => {
  it('ward: worst daily category across its stations and summed exceedances', async () => {
    const r = await report(`/api/reports/ward?id=${encodeURIComponent('Hoàn Kiếm')}&period=2026-11`);
    expect(r.stations.map((s) => s.id).sort()).toEqual(t.q.registry.stations.filter((s) => s.ward === 'Hoàn Kiếm').map((s) => s.id).sort());
    expect(r.summary?.airDaysByCategory).toEqual({ good: 1, moderate: 1, poor: 3, bad: 0, very_bad: 0, hazardous: 0, insufficient: 25 });
    expect(r.summary?.exceedances.find((e) => e.param === 'no2' && e.window === '1h')).toMatchObject({ count: 3, evaluated: 24 });
  });

  it('city report covers every station; CSV has one figure per row', async () => {
    const r = await report('/api/reports/city?period=2026-11');
    expect(r.stations).toHaveLength(t.q.registry.stations.length);
    expect(r.summary?.stations).toBe(t.q.registry.stations.length);
    const res = await fetch(`${t.httpUrl}/api/reports/station?id=air-001&period=2026-11&format=csv`);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain('quantrac-report-station-air-001-2026-11.csv');
    const rows = (await res.text()).trim().split('\r\n');
    expect(rows[0]).toBe('scope,scope_id,period,station,kind,section,item,param,value,unit');
    expect(rows).toContain('station,air-001,2026-11,air-001,air,vn_aqi_days,poor,,3,days');
    expect(rows).toContain('station,air-001,2026-11,air-001,air,exceedances_1h,above_200,no2,3,hours of 24');
    expect(rows).toContain('station,air-001,2026-11,air-001,air,annual_mean,limit_25_incomplete,pm25,27.8,µg/m³');
  });

  it('is open data: served without login to a page of any origin, JSON and CSV', async () => {
    for (const format of ['json', 'csv']) {
      const res = await fetch(`${t.httpUrl}/api/reports/city?period=2026-11&format=${format}`, { headers: { origin: 'https://data.example.org' } });
      expect(res.status, format).toBe(200);
      expect(res.headers.get('access-control-allow-origin'), format).toBe('*');
    }
  });

  it('is documented in OpenAPI with its query and both formats', async () => {
    const doc = (await (await fetch(`${t.httpUrl}/openapi.json`)).json()) as { paths: Record<string, { get: { parameters: { name: string }[]; responses: { 200: { content: object } } } }> };
    const op = doc.paths['/api/reports/{scope}']!.get;
    expect(op.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['scope', 'period', 'format', 'id']));
    expect(Object.keys(op.responses[200].content)).toEqual(['application/json', 'text/csv']);
  });

  it('rejects bad periods, unknown stations and wards, and periods not begun', async () => {
    for (const [path, status, code] of [
      ['/api/reports/station?id=air-001&period=2026-13', 400, 'BAD_QUERY'],
      ['/api/reports/station?id=air-001', 400, 'BAD_QUERY'],
      ['/api/reports/station?period=2026-11', 400, 'BAD_QUERY'],
      ['/api/reports/station?id=nope&period=2026-11', 404, 'STATION_NOT_FOUND'],
      ['/api/reports/ward?id=Atlantis&period=2026-11', 404, 'NOT_FOUND'],
      ['/api/reports/district?period=2026-11', 400, 'BAD_QUERY'],
      ['/api/reports/city?period=2031', 400, 'BAD_QUERY'],
    ] as const) {
      const res = await fetch(`${t.httpUrl}${path}`);
      expect(res.status, path).toBe(status);
      expect(await res.json(), path).toMatchObject({ error: code });
    }
  });
});

describe('officers\' validation marks', () => {
  it('leave the marked values out of a report computed from raw readings, and come back when undone', async () => {
    await setUser(join(t.dataDir, 'users.json'), 'lan', 'officer', 'officer-pw');
    const login = await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'lan', password: 'officer-pw' }) });
    const { token } = (await login.json()) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    // PM2.5 of Nov 2 marked invalid: that day is judged on PM10 alone (120 → VN_AQI 85, moderate) and no PM2.5 24 h exceedance is left.
    const res = await fetch(`${t.httpUrl}/api/stations/air-001/validations`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ parameter: 'pm25', from: new Date(novDay(2)).toISOString(), to: new Date(novDay(3)).toISOString(), reason: 'inlet blocked' }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const mark = (await res.json()) as { id: string };
    const marked = station(await report('/api/reports/station?id=air-001&period=2026-11'), 'air-001').air!;
    expect(marked.daysByCategory).toMatchObject({ good: 1, moderate: 2, poor: 2 });
    expect(marked.exceedances.find((e) => e.param === 'pm25' && e.window === '24h')).toMatchObject({ count: 0, evaluated: 4 });
    expect((await fetch(`${t.httpUrl}/api/stations/air-001/validations/${mark.id}`, { method: 'DELETE', headers: auth })).status).toBe(200);
    const undone = station(await report('/api/reports/station?id=air-001&period=2026-11'), 'air-001').air!;
    expect(undone.daysByCategory).toMatchObject({ good: 1, moderate: 1, poor: 3 });
  });
});
