// Manual validation end to end on a real server and a real InfluxDB: an officer marks an hour of
// PM2.5 invalid → it leaves the AQI, the series and the rollups → the export marks it → the mark is
// undone → everything is back. Public callers are refused; every change is in the audit trail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { StationAqiResponseSchema, ValidationListSchema, ValidationMarkSchema, type ValidationMark } from '../../contracts/api.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { HOUR, MIN, writePoints } from './fixtures.ts';

const STATION = 'air-001';
let t: TestQuantrac;
let officer: string;
let operator: string;
const H = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR; // the faulty hour
const iso = (ms: number) => new Date(ms).toISOString();

const call = (method: string, path: string, token?: string, body?: unknown) =>
  fetch(`${t.httpUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
async function login(user: string, password: string): Promise<string> {
  const res = await call('POST', '/api/auth/login', undefined, { user, password });
  return ((await res.json()) as { token: string }).token;
}
async function hourlyAqiAtH(): Promise<number | undefined> {
  const res = await call('GET', `/api/stations/${STATION}/aqi?period=hourly&from=${iso(H)}&to=${iso(H + HOUR)}`);
  expect(res.status).toBe(200);
  return StationAqiResponseSchema.parse(await res.json()).points[0]?.aqi?.value;
}
async function pm25MeanAtH(source: 'raw' | 'hourly'): Promise<number | null | undefined> {
  const res = await call('GET', `/api/stations/${STATION}/readings?from=${iso(H - HOUR)}&to=${iso(H + HOUR)}&every=1h&source=${source}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { buckets: { ts: string; values: Record<string, { mean: number | null; count: number }> }[] };
  const b = body.buckets.find((x) => x.ts === iso(H));
  return b?.values.pm25 && b.values.pm25.count > 0 ? b.values.pm25.mean : null;
}
async function exportRows(): Promise<Record<string, string>[]> {
  const res = await call('GET', `/api/export.csv?station=${STATION}&from=${iso(H - HOUR)}&to=${iso(H + HOUR)}`);
  expect(res.status).toBe(200);
  const [head, ...lines] = (await res.text()).trim().split('\n');
  const cols = head!.split(',');
  // Cells here hold no commas except a quoted validation list; split on commas outside quotes.
  return lines.map((l) => Object.fromEntries((l.match(/("[^"]*"|[^,]*)(,|$)/g) ?? []).map((c, i) => [cols[i], c.replace(/,$/, '').replace(/^"|"$/g, '')])));
}
const audit = () => readFileSync(join(t.dataDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { actor: string; action: string; subject: string; detail?: Record<string, unknown> });

beforeAll(async () => {
  t = await startTestQuantrac();
  await t.q.influx.ensureDatabase();
  await setUser(join(t.dataDir, 'users.json'), 'lan', 'officer', 'officer-pw');
  await setUser(join(t.dataDir, 'users.json'), 'minh', 'operator', 'operator-pw');
  [officer, operator] = await Promise.all([login('lan', 'officer-pw'), login('minh', 'operator-pw')]);
  // PM2.5 at 20 µg/m³ for 11 hours, then an hour at 200 (a fouled inlet), 4 readings an hour.
  const lines: string[] = [];
  for (let h = H - 11 * HOUR; h <= H; h += HOUR) for (let i = 0; i < 4; i++) lines.push(`air,station=${STATION} pm25=${h === H ? 200 : 20},no2=40 ${h + 5 * MIN + i * 15 * MIN}`);
  // air-003: 20 µg/m³ two and one hours ago, then 200 in the last half hour (for the map snapshot).
  const now = Date.now();
  for (const [ago, v] of [[150, 20], [90, 20], [20, 200], [5, 200]] as const) lines.push(`air,station=air-003 pm25=${v} ${now - ago * MIN}`);
  await writePoints(t.database, lines);
  await t.q.nowView.rebuild(t.q.influx); // the fixture went straight to InfluxDB, past the ingest stream
});
afterAll(async () => t?.stop());

async function mapFeature(id: string): Promise<{ aqi: { value: number } | null; latest: { values: Record<string, number>; excluded?: string[] } | null }> {
  const res = await call('GET', '/api/snapshot/air');
  expect(res.status).toBe(200);
  const body = (await res.json()) as { features: { id: string; properties: { aqi: { value: number } | null; latest: { values: Record<string, number>; excluded?: string[] } | null } }[] };
  return body.features.find((f) => f.id === id)!.properties;
}

describe('manual validation on the map snapshot', () => {
  it('lists the excluded parameter on the latest reading and leaves it out of the AQI, until undone', async () => {
    const before = await mapFeature('air-003');
    expect(before.aqi?.value).toBeGreaterThan(150);
    expect(before.latest?.excluded).toBeUndefined();
    const now = Date.now();
    const m = ValidationMarkSchema.parse(await (await call('POST', '/api/stations/air-003/validations', officer, { parameter: 'pm25', from: iso(now - 40 * MIN), to: iso(now), reason: 'sensor swapped, not yet calibrated' })).json());
    const after = await mapFeature('air-003');
    expect(after.latest).toMatchObject({ values: { pm25: 200 }, excluded: ['pm25'] });
    expect(after.aqi?.value).toBe(40); // c₁ left out: NowCast of the two 20 µg/m³ hours
    expect(await (await call('GET', '/api/stations/air-003/latest')).json()).toMatchObject({ latest: { values: { pm25: 200 }, excluded: ['pm25'] } });
    expect((await call('DELETE', `/api/stations/air-003/validations/${m.id}`, officer, {})).status).toBe(200);
    expect((await mapFeature('air-003')).aqi?.value).toBe(before.aqi?.value);
  });
});

describe('manual validation', () => {
  it('is documented in the OpenAPI document (from contracts/api.ts)', async () => {
    const doc = (await (await call('GET', '/openapi.json')).json()) as { paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown>; requestBody?: unknown }>> };
    const marks = doc.paths['/api/stations/{id}/validations'];
    expect(marks?.post?.responses).toHaveProperty('201');
    expect(marks?.post?.security).toEqual([{ bearer: [] }]);
    expect(marks?.post?.requestBody).toBeDefined();
    expect(marks?.get?.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/stations/{id}/validations/{markId}']?.delete).toBeDefined();
  });

  let mark: ValidationMark;
  let before: number | undefined;

  it('refuses public callers (401) and accepts officers and operators', async () => {
    const body = { parameter: 'pm25', from: iso(H), to: iso(H + HOUR), reason: 'inlet fouled, filter replaced' };
    expect((await call('POST', `/api/stations/${STATION}/validations`, undefined, body)).status).toBe(401);
    expect((await call('GET', `/api/stations/${STATION}/validations`)).status).toBe(401);
    expect((await call('DELETE', `/api/stations/${STATION}/validations/x`)).status).toBe(401);
    expect((await call('GET', `/api/stations/${STATION}/validations`, operator)).status).toBe(200);
    expect((await call('POST', `/api/stations/${STATION}/validations`, officer, { ...body, parameter: 'level_m' })).status).toBe(400);
    expect((await call('POST', `/api/stations/${STATION}/validations`, officer, { ...body, reason: '' })).status).toBe(400);
    expect((await call('POST', `/api/stations/${STATION}/validations`, officer, { ...body, to: iso(H - HOUR) })).status).toBe(400);
  });

  it('marks the hour invalid: it leaves the AQI, the series and the rollups, and the export marks it', async () => {
    before = await hourlyAqiAtH();
    expect(before).toBeGreaterThan(150); // NowCast dominated by the 200 µg/m³ hour
    expect(await pm25MeanAtH('raw')).toBeCloseTo(200, 6);

    const res = await call('POST', `/api/stations/${STATION}/validations`, officer, { parameter: 'pm25', from: iso(H), to: iso(H + HOUR), reason: 'inlet fouled, filter replaced' });
    expect(res.status).toBe(201);
    mark = ValidationMarkSchema.parse(await res.json());
    expect(mark).toMatchObject({ station: STATION, parameter: 'pm25', status: 'invalid', by: 'lan', from: iso(H), to: iso(H + HOUR) });

    // c₁ excluded, c₂ and c₃ present: NowCast of the 20 µg/m³ hours → VN_AQI 40.
    expect(await hourlyAqiAtH()).toBe(40);
    expect(await pm25MeanAtH('raw')).toBeNull();
    await t.q.rollupsFlushed();
    expect(await pm25MeanAtH('hourly')).toBeNull();

    const rows = await exportRows();
    const inH = rows.filter((r) => Date.parse(r.time!) >= H);
    expect(inH).toHaveLength(4);
    for (const r of inH) expect(r).toMatchObject({ pm25: '200', validation: 'pm25:invalid' });
    for (const r of rows.filter((x) => Date.parse(x.time!) < H)) expect(r.validation).toBe('');

    const list = ValidationListSchema.parse(await (await call('GET', `/api/stations/${STATION}/validations`, officer)).json());
    expect(list.invalid).toEqual({ pm25: [{ from: iso(H), to: iso(H + HOUR) }] });
    expect(audit()).toContainEqual(expect.objectContaining({ actor: 'lan', action: 'validation.invalidate', subject: `${STATION}/pm25`, detail: expect.objectContaining({ id: mark.id, reason: 'inlet fouled, filter replaced' }) }));
  });

  it('a later "valid" mark re-admits part of a range', async () => {
    const wide = ValidationMarkSchema.parse(await (await call('POST', `/api/stations/${STATION}/validations`, operator, { parameter: 'no2', from: iso(H - 2 * HOUR), to: iso(H + HOUR), reason: 'zero drift suspected' })).json());
    await call('POST', `/api/stations/${STATION}/validations`, officer, { parameter: 'no2', from: iso(H - 2 * HOUR), to: iso(H), status: 'valid', reason: 'drift check passed for these hours' });
    const list = ValidationListSchema.parse(await (await call('GET', `/api/stations/${STATION}/validations?parameter=no2`, officer)).json());
    expect(list.invalid).toEqual({ no2: [{ from: iso(H), to: iso(H + HOUR) }] });
    expect((await call('DELETE', `/api/stations/${STATION}/validations/${wide.id}`, operator, {})).status).toBe(200);
  });

  it('undo: the mark is revoked (kept on record), and AQI, series, rollups and export are back', async () => {
    const res = await call('DELETE', `/api/stations/${STATION}/validations/${mark.id}`, officer, { reason: 'wrong hour' });
    expect(res.status).toBe(200);
    expect(ValidationMarkSchema.parse(await res.json())).toMatchObject({ id: mark.id, revokedBy: 'lan', revokeReason: 'wrong hour' });
    expect((await call('DELETE', `/api/stations/${STATION}/validations/${mark.id}`, officer, {})).status).toBe(404);

    expect(await hourlyAqiAtH()).toBe(before);
    expect(await pm25MeanAtH('raw')).toBeCloseTo(200, 6);
    await t.q.rollupsFlushed();
    expect(await pm25MeanAtH('hourly')).toBeCloseTo(200, 6);
    for (const r of await exportRows()) expect(r.validation).toBe('');

    expect(audit()).toContainEqual(expect.objectContaining({ actor: 'lan', action: 'validation.revoke', subject: `${STATION}/pm25` }));
    const file = JSON.parse(readFileSync(join(t.dataDir, 'validations.json'), 'utf8')) as { version: number; marks: ValidationMark[] };
    expect(file.version).toBe(1);
    expect(file.marks.find((m) => m.id === mark.id)).toMatchObject({ revokedBy: 'lan' });
    const all = ValidationListSchema.parse(await (await call('GET', `/api/stations/${STATION}/validations?includeRevoked=true`, officer)).json());
    expect(all.marks.map((m) => m.id)).toContain(mark.id);
    expect(all.invalid).toEqual({});
  });
});
