// Officers' validation marks in the cluster's alerts and rollups (issue 12), against the real engine:
// a 3-node JetStream cluster, an edge, a writer, an alert evaluator and an API process (server/main.ts
// with QUANTRAC_ROLE), the test InfluxDB. A mark made through the API (KV quantrac_validations)
// leaves its values out of the writer's hourly rollup, which is recomputed, and comes back when the
// mark is undone; and a value inside a mark does not escalate the evaluator's alert — the embedded
// server's test/e2e/alert-exclusions.test.ts case, here across processes. A mark made while no
// writer runs is applied by `npm run rollups` (NATS_URL set: it reads the marks from the bucket),
// and by the writer that takes the partition over, on its own.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NatsConnection } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kvUsersUpdater, openUsersBucket } from '../../api/kv-users.ts';
import { setUser } from '../../api/users-file.ts';
import type { Alert } from '../../contracts/alerts.ts';
import { AlertsResponseSchema } from '../../contracts/alerts-api.ts';
import { HOUR_MS } from '../../contracts/rollups.ts';
import { freePort } from '../../ops/local-influxd.ts';
import { eventually, influxRows } from '../support/influx.ts';
import { healthOf, startClusterBed, type ClusterBed } from '../support/cluster-bed.ts';
import { startPublisher } from '../support/publisher.ts';
import { startServerProcess, stopProcesses, type ServerProcess } from '../support/server-process.ts';

const ROLLUPS_CLI = fileURLToPath(new URL('../../ops/rollups.ts', import.meta.url));
const RULE = 'pm25-test';
const STEP_MS = 5 * 60_000;
const COUNT = 24; // two hours of air-001
const pm25 = (seq: number) => 30 + (seq % 6);
const pm10 = (seq: number) => 50 + (seq % 4);

let bed: ClusterBed | undefined;
let nc: NatsConnection;
let dir: string;
let db: string;
let password: string;
let token: string;
let edge: ServerProcess;
let writer: ServerProcess;
let alerts: ServerProcess;
let api: ServerProcess;
let env: Record<string, string>;
let baseMs: number;
const procs: ServerProcess[] = [];

beforeAll(async () => {
  bed = await startClusterBed('validations');
  ({ nc, dir, db, password } = bed);
  await setUser(kvUsersUpdater(await openUsersBucket(nc)), 'lan', 'officer', 'officer-pw');
  // One level reached only by a value the officer marks: it would escalate the alert.
  writeFileSync(join(dir, 'rules.json'), JSON.stringify({
    version: 1,
    rules: [{ id: RULE, signal: 'threshold', kind: 'air', parameter: 'pm25', updateEveryS: 300, levels: [
      { key: 'high', label: { vi: 'Cao', en: 'High' }, severity: 'moderate', set: 60, clear: 40 },
      { key: 'very-high', label: { vi: 'Rất cao', en: 'Very high' }, severity: 'severe', set: 120, clear: 100 },
    ] }],
  }));
  env = { ...bed.env, ROLLUP_FLUSH_INTERVAL_MS: '300', ALERT_RULES_PATH: join(dir, 'rules.json') };
  edge = await startServerProcess({ ...env, QUANTRAC_ROLE: 'edge', MQTT_HOST: '127.0.0.1', MQTT_PORT: String(await freePort()) });
  procs.push(edge);
  writer = await startServerProcess({ ...env, QUANTRAC_ROLE: 'writer', QUANTRAC_NAME: 'writer-1' });
  procs.push(writer);
  alerts = await startServerProcess({ ...env, QUANTRAC_ROLE: 'alerts', QUANTRAC_NAME: 'alerts-1' });
  procs.push(alerts);
  api = await startServerProcess({ ...env, QUANTRAC_ROLE: 'api' });
  procs.push(api);
  const login = await eventually(async () => {
    const res = await fetch(`${api.http}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'lan', password: 'officer-pw' }) });
    return res.status === 200 ? ((await res.json()) as { token: string }) : undefined;
  }, 5000, 'lan logs in');
  token = login.token;
  for (const p of [writer, alerts]) await eventually(async () => ((await health(p))?.partitions as number[] | undefined)?.length === 16 ? true : undefined, 15_000, 'every partition owned');
}, 90_000);

afterAll(async () => {
  await stopProcesses(procs);
  await bed?.close();
});

const health = healthOf;

const headers = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

async function mark(station: string, parameter: string, fromMs: number, toMs: number, reason: string): Promise<string> {
  const res = await fetch(`${api.http}/api/stations/${station}/validations`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({ parameter, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), status: 'invalid', reason }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The marks in force each role process holds (its /healthz), once both have `n`. */
const rolesHold = (n: number) =>
  Promise.all([writer, alerts].map((p) => eventually(async () => ((await health(p))?.validationMarks === n ? true : undefined), 5000, `${n} mark(s) in force at ${p === writer ? 'the writer' : 'the evaluator'}`)));

const hour = async (hourMs: number) => (await influxRows(db, `SELECT * FROM "rollups"."air_1h" WHERE "station" = 'air-001' AND time = ${hourMs}ms`))[0];

/** mean/min/max/count of the given values. */
const aggregate = (xs: number[]) => ({ mean: xs.reduce((a, c) => a + c, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs), count: xs.length });

it('a mark made through the API leaves its values out of the writer\'s hourly rollup (recomputed), and undone, they count again', async () => {
  baseMs = Math.floor((Date.now() - 86_400_000) / HOUR_MS) * HOUR_MS;
  const publisher = startPublisher({ url: edge.mqtt, gateways: [{ gatewayId: 'gw-air-01', password, stations: [{ id: 'air-001', values: (seq) => ({ pm25: pm25(seq), pm10: pm10(seq) }) }] }], countPerStation: COUNT, inflight: 4, baseMs, stepMs: STEP_MS });
  await publisher.done;
  await publisher.stop();
  expect(publisher.acked.size).toBe(COUNT);
  const pm25Of = (r: Record<string, unknown> | undefined) => r && { mean: r.pm25_mean, min: r.pm25_min, max: r.pm25_max, count: r.pm25_count };
  const seqs = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  const all = aggregate(seqs(0, 12).map(pm25));
  await eventually(async () => ((await hour(baseMs))?.pm25_count === 12 && (await hour(baseMs + HOUR_MS))?.pm25_count === 12 ? true : undefined), 30_000, 'both hours rolled up');
  expect(pm25Of(await hour(baseMs))).toEqual({ ...all, mean: expect.closeTo(all.mean, 9) });
  const secondHour = await hour(baseMs + HOUR_MS);

  // Minutes 20–40 of the first hour (readings 4–7) marked invalid: recomputed without them.
  const id = await mark('air-001', 'pm25', baseMs + 20 * 60_000, baseMs + 40 * 60_000, 'inlet blocked');
  const kept = aggregate([...seqs(0, 4), ...seqs(8, 12)].map(pm25));
  const recomputed = await eventually(async () => ((await hour(baseMs))?.pm25_count === kept.count ? hour(baseMs) : undefined), 15_000, 'the marked hour recomputed without the marked values');
  expect(pm25Of(recomputed)).toEqual({ ...kept, mean: expect.closeTo(kept.mean, 9) });
  expect(recomputed?.pm10_count).toBe(12); // the other parameter of those readings still counts
  expect(await hour(baseMs + HOUR_MS)).toEqual(secondHour); // outside the mark: as it was

  // Undone: the hour is recomputed again with every value.
  const undo = await fetch(`${api.http}/api/stations/air-001/validations/${id}`, { method: 'DELETE', headers: headers(), body: JSON.stringify({ reason: 'inlet fine' }) });
  expect(undo.status).toBe(200);
  const restored = await eventually(async () => ((await hour(baseMs))?.pm25_count === 12 ? hour(baseMs) : undefined), 15_000, 'the hour recomputed with every value after the undo');
  expect(pm25Of(restored)).toEqual({ ...all, mean: expect.closeTo(all.mean, 9) });
  await rolesHold(0);
  await eventually(async () => ((await health(writer))?.rollupsPending === 0 ? true : undefined), 10_000, 'no hour left pending');
}, 90_000);

it('a value an officer marked invalid does not escalate the evaluator\'s alert; the next one outside the mark is judged', async () => {
  const t0 = Date.now() - 2 * HOUR_MS;
  const at = (min: number) => t0 + min * 60_000;
  const gw = await mqtt.connectAsync(edge.mqtt, { clientId: 'gw-air-01', username: 'gw-air-01', password, protocolVersion: 4, reconnectPeriod: 0 });
  const listed = async (): Promise<Alert[]> => {
    const res = await fetch(`${api.http}/api/alerts?station=air-002&rule=${RULE}`, { headers: headers() });
    expect(res.status).toBe(200);
    return AlertsResponseSchema.parse(await res.json()).alerts;
  };
  try {
    const reading = (min: number, value: number) => gw.publishAsync('sensors/air-002/reading', JSON.stringify({ ts: at(min), values: { pm25: value, pm10: 50 } }), { qos: 1 });
    await reading(0, 30);
    await reading(5, 65); // level "high" opens
    await eventually(async () => ((await listed())[0]?.value === 65 ? true : undefined), 15_000, 'the alert open at 65');
    // The officer marks minutes 20–30 invalid (a blocked inlet) before those readings arrive; the
    // test waits until the evaluator holds the mark (as the embedded server holds it once answered).
    await mark('air-002', 'pm25', at(20), at(30), 'inlet blocked');
    await rolesHold(1);
    await reading(25, 150); // would escalate to "very-high"
    await reading(35, 70); // outside the mark: judged (a new peak: an event)
    const [alert] = await eventually(async () => {
      const a = await listed();
      return a[0]?.value === 70 ? a : undefined;
    }, 15_000, 'the alert judged at 70');
    expect(alert).toMatchObject({ state: 'active', peakLevel: { key: 'high' }, peakValue: 70, level: { key: 'high' } });
    expect(await listed()).toHaveLength(1);
  } finally {
    await gw.endAsync(true);
  }
}, 60_000);

it('a mark made while no writer runs is left out by npm run rollups with NATS_URL (the marks from the bucket)', async () => {
  writer.child.kill('SIGTERM');
  await writer.exited;
  // Readings 12–15 (minutes 60–80, the second hour) of pm10 marked: no writer to recompute the hour.
  await mark('air-001', 'pm10', baseMs + 60 * 60_000, baseMs + 80 * 60_000, 'pump stopped');
  expect((await hour(baseMs + HOUR_MS))?.pm10_count).toBe(12);
  const run = spawnSync(process.execPath, [ROLLUPS_CLI, '--from', new Date(baseMs).toISOString(), '--to', new Date(baseMs + 2 * HOUR_MS).toISOString(), '--stations', 'air-001'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status, run.stderr).toBe(0);
  const kept = aggregate([16, 17, 18, 19, 20, 21, 22, 23].map(pm10));
  const rebuilt = await hour(baseMs + HOUR_MS);
  expect({ mean: rebuilt?.pm10_mean, min: rebuilt?.pm10_min, max: rebuilt?.pm10_max, count: rebuilt?.pm10_count }).toEqual({ ...kept, mean: expect.closeTo(kept.mean, 9) });
  expect(rebuilt?.pm25_count).toBe(12);
}, 60_000);

it('a mark made while no writer runs is applied by the writer that takes the partition over (no command needed)', async () => {
  // The writer is still stopped (the test before). Readings 16–19 (minutes 80–100) of pm25 marked.
  await mark('air-001', 'pm25', baseMs + 80 * 60_000, baseMs + 100 * 60_000, 'calibration drift');
  expect((await hour(baseMs + HOUR_MS))?.pm25_count).toBe(12);
  const next = await startServerProcess({ ...env, QUANTRAC_ROLE: 'writer', QUANTRAC_NAME: 'writer-2' });
  procs.push(next);
  const kept = aggregate([12, 13, 14, 15, 20, 21, 22, 23].map(pm25));
  const recomputed = await eventually(async () => ((await hour(baseMs + HOUR_MS))?.pm25_count === kept.count ? hour(baseMs + HOUR_MS) : undefined), 30_000, 'the hour recomputed by the writer that took the partition over');
  expect({ mean: recomputed?.pm25_mean, min: recomputed?.pm25_min, max: recomputed?.pm25_max, count: recomputed?.pm25_count }).toEqual({ ...kept, mean: expect.closeTo(kept.mean, 9) });
  expect(recomputed?.pm10_count).toBe(8); // the pm10 mark of the test before still holds
}, 60_000);
