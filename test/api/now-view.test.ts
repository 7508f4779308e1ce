// The in-memory "now" view (api/now-view.ts) against the InfluxQL snapshot on the same data in a
// real InfluxDB, fed by the stream as well as rebuilt; readings published over MQTT update the
// served snapshot; a restarted server rebuilds it from InfluxDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../contracts/api.ts';
import { PARAMETERS, type StationKind } from '../../contracts/parameters.ts';
import { qualityFromRow, type ParameterQuality } from '../../contracts/quality.ts';
import type { Reading } from '../../contracts/reading.ts';
import { createNowView } from '../../api/now-view.ts';
import { buildSnapshot } from '../../api/snapshot.ts';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { cityFixture, MIN, writePoints } from './fixtures.ts';

const KINDS: readonly StationKind[] = ['air', 'water', 'rain', 'flood'];

/** Edges the city fixture lacks: hour boundaries, gaps, partial pollutants, flags, a future stamp, a merged point. */
function edgeFixture(nowMs: number): string[] {
  const lines: string[] = [];
  // air-003: every 7 min for 13 h with a gap of 3 h (hours 4–6 ago), alternate pollutants, values on the exact hour edges.
  for (let t = nowMs - 13 * HOUR_MS; t <= nowMs; t += 7 * MIN) {
    const ago = (nowMs - t) / HOUR_MS;
    if (ago > 4 && ago < 7) continue;
    const i = Math.round((nowMs - t) / MIN);
    lines.push(`air,station=air-003 pm25=${(20 + (i % 37) * 1.7).toFixed(2)}${i % 2 ? `,pm10=${60 + (i % 23)}` : ',so2=80.5'}${i % 5 === 0 ? ',qc="pm25:spike"' : ''} ${t}`);
  }
  for (const ago of [1, 2, 3]) lines.push(`air,station=air-003 pm25=${100 + ago},o3=${150 + ago} ${nowMs - ago * HOUR_MS}`);
  // air-004: only the last 90 minutes (NowCast needs 2 of the last 3 hours), high values.
  for (let t = nowMs - 90 * MIN; t <= nowMs - MIN; t += 5 * MIN) lines.push(`air,station=air-004 pm25=180,pm10=300,co=12000 ${t}`);
  // air-005: one reading 2 min in the future (stamped ahead) after one in the past.
  lines.push(`air,station=air-005 pm25=12,pm10=20 ${nowMs - 4 * MIN}`, `air,station=air-005 pm25=99,pm10=99 ${nowMs + 2 * MIN}`);
  // rain-003: 25 h of 0.4 mm every 10 min; the hour edge exactly one hour ago.
  for (let t = nowMs - 25 * HOUR_MS; t <= nowMs; t += 10 * MIN) lines.push(`rain,station=rain-003 rain_mm=0.4,interval_s=600 ${t}`);
  // flood-sontay falling, one reading with seq and a stuck flag; water-003 two fields merged from two points.
  for (let i = 0; i < 14; i++) lines.push(`flood,station=flood-sontay level_m=${(13.9 - i * 0.011).toFixed(3)} ${nowMs - 70 * MIN + i * 5 * MIN}`);
  lines.push(`flood,station=flood-sontay level_m=13.75,seq=77i,qc="level_m:stuck" ${nowMs - 30_000}`);
  lines.push(`water,station=water-003 ph=7.1,do_mgl=5.2 ${nowMs - 3 * MIN}`, `water,station=water-003 cod_mgl=12 ${nowMs - 3 * MIN}`);
  lines.push(`flood,station=street-002 depth_cm=42 ${nowMs - 40 * 24 * HOUR_MS}`); // beyond the 30-day lookback
  return lines;
}

/** The same points as readings on the ingest stream (fields only; the stream carries no qc string but a quality map). */
function toReadings(lines: string[]): Reading[] {
  return lines.map((line) => {
    const [head, fields, ts] = line.split(/(?<!\\) /) as [string, string, string];
    const [kind, ...tags] = head.split(',');
    const station = tags.find((t) => t.startsWith('station='))!.slice(8);
    const values: Record<string, number> = {};
    let quality: Record<string, ParameterQuality> | undefined;
    let seq: number | undefined;
    for (const f of fields.split(',')) {
      const [k, v] = f.split('=') as [string, string];
      if (k === 'qc') quality = qualityFromRow({ qc: v.replaceAll('"', '') }, Object.keys(PARAMETERS[kind as StationKind]));
      else if (k === 'seq') seq = Number(v.slice(0, -1));
      else values[k] = Number(v);
    }
    return { stationId: station, kind: kind as StationKind, ts: Number(ts), values, ...(seq === undefined ? {} : { seq }), ...(quality ? { quality } : {}) };
  });
}

/** Floating sums may differ in the last bits between InfluxDB's reducer and ours. */
const rounded = (x: unknown): unknown => JSON.parse(JSON.stringify(x), (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v));

let t: TestQuantrac;
const nowMs = Date.now();
const lines = [...cityFixture(nowMs), ...edgeFixture(nowMs)];

beforeAll(async () => {
  t = await startTestQuantrac({ API_CACHE_TTL_MS: '0' });
  await t.q.influx.ensureDatabase();
  await writePoints(t.database, lines);
});
afterAll(async () => t?.stop());

describe('now-view', () => {
  it('gives the InfluxQL snapshot on the same data, rebuilt from InfluxDB or fed by the stream', async () => {
    const rebuilt = createNowView({ registry: t.q.registry, now: () => nowMs });
    await rebuilt.rebuild(t.q.influx, nowMs);
    const streamed = createNowView({ registry: t.q.registry, now: () => nowMs });
    // Out of order and in two halves, with the first half repeated: order and replays must not matter.
    const readings = toReadings(lines).reverse();
    streamed.onReadings(readings.slice(0, 500));
    streamed.onReadings(readings);
    for (const kind of KINDS) {
      for (const scale of ['vn', 'us'] as const) {
        const reference = rounded(await buildSnapshot(t.q.influx, t.q.registry, kind, scale, nowMs));
        expect(rounded(rebuilt.snapshot(kind, scale, nowMs)), `${kind} ${scale} rebuilt`).toEqual(reference);
        expect(rounded(streamed.snapshot(kind, scale, nowMs)), `${kind} ${scale} streamed`).toEqual(reference);
      }
    }
    // The data set reaches the computed branches (not a comparison of empty features).
    const air = rebuilt.snapshot('air', 'vn', nowMs).features;
    expect(air.find((f) => f.id === 'air-001')?.properties.aqi).toMatchObject({ value: 82, dominant: 'pm25' });
    expect(air.find((f) => f.id === 'air-004')?.properties.aqi?.value).toBeGreaterThan(200);
    expect(air.find((f) => f.id === 'air-005')?.properties.latest?.values).toEqual({ pm25: 12, pm10: 20 });
    const flood = rebuilt.snapshot('flood', 'vn', nowMs).features;
    expect(flood.find((f) => f.id === 'flood-longbien')?.properties.flood).toMatchObject({ state: 'I', nextLevel: 'II' });
    expect(flood.find((f) => f.id === 'flood-sontay')?.properties.flood?.trendCmPerH).toBeLessThan(0);
    expect(flood.find((f) => f.id === 'street-002')?.properties.latest).toBeNull();
    const rain = rebuilt.snapshot('rain', 'vn', nowMs).features.find((f) => f.id === 'rain-003')?.properties;
    expect(rain?.rainMm1h).toBeCloseTo(2.4, 9);
    expect(rain?.rainMm24h).toBeCloseTo(57.6, 9);
    expect(rebuilt.snapshot('water', 'vn', nowMs).features.find((f) => f.id === 'water-003')?.properties.latest?.values).toEqual({ ph: 7.1, do_mgl: 5.2, cod_mgl: 12 });
    expect(rebuilt.latest('flood-sontay')).toMatchObject({ seq: 77, values: { level_m: 13.75 }, quality: { level_m: { flag: 3, tests: { flat_line: 3 } } } }); // a pre-QARTOD 'stuck' reads as flat line, suspect
  });

  it('serves readings published over MQTT in the snapshot and /latest', async () => {
    await eventually(async () => (t.q.nowView.ready() ? true : undefined), 10_000, 'the start-up rebuild');
    const gw = t.q.registry.get('air-090')!.gatewayId;
    const client = await t.connectGateway(gw);
    const base = Date.now() - 150 * MIN;
    for (let i = 0; i < 30; i++) await client.publishAsync('sensors/air-090/reading', JSON.stringify({ ts: base + i * 5 * MIN, seq: i, values: { pm25: 55, pm10: 80 } }), { qos: 1 });
    await t.q.flushed(); // acknowledged once in the log; the view follows the log a moment later
    const latest = (await (await fetch(`${t.httpUrl}/api/stations/air-090/latest`)).json()) as { latest: { seq: number; values: object } };
    expect(latest.latest).toMatchObject({ seq: 29, values: { pm25: 55, pm10: 80 } });
    const snap = (await (await fetch(`${t.httpUrl}/api/snapshot/air`)).json()) as { features: { id: string; properties: { aqi: { value: number } | null; ageS: number } }[] };
    const f = snap.features.find((x) => x.id === 'air-090')!;
    expect(f.properties.aqi?.value).toBe(108); // NowCast of PM2.5 55 µg/m³ → VN_AQI 100 + 50/30 × 5 = 108
    expect(f.properties.ageS).toBeGreaterThanOrEqual(5 * 60);
  });

  it('is rebuilt from InfluxDB when the server restarts', async () => {
    await t.q.flushed();
    const { database, dataDir } = t;
    await t.stop();
    t = await startTestQuantrac({ API_CACHE_TTL_MS: '0', INFLUX_DATABASE: database, DATA_DIR: dataDir });
    await eventually(async () => (t.q.nowView.ready() ? true : undefined), 10_000, 'the rebuild after restart');
    const after = (await (await fetch(`${t.httpUrl}/api/snapshot/air`)).json()) as { features: { id: string; properties: object }[] };
    const before = await buildSnapshot(t.q.influx, t.q.registry, 'air', 'vn');
    const pick = (s: typeof after, id: string) => s.features.find((f) => f.id === id)?.properties as { latest: unknown; aqi: unknown };
    for (const id of ['air-001', 'air-003', 'air-090']) {
      expect(pick(after, id).latest, id).toEqual(pick(before, id).latest);
      expect(pick(after, id).aqi, id).toEqual(pick(before, id).aqi);
    }
    expect(pick(after, 'air-090').aqi).toMatchObject({ value: 108 });
  });
});
