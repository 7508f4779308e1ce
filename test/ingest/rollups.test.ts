// Rollups against a real influxd: equal to the same aggregates computed from the raw data (random
// series, property-style), late readings recompute their hour and day, replays are idempotent,
// invalid and calibrating values are left out, and pending buckets survive a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../contracts/stations.ts';
import { DAY_MS, HOUR_MS, hanoiDayStart } from '../../contracts/rollups.ts';
import { createInfluxHttp, type InfluxHttp } from '../../ingest/influx/influx-http.ts';
import { createRollupConsumer } from '../../ingest/rollups/consumer.ts';
import { createDirtySet } from '../../ingest/rollups/dirty-set.ts';
import { rebuildRollups } from '../../ingest/rollups/rebuild.ts';
import { rollupAqi } from '../../api/rollup-queries.ts';
import { influxRows, influxUrl, uniqueDatabase } from '../support/influx.ts';

const registry = loadRegistry();
// A Hanoi day well in the past, so every AQI hour it feeds is "before now".
const DAY0 = hanoiDayStart(Date.UTC(2026, 9, 10, 5));

function targets(database: string) {
  const base = { url: influxUrl(), api: 'v1' as const, database, timeoutMs: 10_000, retentionPolicies: [{ name: 'autogen', durationHours: 0, isDefault: true }, { name: 'rollups', durationHours: 0 }] };
  return { raw: createInfluxHttp({ ...base, retentionPolicy: 'autogen' }), rollups: createInfluxHttp({ ...base, retentionPolicy: 'rollups' }) };
}

async function fresh(): Promise<{ db: string; raw: InfluxHttp; rollups: InfluxHttp }> {
  const db = uniqueDatabase('rollup');
  const t = targets(db);
  await t.raw.ensureDatabase();
  return { db, ...t };
}

const rollupRows = (db: string, m: string, station: string) => influxRows(db, `SELECT * FROM "rollups"."${m}" WHERE "station" = '${station}' ORDER BY time`);

interface Sample { ts: number; pm25: number; pm10: number; fail: boolean; calibrating: boolean }

/** JS reference: mean/min/max/count of the values the rollups must keep, per bucket start. */
function reference(samples: Sample[], param: 'pm25' | 'pm10', bucket: (ts: number) => number) {
  const out = new Map<number, { mean: number; min: number; max: number; count: number }>();
  const acc = new Map<number, number[]>();
  for (const s of samples) {
    if (s.calibrating || (param === 'pm25' && s.fail)) continue;
    const b = bucket(s.ts);
    acc.set(b, [...(acc.get(b) ?? []), s[param]]);
  }
  for (const [b, xs] of acc) out.set(b, { mean: xs.reduce((a, c) => a + c, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs), count: xs.length });
  return out;
}

function lineOf(s: Sample): string {
  const fields = [`pm25=${s.pm25}`, `pm10=${s.pm10}`];
  if (s.fail) fields.push('qc="pm25:fail"');
  if (s.calibrating) fields.push('status="calibrating"');
  return `air,station=air-001,district=x,ward=y ${fields.join(',')} ${s.ts}`;
}

describe('rollups', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'quantrac-rollups-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('equal the aggregates of the raw data, hourly and daily, leaving out failed and calibrating values (random series)', async () => {
    const sample = fc.record({
      offsetMs: fc.integer({ min: -10 * HOUR_MS, max: 2 * DAY_MS - 1 }),
      pm25: fc.double({ min: 0, max: 500, noNaN: true }).map((v) => Math.round(v * 100) / 100),
      pm10: fc.double({ min: 0, max: 800, noNaN: true }).map((v) => Math.round(v * 100) / 100),
      fail: fc.constantFrom(false, false, true),
      calibrating: fc.constantFrom(false, false, false, false, false, false, false, true),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(sample, { minLength: 1, maxLength: 300, selector: (s) => s.offsetMs }), async (drawn) => {
        const { db, raw, rollups } = await fresh();
        const samples: Sample[] = drawn.map((d) => ({ ts: DAY0 + d.offsetMs, pm25: d.pm25, pm10: d.pm10, fail: d.fail, calibrating: d.calibrating }));
        await raw.write(samples.map(lineOf).join('\n'));
        const consumer = createRollupConsumer({ registry, raw, rollups });
        await consumer.onReadings(samples.map((s) => ({ stationId: 'air-001', ts: s.ts })));
        await consumer.flush();
        expect(consumer.pending()).toBe(0);

        for (const [period, bucket] of [['1h', (ts: number) => Math.floor(ts / HOUR_MS) * HOUR_MS], ['1d', hanoiDayStart]] as const) {
          const stored = new Map((await rollupRows(db, `air_${period}`, 'air-001')).map((r) => [r.time as number, r]));
          for (const param of ['pm25', 'pm10'] as const) {
            const want = reference(samples, param, bucket);
            for (const [b, w] of want) {
              const got = stored.get(b);
              expect(got, `${period} ${param} bucket ${new Date(b).toISOString()}`).toBeDefined();
              expect(got![`${param}_count`]).toBe(w.count);
              expect(got![`${param}_mean`]).toBeCloseTo(w.mean, 6);
              expect(got![`${param}_min`]).toBe(w.min);
              expect(got![`${param}_max`]).toBe(w.max);
              expect(got![`${param}_coverage`]).toBeCloseTo(Math.min(1, w.count / (period === '1h' ? 60 : 1440)), 9);
            }
            // No rollup claims values in a bucket where every value was left out.
            for (const [b, row] of stored) if (!want.has(b) && row[`${param}_count`] !== undefined) expect(row[`${param}_count`]).toBe(0);
          }
        }
        // InfluxQL over the raw rows agrees for pm10 where nothing was left out (an independent aggregator).
        if (!samples.some((s) => s.calibrating)) {
          const q = await influxRows(db, `SELECT mean(pm10) AS m, count(pm10) AS c, max(pm10) AS x FROM "autogen"."air" WHERE time >= ${DAY0 - DAY_MS}ms AND time < ${DAY0 + 2 * DAY_MS}ms GROUP BY time(1d, -7h) fill(none)`);
          const stored = new Map((await rollupRows(db, 'air_1d', 'air-001')).map((r) => [r.time as number, r]));
          for (const r of q) {
            expect(stored.get(r.time as number)?.pm10_count).toBe(r.c);
            expect(stored.get(r.time as number)?.pm10_mean as number).toBeCloseTo(r.m as number, 6);
            expect(stored.get(r.time as number)?.pm10_max).toBe(r.x);
          }
        }
      }),
      { numRuns: 4 },
    );
  });

  it('recomputes the hour, the day and the AQI a late reading touches; a replay changes nothing', async () => {
    const { db, raw, rollups } = await fresh();
    const consumer = createRollupConsumer({ registry, raw, rollups });
    const lines: string[] = [];
    const marks: { stationId: string; ts: number }[] = [];
    for (let t = DAY0 + 2 * HOUR_MS; t < DAY0 + 8 * HOUR_MS; t += 5 * 60_000) {
      lines.push(`air,station=air-001,district=x,ward=y pm25=40,pm10=60 ${t}`);
      marks.push({ stationId: 'air-001', ts: t });
    }
    await raw.write(lines.join('\n'));
    await consumer.onReadings(marks);
    await consumer.flush();
    const before = await rollupRows(db, 'air_1h', 'air-001');
    const dayBefore = (await rollupRows(db, 'air_1d', 'air-001'))[0]!;
    const aqiBefore = new Map((await rollupRows(db, 'aqi_1h', 'air-001')).map((r) => [r.time as number, r.vn]));
    expect(before.find((r) => r.time === DAY0 + 5 * HOUR_MS)?.pm25_mean).toBe(40);

    // A late reading inside hour 5, stored later: its hour, its day and the AQI from hour 5 on change.
    const late = DAY0 + 5 * HOUR_MS + 61_000;
    await raw.write(`air,station=air-001,district=x,ward=y pm25=400,pm10=60 ${late}`);
    await consumer.onReadings([{ stationId: 'air-001', ts: late }]);
    const stats = await consumer.flush();
    expect(stats.hours).toBe(1);
    const hour5 = (await rollupRows(db, 'air_1h', 'air-001')).find((r) => r.time === DAY0 + 5 * HOUR_MS)!;
    expect(hour5.pm25_count).toBe(13);
    expect(hour5.pm25_max).toBe(400);
    expect(hour5.pm25_mean).toBeCloseTo((12 * 40 + 400) / 13, 9);
    const day = (await rollupRows(db, 'air_1d', 'air-001'))[0]!;
    expect(day.pm25_count).toBe((dayBefore.pm25_count as number) + 1);
    expect(day.pm25_max).toBe(400);
    const aqiAfter = new Map((await rollupRows(db, 'aqi_1h', 'air-001')).map((r) => [r.time as number, r.vn]));
    expect(aqiAfter.get(DAY0 + 4 * HOUR_MS)).toBe(aqiBefore.get(DAY0 + 4 * HOUR_MS)); // before the late reading
    expect(aqiAfter.get(DAY0 + 5 * HOUR_MS) as number).toBeGreaterThan(aqiBefore.get(DAY0 + 5 * HOUR_MS) as number);
    expect(aqiAfter.get(DAY0 + 7 * HOUR_MS) as number).toBeGreaterThan(aqiBefore.get(DAY0 + 7 * HOUR_MS) as number);

    // Replay everything (a crash before the checkpoint): the same points, nothing doubled.
    const snapshot = async () => JSON.stringify(await Promise.all(['air_1h', 'air_1d', 'aqi_1h', 'aqi_1d'].map((m) => rollupRows(db, m, 'air-001'))));
    const once = await snapshot();
    await consumer.onReadings([...marks, { stationId: 'air-001', ts: late }]);
    await consumer.flush();
    await rebuildRollups({ registry, raw, rollups, fromMs: DAY0, toMs: DAY0 + DAY_MS });
    expect(await snapshot()).toBe(once);
  });

  it("recomputes a station's open hour at most every openHourEveryMs, closed hours at every flush; rounds shrink for stations with many rows", async () => {
    const { db, raw, rollups } = await fresh();
    const openHour = DAY0 + 10 * HOUR_MS; // the "current" hour of a clock the test moves
    let clock = openHour + 10 * 60_000;
    const consumer = createRollupConsumer({ registry, raw, rollups, now: () => clock, openHourEveryMs: 5 * 60_000, rowsPerRound: 100 });
    const put = async (station: string, ts: number, pm25: number) => {
      await raw.write(`air,station=${station},district=x,ward=y pm25=${pm25},pm10=60 ${ts}`);
      await consumer.onReadings([{ stationId: station, ts }]);
    };
    const hourRow = async (station: string, hourMs: number) => (await rollupRows(db, 'air_1h', station)).find((r) => r.time === hourMs);
    await put('air-001', openHour + 60_000, 10);
    expect((await consumer.flush()).hours).toBe(1); // first time for this open hour: at once
    expect((await hourRow('air-001', openHour))?.pm25_count).toBe(1);

    // One more reading in the open hour a minute later, and a late one in a closed hour.
    clock += 60_000;
    await put('air-001', openHour + 120_000, 20);
    await put('air-001', openHour - HOUR_MS + 60_000, 30);
    expect((await consumer.flush()).hours).toBe(1); // the closed hour only
    expect((await hourRow('air-001', openHour - HOUR_MS))?.pm25_count).toBe(1);
    expect((await hourRow('air-001', openHour))?.pm25_count).toBe(1); // not yet
    expect(consumer.pending()).toBe(1); // still marked: nothing is forgotten

    clock += 5 * 60_000; // the bound has passed
    expect((await consumer.flush()).hours).toBe(1);
    expect((await hourRow('air-001', openHour))?.pm25_count).toBe(2);
    expect(consumer.pending()).toBe(0);

    // The hour closes with a reading still marked: recomputed at the next flush, bound or not.
    await put('air-001', openHour + 3_000_000, 30);
    clock = openHour + HOUR_MS + 1000;
    expect((await consumer.flush()).hours).toBe(1);
    expect((await hourRow('air-001', openHour))?.pm25_count).toBe(3);

    // Rows per round: 150 readings marked for each of three stations, above the round's 100: one
    // station a round.
    const lines: string[] = [];
    const marks: { stationId: string; ts: number }[] = [];
    for (const station of ['air-002', 'air-003', 'air-004']) {
      for (let i = 0; i < 150; i++) {
        const ts = DAY0 + 3 * HOUR_MS + i * 20_000;
        lines.push(`air,station=${station},district=x,ward=y pm25=${i},pm10=60 ${ts}`);
        marks.push({ stationId: station, ts });
      }
    }
    await raw.write(lines.join('\n'));
    await consumer.onReadings(marks);
    const stats = await consumer.flush();
    expect(stats.hours).toBe(3);
    expect(stats.queries).toBe(3 * 2); // each round: one query for its hours, one for its days
    for (const station of ['air-002', 'air-003', 'air-004']) expect((await hourRow(station, DAY0 + 3 * HOUR_MS))?.pm25_count).toBe(150);
  });

  it('rolls up rain totals and flood peaks with the hours above each level', async () => {
    const { db, raw, rollups } = await fresh();
    const gauge = registry.get('flood-longbien')!; // levels I 9.5, II 10.5, III 11.5 m; interval 300 s
    const lines: string[] = [];
    // Hour 3: 12 readings every 5 min at 10.0 m (level I), the 7th at 10.6 m (level II). Hour 4: one at 9 m.
    for (let i = 0; i < 12; i++) lines.push(`flood,station=flood-longbien level_m=${i === 6 ? 10.6 : 10} ${DAY0 + 3 * HOUR_MS + i * 300_000}`);
    lines.push(`flood,station=flood-longbien level_m=9 ${DAY0 + 4 * HOUR_MS}`);
    // rain-001: 2 mm every 5 min in hour 3, 1 mm once in hour 20.
    for (let i = 0; i < 12; i++) lines.push(`rain,station=rain-001 rain_mm=2,interval_s=300 ${DAY0 + 3 * HOUR_MS + i * 300_000}`);
    lines.push(`rain,station=rain-001 rain_mm=1,interval_s=300 ${DAY0 + 20 * HOUR_MS}`);
    await raw.write(lines.join('\n'));
    const consumer = createRollupConsumer({ registry, raw, rollups });
    await consumer.onReadings([3, 4, 20].map((h) => ({ stationId: 'flood-longbien', ts: DAY0 + h * HOUR_MS })).concat([3, 20].map((h) => ({ stationId: 'rain-001', ts: DAY0 + h * HOUR_MS }))));
    await consumer.flush();
    expect(gauge.kind).toBe('flood');
    const flood = (await rollupRows(db, 'flood_1d', 'flood-longbien'))[0]!;
    expect(flood.level_m_max).toBe(10.6);
    expect(flood.level_m_max_at).toBe(DAY0 + 3 * HOUR_MS + 6 * 300_000);
    expect(flood.hours_above_I).toBeCloseTo(1, 9); // 12 × 5 min
    expect(flood.hours_above_II).toBeCloseTo(5 / 60, 9);
    expect(flood.hours_above_III).toBe(0);
    expect(flood.level_m_hours).toBe(2);
    const rain = (await rollupRows(db, 'rain_1d', 'rain-001'))[0]!;
    expect(rain.rain_mm_sum).toBe(25);
    expect(rain.rain_mm_max_1h).toBe(24);
  });

  it('a mark made after its hour was rolled up: the recomputed hour and day drop the marked values, no old figures left', async () => {
    const { db, raw, rollups } = await fresh();
    let marked = false;
    const excluded = () => (stationId: string, parameter: string, ts: number) => marked && stationId === 'air-001' && parameter === 'pm25' && ts >= DAY0 + 3 * HOUR_MS && ts < DAY0 + 4 * HOUR_MS;
    const consumer = createRollupConsumer({ registry, raw, rollups, excluded });
    const lines: string[] = [];
    const marks: { stationId: string; ts: number }[] = [];
    for (let t = DAY0 + 2 * HOUR_MS; t < DAY0 + 4 * HOUR_MS; t += 5 * 60_000) {
      lines.push(`air,station=air-001,district=x,ward=y pm25=${t < DAY0 + 3 * HOUR_MS ? 40 : 400},pm10=60 ${t}`);
      marks.push({ stationId: 'air-001', ts: t });
    }
    await raw.write(lines.join('\n'));
    await consumer.onReadings(marks);
    await consumer.flush();
    expect((await rollupRows(db, 'air_1h', 'air-001')).find((r) => r.time === DAY0 + 3 * HOUR_MS)).toMatchObject({ pm25_count: 12, pm25_mean: 400 });
    const aqiAt3 = async () => (await rollupRows(db, 'aqi_1h', 'air-001')).find((r) => r.time === DAY0 + 3 * HOUR_MS)?.vn_dominant;
    expect(await aqiAt3()).toBe('pm25');

    marked = true; // as server/create-validations.ts does on a new mark: the touched hour is marked dirty
    await consumer.onReadings([{ stationId: 'air-001', ts: DAY0 + 3 * HOUR_MS }]);
    await consumer.flush();
    const hour3 = (await rollupRows(db, 'air_1h', 'air-001')).find((r) => r.time === DAY0 + 3 * HOUR_MS)!;
    expect(hour3).toMatchObject({ pm25_count: 0, pm25_coverage: 0, pm10_count: 12, pm10_mean: 60 });
    const day = (await rollupRows(db, 'air_1d', 'air-001'))[0]!;
    expect(day).toMatchObject({ pm25_count: 12, pm25_max: 40, pm25_mean: 40, pm10_count: 24 });
    expect(await aqiAt3()).toBe('pm10'); // PM2.5's NowCast needs 2 of its last 3 hours: only hour 2 is left
  });

  it('an index that can no longer be computed is not served from the rollups (no stale AQI)', async () => {
    const { raw, rollups } = await fresh();
    let marked = false;
    // Every PM value of the day marked invalid once the index was stored: no hourly or daily AQI is left.
    const excluded = () => (_s: string, parameter: string) => marked && (parameter === 'pm25' || parameter === 'pm10');
    const consumer = createRollupConsumer({ registry, raw, rollups, excluded });
    const lines: string[] = [];
    const marks: { stationId: string; ts: number }[] = [];
    for (let t = DAY0; t < DAY0 + DAY_MS; t += 5 * 60_000) {
      lines.push(`air,station=air-001,district=x,ward=y pm25=60,pm10=80,no2=40 ${t}`);
      marks.push({ stationId: 'air-001', ts: t });
    }
    await raw.write(lines.join('\n'));
    await consumer.onReadings(marks);
    await consumer.flush();
    const air = registry.get('air-001')!;
    const served = async (period: 'hourly' | 'daily', scale: 'vn' | 'us') => rollupAqi(rollups, air, period, scale, DAY0, DAY0 + DAY_MS);
    expect((await served('hourly', 'vn')).get(DAY0 + 5 * HOUR_MS)?.dominant).toBe('pm25');
    expect((await served('daily', 'us')).get(DAY0)?.value).toBeGreaterThan(100);

    marked = true;
    await consumer.onReadings(marks);
    await consumer.flush();
    for (const scale of ['vn', 'us'] as const) {
      expect([...(await served('hourly', scale)).keys()], scale).toEqual([]);
      expect([...(await served('daily', scale)).keys()], scale).toEqual([]);
    }
  });

  it('a rebuild leaves out what officers marked invalid, as the running consumer does', async () => {
    const { db, raw, rollups } = await fresh();
    const lines: string[] = [];
    for (let t = DAY0 + 2 * HOUR_MS; t < DAY0 + 4 * HOUR_MS; t += 5 * 60_000) lines.push(`air,station=air-001,district=x,ward=y pm25=${t < DAY0 + 3 * HOUR_MS ? 40 : 400},pm10=60 ${t}`);
    await raw.write(lines.join('\n'));
    // PM2.5 of hour 3 marked invalid (the 400s); PM10 of that hour stays.
    const excluded = () => (stationId: string, parameter: string, ts: number) => stationId === 'air-001' && parameter === 'pm25' && ts >= DAY0 + 3 * HOUR_MS && ts < DAY0 + 4 * HOUR_MS;
    await rebuildRollups({ registry, raw, rollups, fromMs: DAY0, toMs: DAY0 + DAY_MS, excluded });
    const hours = new Map((await rollupRows(db, 'air_1h', 'air-001')).map((r) => [r.time as number, r]));
    expect(hours.get(DAY0 + 2 * HOUR_MS)).toMatchObject({ pm25_count: 12, pm25_mean: 40 });
    expect(hours.get(DAY0 + 3 * HOUR_MS)).toMatchObject({ pm25_count: 0, pm10_count: 12, pm10_mean: 60 });
    const day = (await rollupRows(db, 'air_1d', 'air-001'))[0]!;
    expect(day).toMatchObject({ pm25_count: 12, pm25_max: 40, pm10_count: 24 });
  });

  it('keeps pending buckets across a restart until a flush has recomputed them', async () => {
    const path = join(dataDir, 'pending.json');
    const first = createDirtySet(path);
    await first.mark([{ stationId: 'air-001', ts: DAY0 + 1000 }, { stationId: 'air-001', ts: DAY0 + 2000 }, { stationId: 'rain-001', ts: DAY0 + 5 * HOUR_MS }]);
    const taken = first.take();
    await first.mark([{ stationId: 'air-001', ts: DAY0 + 9 * HOUR_MS }]); // marked during the flush
    const restarted = createDirtySet(path);
    expect(restarted.take().hours).toHaveLength(3);
    await first.clear(taken.token);
    expect(createDirtySet(path).take().hours).toEqual([{ stationId: 'air-001', hourMs: DAY0 + 9 * HOUR_MS }]);
  });
});
