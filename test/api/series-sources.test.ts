// Series that pick their source, against a real server and InfluxDB: a year of hourly readings,
// rolled up; long spans are answered from the rollups (still answered once the raw data is gone),
// short ones from raw readings, with the same figures; the raw range cap stays for raw spans only.
// Also: readings published over MQTT reach the rollups through the running server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadingsResponseSchema, StationAqiResponseSchema } from '../../contracts/api.ts';
import { DAY_MS, HOUR_MS, hanoiDayStart, hourStart } from '../../contracts/rollups.ts';
import { rebuildRollups } from '../../ingest/rollups/rebuild.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { createInfluxHttp, type InfluxHttp } from '../../ingest/influx/influx-http.ts';
import { parseConfig } from '../../server/config.ts';
import { influxTargets } from '../../server/influx-targets.ts';
import { eventually, influxRows, influxUrl } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { writePoints } from './fixtures.ts';

let t: TestQuantrac;
let raw: InfluxHttp;
let rollups: InfluxHttp;
const nowMs = Date.now();
const lastHour = hourStart(nowMs);
const yearAgo = lastHour - 365 * DAY_MS;
const pm25At = (ts: number) => 20 + ((ts / HOUR_MS) % 24) * 2 + ((ts / DAY_MS) % 7);

const series = async (path: string) => {
  const res = await fetch(`${t.httpUrl}${path}`);
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return ReadingsResponseSchema.parse(await res.json());
};

beforeAll(async () => {
  t = await startTestQuantrac({ API_CACHE_TTL_MS: '0', API_MAX_RANGE_DAYS: '7', API_MAX_POINTS: '10000', ROLLUP_FLUSH_INTERVAL_MS: '600000' });
  const targets = influxTargets(parseConfig({ INFLUX_URL: influxUrl(), INFLUX_DATABASE: t.database }));
  raw = createInfluxHttp(targets.raw);
  rollups = createInfluxHttp(targets.rollups);
  await raw.ensureDatabase();
  const lines: string[] = [];
  for (let ts = yearAgo; ts < lastHour; ts += HOUR_MS) lines.push(`air,station=air-002,district=x,ward=y pm25=${pm25At(ts)},pm10=50 ${ts + 60_000}`);
  await writePoints(t.database, lines); // straight into InfluxDB (older than ingest accepts)
  await rebuildRollups({ registry: loadRegistry(), raw, rollups, fromMs: yearAgo, toMs: nowMs, stationIds: ['air-002'] });
}, 300_000);
afterAll(async () => t?.stop());

describe('series sources', () => {
  it('answers a 1-year daily series from the daily rollups with the figures of the raw data', async () => {
    const daily = await series(`/api/stations/air-002/readings?from=${yearAgo}&to=${lastHour}&every=1d`);
    expect(daily.source).toBe('daily');
    const raw = await influxRows(t.database, `SELECT mean(pm25) AS m, count(pm25) AS c, max(pm25) AS x FROM air WHERE "station" = 'air-002' AND time >= ${hanoiDayStart(yearAgo)}ms AND time < ${lastHour}ms GROUP BY time(1d, -7h) fill(none)`);
    expect(daily.buckets.length).toBe(raw.length);
    expect(daily.buckets.length).toBeGreaterThanOrEqual(365);
    daily.buckets.forEach((b, i) => {
      expect(Date.parse(b.ts)).toBe(raw[i]!.time);
      expect(b.values.pm25?.count).toBe(raw[i]!.c);
      expect(b.values.pm25?.mean as number).toBeCloseTo(raw[i]!.m as number, 9);
      expect(b.values.pm25?.max).toBe(raw[i]!.x);
    });
    // The same request forced onto raw data is refused: a year is past the raw range cap.
    expect((await fetch(`${t.httpUrl}/api/stations/air-002/readings?from=${yearAgo}&to=${lastHour}&every=1d&source=raw`)).status).toBe(400);
  });

  it('picks raw data for short spans and fine intervals, hourly rollups for long hourly series, daily for months', async () => {
    expect((await series(`/api/stations/air-002/readings?from=${lastHour - DAY_MS}&to=${lastHour}&every=1h`)).source).toBe('raw');
    expect((await series(`/api/stations/air-002/readings?from=${lastHour - 6 * DAY_MS}&to=${lastHour}&every=10m`)).source).toBe('raw');
    const hourly = await series(`/api/stations/air-002/readings?from=${lastHour - 30 * DAY_MS}&to=${lastHour}&every=6h`);
    expect(hourly.source).toBe('hourly');
    expect(hourly.buckets.reduce((n, b) => n + (b.values.pm25?.count ?? 0), 0)).toBe(30 * 24);
    const monthly = await series(`/api/stations/air-002/readings?from=${yearAgo}&to=${lastHour}&every=1mo`);
    expect(monthly.source).toBe('daily');
    expect(monthly.buckets.length).toBeGreaterThanOrEqual(12);
    expect(monthly.buckets.reduce((n, b) => n + (b.values.pm25?.count ?? 0), 0)).toBe(365 * 24);
    for (const b of monthly.buckets) expect(new Date(Date.parse(b.ts) + 7 * HOUR_MS).getUTCDate()).toBe(1); // Hanoi month starts
    const long = await fetch(`${t.httpUrl}/api/stations/air-002/readings?from=${lastHour - 30 * DAY_MS}&to=${lastHour}&every=5m`);
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({ error: 'RANGE_TOO_LARGE' });
    // A year by default gets whole-hour buckets from the rollups, not a refusal.
    expect((await series(`/api/stations/air-002/readings?from=${yearAgo}&to=${lastHour}`)).source).toBe('hourly');
  });

  it('serves AQI history and exports past the raw range from the rollups', async () => {
    const res = await fetch(`${t.httpUrl}/api/stations/air-002/aqi?period=daily&from=${yearAgo}&to=${lastHour}`);
    expect(res.status).toBe(200);
    const aqi = StationAqiResponseSchema.parse(await res.json());
    expect(aqi.source).toBe('rollups');
    expect(aqi.points.filter((p) => p.aqi !== null).length).toBeGreaterThanOrEqual(364);
    const hourly = StationAqiResponseSchema.parse(await (await fetch(`${t.httpUrl}/api/stations/air-002/aqi?from=${lastHour - 30 * DAY_MS}&to=${lastHour}`)).json());
    expect(hourly.source).toBe('rollups');
    // A day of hourly AQI from raw readings equals the stored hourly AQI of the same hours.
    const fromRaw = StationAqiResponseSchema.parse(await (await fetch(`${t.httpUrl}/api/stations/air-002/aqi?from=${lastHour - DAY_MS}&to=${lastHour}`)).json());
    const fromRollups = StationAqiResponseSchema.parse(await (await fetch(`${t.httpUrl}/api/stations/air-002/aqi?from=${lastHour - DAY_MS}&to=${lastHour}&source=rollups`)).json());
    expect(fromRaw.source).toBe('raw');
    expect(fromRollups.points).toEqual(fromRaw.points);

    const csv = await fetch(`${t.httpUrl}/api/export.csv?station=air-002&from=${lastHour - 60 * DAY_MS}&to=${lastHour}`);
    expect(csv.headers.get('x-source')).toBe('hourly');
    const rows = (await csv.text()).trim().split('\n');
    expect(rows[0]).toContain('pm25_mean');
    expect(rows.length - 1).toBe(60 * 24);
  });

  it('stores the hourly and daily AQI on both scales as computed from raw readings', async () => {
    const aqi = async (query: string) => {
      const res = await fetch(`${t.httpUrl}/api/stations/air-002/aqi?${query}`);
      expect(res.status, `${query}: ${await res.clone().text()}`).toBe(200);
      return StationAqiResponseSchema.parse(await res.json());
    };
    const settledDay = hanoiDayStart(lastHour); // whole Hanoi days only: today's index is still open
    for (const scale of ['vn', 'us'] as const) {
      for (const [period, from, to] of [['hourly', lastHour - 2 * DAY_MS, lastHour], ['daily', settledDay - 20 * DAY_MS, settledDay]] as const) {
        const fromRaw = await aqi(`period=${period}&scale=${scale}&from=${from}&to=${to}&source=raw`);
        const fromRollups = await aqi(`period=${period}&scale=${scale}&from=${from}&to=${to}&source=rollups`);
        expect([fromRaw.source, fromRollups.source]).toEqual(['raw', 'rollups']);
        expect(fromRollups.points.filter((p) => p.aqi !== null).length, `${scale} ${period}`).toBeGreaterThanOrEqual(period === 'hourly' ? 40 : 20);
        expect(fromRollups.points, `${scale} ${period}`).toEqual(fromRaw.points);
      }
    }
  });

  it('keeps answering rollup-backed spans once the raw readings are gone', async () => {
    const settled = lastHour - 2 * HOUR_MS; // before the fresh edge, which is read from raw readings
    const before = await series(`/api/stations/air-002/readings?from=${yearAgo}&to=${settled}&every=7d`);
    expect(before.buckets.reduce((n, b) => n + (b.values.pm25?.count ?? 0), 0)).toBe(365 * 24 - 2);
    await raw.command(`DROP SERIES FROM "air" WHERE "station" = 'air-002'`);
    const dropped = await influxRows(t.database, `SELECT count(pm25) FROM "autogen"."air" WHERE "station" = 'air-002'`);
    expect(dropped).toHaveLength(0);
    expect(await series(`/api/stations/air-002/readings?from=${yearAgo}&to=${settled}&every=7d`)).toEqual(before);
    expect((await series(`/api/stations/air-002/readings?from=${lastHour - DAY_MS}&to=${lastHour}&every=1h`)).buckets).toEqual([]);
  });

  it('rolls up readings published over MQTT once the writer has stored them', async () => {
    const client = await t.connectGateway('gw-air-01');
    const ts = Date.now() - 1000;
    await client.publishAsync('sensors/air-001/reading', JSON.stringify({ ts, values: { pm25: 33.5, pm10: 50 } }), { qos: 1 });
    await client.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: ts + 1, values: { pm25: 36.5, pm10: 52 } }), { qos: 1 });
    await t.q.rollupsFlushed();
    const hour = await eventually(async () => (await influxRows(t.database, `SELECT * FROM "rollups"."air_1h" WHERE "station" = 'air-001'`))[0], 10_000, 'air-001 hourly rollup');
    expect(hour.time).toBe(hourStart(ts));
    expect(hour.pm25_count).toBe(2);
    expect(hour.pm25_mean).toBe(35);
    const day = (await influxRows(t.database, `SELECT * FROM "rollups"."air_1d" WHERE "station" = 'air-001'`))[0]!;
    expect(day.time).toBe(hanoiDayStart(ts));
    expect(day.pm25_count).toBe(2);
  });
});
