// Cluster mode does what the embedded server does (issue 12), against the real engine: a 3-node
// JetStream cluster, an edge and writer processes (server/main.ts with QUANTRAC_ROLE), the test
// InfluxDB. Rollups: readings a writer stored are rolled up hourly and daily into the rollups
// retention policy, equal to the aggregates of the known values — also when the writer that stored
// them is SIGKILLed before its rollup round (its pending hours are in KV, the next owner rolls them up),
// and served by the API process's hourly series.
// Metrics: the writer, alerts and edge processes serve /metrics, and their counters move.
// Dead letters: a rejected reading is counted by reason by the partition's writer only, and reaches
// the gateway's dead-letter topic once, on another edge than the one it was published through.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DeadLetter } from '../../contracts/reading.ts';
import { HOUR_MS, hanoiDayStart } from '../../contracts/rollups.ts';
import { freePort } from '../../ops/local-influxd.ts';
import { eventually, influxRows } from '../support/influx.ts';
import { healthOf, startClusterBed, type ClusterBed } from '../support/cluster-bed.ts';
import { startPublisher, storedCounts } from '../support/publisher.ts';
import { startServerProcess, stopProcesses, type ServerProcess } from '../support/server-process.ts';

const STATIONS = ['air-001', 'air-002'];
const STEP_MS = 5 * 60_000;
const COUNT = 36; // three hours of readings per station
// Smooth values (no QARTOD spike or flat line): every one is kept by the rollups.
const values = (station: string) => (seq: number) => ({ pm25: 30 + (seq % 6) + (station === 'air-002' ? 10 : 0), pm10: 50 + (seq % 4) });

let bed: ClusterBed | undefined;
let nc: NatsConnection;
let dir: string;
let db: string;
let password: string;
let env: Record<string, string>;
let edge: ServerProcess;
let writer2: ServerProcess;
let alerts: ServerProcess;
const procs: ServerProcess[] = [];

beforeAll(async () => {
  bed = await startClusterBed('parity');
  ({ nc, dir, db, password, env } = bed);
  edge = await startServerProcess({ ...env, QUANTRAC_ROLE: 'edge', MQTT_HOST: '127.0.0.1', MQTT_PORT: String(await freePort()) });
  procs.push(edge);
}, 60_000);

afterAll(async () => {
  await stopProcesses(procs);
  await bed?.close();
});

const health = healthOf;

/** mean/min/max/count of one parameter's known values per bucket start. */
function expected(station: string, param: 'pm25' | 'pm10', baseMs: number, bucket: (ts: number) => number) {
  const acc = new Map<number, number[]>();
  for (let seq = 0; seq < COUNT; seq++) {
    const ts = baseMs + seq * STEP_MS;
    acc.set(bucket(ts), [...(acc.get(bucket(ts)) ?? []), values(station)(seq)[param]]);
  }
  return new Map([...acc].map(([b, xs]) => [b, { mean: xs.reduce((a, c) => a + c, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs), count: xs.length }]));
}

const rollupRows = (m: string, station: string, fromMs: number) =>
  influxRows(db, `SELECT * FROM "rollups"."${m}" WHERE "station" = '${station}' AND time >= ${fromMs - 86_400_000}ms ORDER BY time`);

it('readings stored by a writer SIGKILLed before its rollup round are rolled up by the writer taking its partition over, equal to the aggregates of the known values', async () => {
  // writer-1 never reaches its rollup round: what it stored is only marked (in KV).
  const writer1 = await startServerProcess({ ...env, QUANTRAC_ROLE: 'writer', QUANTRAC_NAME: 'writer-1', ROLLUP_FLUSH_INTERVAL_MS: '600000' });
  procs.push(writer1);
  const baseMs = Math.floor((Date.now() - 3 * 86_400_000) / HOUR_MS) * HOUR_MS;
  const publisher = startPublisher({
    url: edge.mqtt,
    gateways: [{ gatewayId: 'gw-air-01', password, stations: STATIONS.map((id) => ({ id, values: values(id) })) }],
    countPerStation: COUNT,
    inflight: 4,
    baseMs,
    stepMs: STEP_MS,
  });
  await publisher.done;
  await publisher.stop();
  expect(publisher.acked.size).toBe(COUNT * STATIONS.length);

  const range = (q: string) => influxRows(db, q.replace(/WHERE (.*)$/, `WHERE ($1) AND time >= ${baseMs}ms`));
  await eventually(async () => ((await storedCounts(range, 'air', STATIONS)).size === COUNT * STATIONS.length ? true : undefined), 30_000, 'every reading stored');
  // Three hours of two stations marked, and nothing rolled up yet.
  await eventually(async () => (((await health(writer1))?.rollupsPending as number) >= 6 ? true : undefined), 10_000, 'the hours marked');
  expect(await rollupRows('air_1h', 'air-001', baseMs)).toEqual([]);
  writer1.child.kill('SIGKILL');
  await writer1.exited;
  // The API's hourly series reads the rollups: nothing yet.
  const api = await startServerProcess({ ...env, QUANTRAC_ROLE: 'api' });
  procs.push(api);
  const hourly = async (station: string) => {
    const res = await fetch(`${api.http}/api/stations/${station}/readings?from=${baseMs}&to=${baseMs + 3 * HOUR_MS}&every=1h&source=hourly`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { buckets: { ts: string; values: Record<string, { mean: number; min: number; max: number; count: number }> }[] }).buckets;
  };
  expect(await hourly('air-001')).toEqual([]);

  writer2 = await startServerProcess({ ...env, QUANTRAC_ROLE: 'writer', QUANTRAC_NAME: 'writer-2', ROLLUP_FLUSH_INTERVAL_MS: '300' });
  procs.push(writer2);
  for (const station of STATIONS) {
    const hours = expected(station, 'pm25', baseMs, (ts) => Math.floor(ts / HOUR_MS) * HOUR_MS);
    const stored = await eventually(
      async () => {
        const rows = await rollupRows('air_1h', station, baseMs);
        return rows.length >= hours.size ? new Map(rows.map((r) => [r.time as number, r])) : undefined;
      },
      30_000,
      `the hourly rollups of ${station}`,
    );
    for (const [period, bucket] of [['1h', (ts: number) => Math.floor(ts / HOUR_MS) * HOUR_MS], ['1d', hanoiDayStart]] as const) {
      const rows = period === '1h' ? stored : await eventually(async () => {
        const r = new Map((await rollupRows('air_1d', station, baseMs)).map((x) => [x.time as number, x]));
        return r.size > 0 ? r : undefined;
      }, 10_000, `the daily rollups of ${station}`);
      for (const param of ['pm25', 'pm10'] as const) {
        const want = expected(station, param, baseMs, bucket);
        expect([...rows.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [b, w] of want) {
          const got = rows.get(b)!;
          expect(got[`${param}_count`], `${station} ${period} ${param} ${new Date(b).toISOString()}`).toBe(w.count);
          expect(got[`${param}_mean`]).toBeCloseTo(w.mean, 9);
          expect(got[`${param}_min`]).toBe(w.min);
          expect(got[`${param}_max`]).toBe(w.max);
        }
      }
    }
    expect((await rollupRows('aqi_1h', station, baseMs)).length).toBeGreaterThan(0);
    // What the API serves for those hours is the same aggregates.
    const served = await hourly(station);
    const want = expected(station, 'pm25', baseMs, (ts) => Math.floor(ts / HOUR_MS) * HOUR_MS);
    expect(served.map((b) => Date.parse(b.ts))).toEqual([...want.keys()]);
    for (const b of served) {
      const w = want.get(Date.parse(b.ts))!;
      expect(b.values.pm25).toEqual({ mean: expect.closeTo(w.mean, 9), min: w.min, max: w.max, count: w.count });
    }
  }
  await eventually(async () => ((await health(writer2))?.rollupsPending === 0 ? true : undefined), 10_000, 'no hour left pending');
}, 80_000);

/** The sum of a metric's samples whose labels include `labels` (0 when there is none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}

const scrape = async (p: ServerProcess, token?: string) => {
  const res = await fetch(`${p.http}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text() };
};

it('the writer and alerts processes serve /metrics, behind METRICS_TOKEN, and their counters move with the readings', async () => {
  writeFileSync(join(dir, 'rules.json'), JSON.stringify({
    version: 1,
    rules: [{ id: 'pm25-test', signal: 'threshold', kind: 'air', parameter: 'pm25', updateEveryS: 300, levels: [{ key: 'high', label: { vi: 'Cao', en: 'High' }, severity: 'moderate', set: 60, clear: 40 }] }],
  }));
  alerts = await startServerProcess({ ...env, QUANTRAC_ROLE: 'alerts', QUANTRAC_NAME: 'alerts-1', ALERT_RULES_PATH: join(dir, 'rules.json'), METRICS_TOKEN: 'scrape-me-0123456789' });
  procs.push(alerts);
  expect((await scrape(alerts)).status).toBe(401);
  await eventually(async () => ((await health(alerts))?.partitions as number[] | undefined)?.length === 16 ? true : undefined, 15_000, 'the evaluator to own every partition');

  const before = (await scrape(writer2)).text;
  const count = 12;
  const publisher = startPublisher({
    url: edge.mqtt,
    gateways: [{ gatewayId: 'gw-air-01', password, stations: STATIONS.map((id) => ({ id, values: (seq: number) => ({ pm25: 70 + (seq % 5), pm10: 80 + (seq % 3) }) })) }],
    countPerStation: count,
    inflight: 4,
    baseMs: Math.floor((Date.now() - 2 * 86_400_000) / HOUR_MS) * HOUR_MS,
    stepMs: 60_000,
  });
  await publisher.done;
  await publisher.stop();
  const n = count * STATIONS.length;
  const after = await eventually(async () => {
    const t = (await scrape(writer2)).text;
    return sample(t, 'quantrac_points_written_total') - sample(before, 'quantrac_points_written_total') >= n ? t : undefined;
  }, 20_000, 'the writer to count the points written');
  const moved = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
  expect(moved('quantrac_readings_received_total', { kind: 'air' })).toBe(n);
  expect(moved('quantrac_readings_accepted_total', { kind: 'air', qos: '1' })).toBe(n);
  expect(moved('quantrac_readings_rejected_total')).toBe(0);
  expect(moved('quantrac_write_batch_seconds_count')).toBeGreaterThan(0);
  expect(after).toContain('quantrac_oldest_unwritten_seconds 0');
  expect(after).toContain('process_resident_memory_bytes');

  // Both stations cross 60 µg/m³: one opened alert each, counted by the evaluator.
  const alertText = await eventually(async () => {
    const { status, text } = await scrape(alerts, 'scrape-me-0123456789');
    expect(status).toBe(200);
    return sample(text, 'quantrac_alert_events_total', { rule: 'pm25-test', type: 'opened' }) >= STATIONS.length ? text : undefined;
  }, 20_000, 'the evaluator to count the opened alerts');
  expect(sample(alertText, 'quantrac_alert_events_total', { rule: 'pm25-test', type: 'opened' })).toBe(STATIONS.length);
  expect(alertText).toContain('quantrac_alert_lane_lag_seconds');
  // The readings are the writer's to count: the evaluator reports none of them.
  expect(sample(alertText, 'quantrac_readings_received_total')).toBe(0);
}, 60_000);

it('a rejected reading is counted by reason by the writer only and dead-lettered once to the gateway, through any edge', async () => {
  const edge2 = await startServerProcess({ ...env, QUANTRAC_ROLE: 'edge', MQTT_HOST: '127.0.0.1', MQTT_PORT: String(await freePort()) });
  procs.push(edge2);
  const gateway = (url: string) => mqtt.connectAsync(url, { clientId: 'gw-air-01', username: 'gw-air-01', password, protocolVersion: 4, reconnectPeriod: 0 });
  const subscriber = await gateway(edge2.mqtt);
  const sender = await gateway(edge.mqtt);
  try {
    const letters: DeadLetter[] = [];
    subscriber.on('message', (_topic, payload) => letters.push(JSON.parse(String(payload)) as DeadLetter));
    await subscriber.subscribeAsync('gateways/gw-air-01/deadletter', { qos: 1 });
    const [writerBefore, alertsBefore] = [(await scrape(writer2)).text, (await scrape(alerts, 'scrape-me-0123456789')).text];

    await sender.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: Date.now() - 1000, seq: 9001, values: { pm25: 99_999 } }), { qos: 1 });
    await sender.publishAsync('sensors/air-002/reading', '{"ts":', { qos: 1 });
    await eventually(async () => (letters.length >= 2 ? true : undefined), 15_000, 'two dead letters');
    await new Promise((r) => setTimeout(r, 1500)); // a second copy (another role, another edge) would come within this
    expect(letters.map((l) => `${l.reason} ${l.topic}`).sort()).toEqual(['malformed_json sensors/air-002/reading', 'out_of_range sensors/air-001/reading']);

    const writerAfter = (await scrape(writer2)).text;
    const moved = (name: string, labels: Record<string, string> = {}) => sample(writerAfter, name, labels) - sample(writerBefore, name, labels);
    expect(moved('quantrac_readings_rejected_total', { reason: 'out_of_range', kind: 'air' })).toBe(1);
    expect(moved('quantrac_readings_rejected_total', { reason: 'malformed_json' })).toBe(1);
    expect(moved('quantrac_readings_rejected_total')).toBe(2);
    expect(moved('quantrac_dead_letters_total')).toBe(2);
    const alertsAfter = (await scrape(alerts, 'scrape-me-0123456789')).text;
    expect(sample(alertsAfter, 'quantrac_readings_rejected_total') - sample(alertsBefore, 'quantrac_readings_rejected_total')).toBe(0);
    expect(sample(alertsAfter, 'quantrac_dead_letters_total')).toBe(0);

    // The edge's broker counters: its connected gateway, and a refused password.
    const edgeBefore = (await scrape(edge2)).text;
    expect(sample(edgeBefore, 'quantrac_broker_connections')).toBe(1);
    await expect(mqtt.connectAsync(edge2.mqtt, { clientId: 'gw-air-01', username: 'gw-air-01', password: 'wrong', protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow();
    const edgeAfter = await eventually(async () => {
      const t = (await scrape(edge2)).text;
      return sample(t, 'quantrac_broker_refused_total', { what: 'connect' }) > sample(edgeBefore, 'quantrac_broker_refused_total', { what: 'connect' }) ? t : undefined;
    }, 5000, 'the refused connection counted');
    expect(edgeAfter).toContain('process_resident_memory_bytes');
  } finally {
    await subscriber.endAsync(true);
    await sender.endAsync(true);
  }
}, 40_000);
