// The public HTTP API against a real server and a real InfluxDB: stations (filters, paging,
// GeoJSON), snapshots per kind, AQI series and areas, CSV export, docs, limits and caching.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AqiAreasResponseSchema, SnapshotSchema, StationAqiResponseSchema, StationsGeoJsonSchema, StationsResponseSchema } from '../../contracts/api.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { cityFixture, HOUR, writePoints } from './fixtures.ts';

let t: TestQuantrac;
const nowMs = Date.now();
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.httpUrl}${path}`, { headers });
const json = async <T = Record<string, unknown>>(path: string): Promise<T> => {
  const res = await get(path);
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  return (await res.json()) as T;
};

beforeAll(async () => {
  t = await startTestQuantrac({ API_CACHE_TTL_MS: '60000', API_EXPORT_MAX_ROWS: '50', API_MAX_RANGE_DAYS: '7', API_MAX_POINTS: '2000' });
  await t.q.influx.ensureDatabase();
  await writePoints(t.database, cityFixture(nowMs));
  await t.q.nowView.rebuild(t.q.influx); // the fixture went straight to InfluxDB, past the ingest stream
});
afterAll(async () => t?.stop());

const expectError = async (path: string, status: number, code: string) => {
  const res = await get(path);
  expect(res.status, path).toBe(status);
  expect(await res.json(), path).toMatchObject({ error: code });
};

describe('stations', () => {
  it('filters by kind, ward and former district, with paging', async () => {
    const all = StationsResponseSchema.parse(await json('/api/stations'));
    expect(all.total).toBe(t.q.registry.stations.length);
    expect(all.nextOffset).toBeNull();
    const air = StationsResponseSchema.parse(await json('/api/stations?kind=air&district=Hoàn%20Kiếm'));
    expect(air.stations.length).toBeGreaterThan(0);
    expect(air.stations.every((s) => s.kind === 'air' && s.formerDistrict === 'Hoàn Kiếm')).toBe(true);
    const ward = StationsResponseSchema.parse(await json(`/api/stations?ward=${encodeURIComponent('Hồng Hà')}`));
    expect(ward.stations.map((s) => s.id)).toContain('flood-longbien');
    const p1 = StationsResponseSchema.parse(await json('/api/stations?kind=air&limit=30'));
    const p2 = StationsResponseSchema.parse(await json(`/api/stations?kind=air&limit=30&offset=${p1.nextOffset}`));
    expect(p1.stations).toHaveLength(30);
    expect(p2.stations[0]?.id).not.toBe(p1.stations[0]?.id);
    await expectError('/api/stations?kind=volcano', 400, 'BAD_QUERY');
    await expectError('/api/stations?limit=0', 400, 'BAD_QUERY');
  });

  it('serves GeoJSON points as [lon, lat] with station properties', async () => {
    const res = await get('/api/stations.geojson?kind=flood');
    expect(res.headers.get('content-type')).toContain('application/geo+json');
    const fc = StationsGeoJsonSchema.parse(await res.json());
    const lb = fc.features.find((f) => f.id === 'flood-longbien')!;
    expect(lb.geometry.coordinates).toEqual([105.858, 21.0433]);
    expect(lb.properties).toMatchObject({ kind: 'flood', floodType: 'river' });
  });

  it('keeps /api/stations/:id, /latest and /readings', async () => {
    expect(await json('/api/stations/air-001')).toMatchObject({ id: 'air-001', kind: 'air' });
    expect(await json('/api/stations/street-001/latest')).toMatchObject({ latest: { values: { depth_cm: 15 } } });
    const r = await json<{ buckets: { values: Record<string, { count: number; min: number; max: number }> }[] }>(
      `/api/stations/air-001/readings?from=${nowMs - 12 * HOUR}&to=${nowMs}&every=1h`,
    );
    expect(r.buckets.length).toBeGreaterThanOrEqual(12);
    expect(r.buckets[1]!.values.pm25).toMatchObject({ min: 41, max: 41, count: 12 });
    await expectError('/api/stations/nope/latest', 404, 'STATION_NOT_FOUND');
    await expectError('/api/stations/air-001/readings?every=2w', 400, 'BAD_QUERY');
    await expectError(`/api/stations/air-001/readings?from=${nowMs - 6 * 24 * HOUR}&to=${nowMs}&every=1m`, 400, 'RANGE_TOO_LARGE');
    await expectError(`/api/stations/air-001/readings?from=${nowMs - 30 * 24 * HOUR}&to=${nowMs}&every=1d&source=raw`, 400, 'RANGE_TOO_LARGE');
    await expectError(`/api/stations/air-001/readings?from=${nowMs - 3000 * HOUR}&to=${nowMs}&every=1h`, 400, 'RANGE_TOO_LARGE'); // points cap
  });
});

describe('snapshots', () => {
  it('air: latest, age, staleness and VN_AQI (or US AQI with scale=us)', async () => {
    const snap = SnapshotSchema.parse(await json('/api/snapshot/air'));
    expect(snap.features).toHaveLength(t.q.registry.stations.filter((s) => s.kind === 'air').length);
    const a1 = snap.features.find((f) => f.id === 'air-001')!.properties;
    expect(a1.latest?.values.pm25).toBe(41);
    expect(a1.stale).toBe(false);
    expect(a1.aqi).toMatchObject({ scale: 'VN_AQI', category: 'moderate', dominant: 'pm25', colour: '#ffff00' });
    expect(Math.abs(a1.aqi!.value - 82)).toBeLessThanOrEqual(1);
    const a2 = snap.features.find((f) => f.id === 'air-002')!.properties;
    expect(a2).toMatchObject({ stale: true, aqi: null });
    expect(a2.ageS).toBeGreaterThanOrEqual(7200);
    const a3 = snap.features.find((f) => f.id === 'air-003')!.properties;
    expect(a3).toMatchObject({ latest: null, ageS: null, stale: true, aqi: null });
    const us = SnapshotSchema.parse(await json('/api/snapshot/air?scale=us'));
    const u1 = us.features.find((f) => f.id === 'air-001')!.properties.aqi!;
    expect(u1.scale).toBe('US_AQI');
    expect(Math.abs(u1.value - 115)).toBeLessThanOrEqual(1);
  });

  it('flood: river level state, trend and ETA; street depth', async () => {
    const snap = SnapshotSchema.parse(await json('/api/snapshot/flood'));
    const lb = snap.features.find((f) => f.id === 'flood-longbien')!.properties;
    expect(lb.flood).toMatchObject({ levelM: 10.13, state: 'I', nextLevel: 'II' });
    expect(lb.flood!.trendCmPerH).toBeGreaterThan(30);
    expect(lb.flood!.trendCmPerH).toBeLessThan(40);
    expect(lb.flood!.etaMinutes).toBeGreaterThan(50);
    expect(lb.flood!.etaMinutes).toBeLessThan(90);
    expect(snap.features.find((f) => f.id === 'street-001')!.properties.depthCm).toBe(15);
    expect(snap.features.find((f) => f.id === 'flood-sontay')!.properties.flood).toBeNull();
  });

  it('rain totals over 1 h and 24 h; water latest; unknown kind refused', async () => {
    const rain = SnapshotSchema.parse(await json('/api/snapshot/rain'));
    expect(rain.features.find((f) => f.id === 'rain-001')!.properties).toMatchObject({ rainMm1h: 24, rainMm24h: 48 });
    expect(rain.features.find((f) => f.id === 'rain-002')!.properties).toMatchObject({ rainMm1h: null, latest: null });
    SnapshotSchema.parse(await json('/api/snapshot/water'));
    await expectError('/api/snapshot/fire', 400, 'BAD_QUERY');
    await expectError('/api/snapshot/air?scale=uk', 400, 'BAD_QUERY');
  });

  it('answers with ETag and Cache-Control, 304 on If-None-Match, and one query per refresh', async () => {
    const first = await get('/api/snapshot/water');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect(first.headers.get('cache-control')).toBe('public, max-age=60');
    expect((await get('/api/snapshot/water', { 'if-none-match': etag })).status).toBe(304);
    const queriesBefore = await influxQueryCount();
    const many = await Promise.all(Array.from({ length: 50 }, () => get('/api/snapshot/rain?x=1')));
    expect(many.every((r) => r.status === 200)).toBe(true);
    expect(await influxQueryCount()).toBe(queriesBefore);
  });
});

/** The cached snapshot of each kind was computed already: the operator stats count cache misses. */
async function influxQueryCount(): Promise<number> {
  const { createAuth, loadOrCreateSecret } = await import('../../api/auth.ts');
  const { setUser } = await import('../../api/auth.ts');
  const { join } = await import('node:path');
  await setUser(join(t.dataDir, 'users.json'), 'ops', 'operator', 'pw');
  const auth = createAuth({ usersPath: join(t.dataDir, 'users.json'), secret: loadOrCreateSecret(undefined, join(t.dataDir, 'api-token-secret')), tokenTtlS: 60 });
  const res = await get('/api/ops/stats', { authorization: `Bearer ${auth.issueToken('ops', 'operator')}` });
  return ((await res.json()) as { cache: { misses: number } }).cache.misses;
}

describe('AQI', () => {
  it('hourly and daily series of a station on both scales', async () => {
    const hourly = StationAqiResponseSchema.parse(await json(`/api/stations/air-001/aqi?period=hourly&from=${nowMs - 6 * HOUR}&to=${nowMs}`));
    expect(hourly.scale).toBe('VN_AQI');
    expect(hourly.points.length).toBeGreaterThanOrEqual(6);
    expect(hourly.points.at(-2)!.aqi).toMatchObject({ category: 'moderate', dominant: 'pm25' });
    const daily = StationAqiResponseSchema.parse(await json(`/api/stations/air-001/aqi?period=daily&scale=us&from=${nowMs - 2 * 24 * HOUR}&to=${nowMs}`));
    expect(daily.scale).toBe('US_AQI');
    // The fixture holds 12 hours: EPA rates a day only with 18 of its 24 hours (a full day: aqi-worked-examples.test.ts).
    expect(daily.points.length).toBeGreaterThan(0);
    expect(daily.points.every((p) => p.aqi === null)).toBe(true);
    await expectError('/api/stations/rain-001/aqi', 400, 'BAD_QUERY');
    await expectError('/api/stations/air-001/aqi?period=weekly', 400, 'BAD_QUERY');
    await expectError(`/api/stations/air-001/aqi?from=${nowMs - 30 * 24 * HOUR}&to=${nowMs}&source=raw`, 400, 'RANGE_TOO_LARGE');
    await expectError(`/api/stations/air-001/aqi?from=${nowMs - 3000 * HOUR}&to=${nowMs}`, 400, 'RANGE_TOO_LARGE'); // points cap
  });

  it('per area: the highest station AQI, by former district or ward', async () => {
    const d = AqiAreasResponseSchema.parse(await json('/api/aqi/areas?by=district'));
    expect(d.aggregation).toBe('max');
    expect(d.areas.find((a) => a.area === 'Hoàn Kiếm')).toMatchObject({ worstStation: 'air-001', stationsWithAqi: 1 });
    const w = AqiAreasResponseSchema.parse(await json('/api/aqi/areas?by=ward&scale=us'));
    expect(w.areas.find((a) => a.area === 'Hoàn Kiếm')?.aqi?.scale).toBe('US_AQI');
    await expectError('/api/aqi/areas?by=street', 400, 'BAD_QUERY');
  });
});

describe('export, alerts, docs', () => {
  it('streams CSV with a row cap announced in X-Row-Cap and a trailing comment', async () => {
    const res = await get(`/api/export.csv?station=air-001&from=${nowMs - 12 * HOUR}&to=${nowMs}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('x-row-cap')).toBe('50');
    const lines = (await res.text()).trim().split('\n');
    expect(lines[0]).toBe('time,station,status,pm25,pm25_qc,pm10,pm10_qc,no2,no2_qc,so2,so2_qc,o3,o3_qc,co,co_qc,temp_c,temp_c_qc,rh_pct,rh_pct_qc,qc,validation');
    // A fixture row written without QC fields reads as measuring, each value passed (1), each
    // parameter the reading did not carry missing (9, QARTOD's placeholder).
    expect(lines[1]).toMatch(/^[^,]+,air-001,measuring,41,1,60,1,60,1,,9,43,1,,9,,9,,9,,$/);
    expect(lines).toHaveLength(52);
    expect(lines.at(-1)).toMatch(/^# truncated at 50 rows/);
    const small = await (await get(`/api/export.csv?station=street-001&from=${nowMs - HOUR}&to=${nowMs}`)).text();
    expect(small.trim().split('\n')).toHaveLength(2);
    await expectError('/api/export.csv', 400, 'BAD_QUERY');
    await expectError('/api/export.csv?station=nope', 404, 'STATION_NOT_FOUND');
    await expectError(`/api/export.csv?station=air-001&from=${nowMs - 30 * 24 * HOUR}&source=raw`, 400, 'RANGE_TOO_LARGE');
  });

  it('lists public alerts without officer details', async () => {
    expect(await json('/api/alerts/public')).toMatchObject({ alerts: [] });
  });

  it('publishes the OpenAPI document and Swagger UI, with security headers', async () => {
    const doc = await json<{ openapi: string; paths: Record<string, unknown> }>('/openapi.json');
    expect(doc.openapi).toBe('3.0.3');
    for (const p of ['/api/stations', '/api/stations.geojson', '/api/snapshot/{kind}', '/api/stations/{id}/aqi', '/api/aqi/areas', '/api/alerts/public', '/api/export.csv', '/api/auth/login']) {
      expect(doc.paths, p).toHaveProperty([p]);
    }
    const ui = await get('/docs/');
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
    const page = await get('/');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain('https://tile.openstreetmap.org');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
