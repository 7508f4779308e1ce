// Set tests of the whole cluster against the real engine (issue 12): a gateway publishes sequenced
// QoS 1 readings through HAProxy to two edges; a writer stores them in this file's own influxd; two
// alert evaluators share the partitions' leases (one active, one standby). The tests (c) SIGKILL the
// active evaluator (the standby takes over within the lease), (d) SIGKILL influxd, keep it down for
// 30 s and start it again on the same port and data folder, (b) SIGKILL the edge holding the
// gateway's session (the gateway reconnects through HAProxy to the other edge and resends) and (a)
// SIGKILL the nats-server leading the log's stream. After each: every acknowledged (station, seq) is
// in InfluxDB exactly once, and the alert history the cluster stored (QUANTRAC_ALERTS) equals the
// engine's backtest replay of what InfluxDB holds (in this process: cheap, and it names the phase
// that broke). Last, the single-process server (`npm start`'s: no NATS, its log a file) gets the
// same readings phase by phase, and its alert history (every event its webhook delivers) must equal
// the cluster's event for event (alert id, type, time, level, value): no transition missed,
// repeated or stuck. A stateless API process serves the cluster's views: active alerts from the
// history, /ws/live from the log.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AlertEvent } from '../../contracts/alerts.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { addCredential } from '../../broker/credential-admin.ts';
import { kvCredentialUpdater, openCredentialsBucket } from '../../broker/kv-credentials.ts';
import { backtestStored } from '../../ingest/alerts/backtest-source.ts';
import { parseRules } from '../../ingest/alerts/rules.ts';
import { createInfluxHttp } from '../../ingest/influx/influx-http.ts';
import { LOG_DEFAULTS } from '../../ingest/log/jetstream-log.ts';
import { freePort, restartablePort, startLocalInfluxd, type LocalInfluxd } from '../../ops/local-influxd.ts';
import { startLocalHaproxy, type LocalHaproxy } from '../../ops/local-haproxy.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { parseConfig } from '../../server/config.ts';
import { influxTargets } from '../../server/influx-targets.ts';
import { eventually, influxRows, uniqueDatabase } from '../support/influx.ts';
import { followAlertHistory, startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';
import { startPublisher, storedCounts, type Publisher } from '../support/publisher.ts';
import { partitionsOf, startAlertRoles, stopProcesses, startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { runSingleProcess, type ReadingBatch } from '../support/single-process-run.ts';

const TTL_MS = 1500;
const STATIONS = ['air-001', 'air-002'];
const STEP_MS = 60_000;
const INFLIGHT = 2;
// One rule that opens above 60 µg/m³ and clears below 40: the readings below cross both often.
const RULES = {
  version: 1,
  rules: [{ id: 'pm25-test', signal: 'threshold', kind: 'air', parameter: 'pm25', updateEveryS: 300, levels: [{ key: 'high', label: { vi: 'Cao', en: 'High' }, severity: 'moderate', set: 60, clear: 40 }] }],
};
const pm25 = (seq: number) => 20 + ((seq * 7) % 70); // 20…89, crossing 40 and 60 every ten readings or so
const GATEWAY = { gatewayId: 'gw-air-01', stations: STATIONS.map((id) => ({ id, values: (seq: number) => ({ pm25: pm25(seq) }) })) };

let cluster: TestNatsCluster;
let nc: NatsConnection;
let dir: string;
let db: string;
let haproxy: LocalHaproxy;
let influxDir: string;
/** This file's own influxd: (d) kills it, so it cannot be the one the other test files share. */
let influxd: LocalInfluxd;
let password: string;
let env: Record<string, string>;
const procs: ServerProcess[] = [];
const evaluators: ServerProcess[] = [];
const edges: ServerProcess[] = [];
let api: ServerProcess;
const history: AlertEvent[] = [];
let stopHistory: (() => Promise<void>) | undefined;
/** The engine's state carries over from one phase to the next: histories compare from the first. */
let firstBaseMs = Number.POSITIVE_INFINITY;
/** Each phase's readings, in the order the cluster got them, with the (station, seq) it acknowledged. */
const phases: (ReadingBatch & { acked: Set<string> })[] = [];

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  dir = mkdtempSync(join(tmpdir(), 'quantrac-cluster-roles-'));
  db = uniqueDatabase('cluster');
  // The prefix of the test influxds: global-setup kills one orphaned by a killed run.
  influxDir = mkdtempSync(join(tmpdir(), 'quantrac-test-influxd-cluster-roles-'));
  influxd = await startLocalInfluxd({ dir: influxDir });
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(RULES));
  nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const kv = await openCredentialsBucket(nc);
  password = await addCredential({ credentialsPath: join(dir, 'unused.json'), audit: createAuditLog(join(dir, 'audit.jsonl')), actor: 'test', update: kvCredentialUpdater(kv) }, GATEWAY.gatewayId);
  env = {
    NATS_URL: cluster.urls.join(','),
    INFLUX_URL: influxd.url,
    INFLUX_DATABASE: db,
    INFLUX_TIMEOUT_MS: '1000',
    WRITE_BACKOFF_MAX_MS: '500',
    ALERT_RULES_PATH: join(dir, 'rules.json'),
    ALERT_TICK_MS: '1000',
    CLUSTER_LEASE_TTL_MS: String(TTL_MS),
    LOG_SNAPSHOT_EVERY_MS: '1000',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
  };
  const edgePorts = [await restartablePort(), await restartablePort()];
  for (const port of edgePorts) {
    const edge = await startServerProcess({ ...env, QUANTRAC_ROLE: 'edge', MQTT_HOST: '127.0.0.1', MQTT_PORT: String(port), MQTT_PROXY_PROTOCOL: 'true' });
    procs.push(edge);
    edges.push(edge);
  }
  procs.push(await startServerProcess({ ...env, QUANTRAC_ROLE: 'writer', QUANTRAC_NAME: 'writer-1' }));
  const roles = await startAlertRoles(env, procs);
  evaluators.push(...roles.evaluators);
  api = roles.api;
  haproxy = await startLocalHaproxy({ dir, bindHost: '127.0.0.1', port: await freePort(), edges: edgePorts.map((port, i) => ({ name: `e${i + 1}`, host: '127.0.0.1', port })) });
  stopHistory = await followAlertHistory(nc, history);
}, 90_000);

afterAll(async () => {
  await stopHistory?.();
  await haproxy?.stop();
  await stopProcesses(procs);
  await nc?.close();
  await cluster?.close();
  await influxd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (influxDir) rmSync(influxDir, { recursive: true, force: true });
});

/** Publishes `count` readings per station, running `fault` once a third of them are acknowledged. */
async function publishThrough(baseMs: number, count: number, fault: (publisher: Publisher) => Promise<void>): Promise<Set<string>> {
  const publisher = startPublisher({
    url: `mqtt://127.0.0.1:${haproxy.port}`,
    gateways: [{ ...GATEWAY, password }],
    countPerStation: count,
    inflight: INFLIGHT,
    baseMs,
    stepMs: STEP_MS,
  });
  phases.push({ baseMs, stepMs: STEP_MS, countPerStation: count, acked: publisher.acked });
  try {
    await eventually(async () => (publisher.acked.size >= (count * STATIONS.length) / 3 ? true : undefined), 60_000, 'a third acknowledged');
    await fault(publisher);
    await Promise.race([publisher.done, new Promise((r) => setTimeout(r, 120_000))]);
  } finally {
    await publisher.stop();
  }
  return publisher.acked;
}

/** Every acknowledged reading is in InfluxDB exactly once (waits for the writer to catch up). */
async function expectStoredOnce(acked: Set<string>, fromMs: number, toMs: number): Promise<void> {
  // This phase's time range only (each phase publishes the same seqs at other times).
  const query = (q: string) => influxRows(db, q.replace(/WHERE (.*)$/, `WHERE ($1) AND time >= ${fromMs}ms AND time <= ${toMs}ms`), influxd.url);
  const counts = await eventually(
    async () => {
      const c = await storedCounts(query, 'air', STATIONS);
      return [...acked].every((k) => c.has(k)) ? c : undefined;
    },
    60_000,
    'every acknowledged reading in InfluxDB',
  ).catch(async () => storedCounts(query, 'air', STATIONS));
  const missing = [...acked].filter((k) => !counts.has(k));
  const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
  expect(acked.size).toBeGreaterThan(1000);
  expect({ missing: missing.slice(0, 10), missingCount: missing.length, twice: twice.slice(0, 10) }).toEqual({ missing: [], missingCount: 0, twice: [] });
}

/** One transition of the history: what the cluster stores once (its Nats-Msg-Id names the same). */
const key = (e: AlertEvent) => `${e.alert.id} ${e.type} ${e.at} ${e.alert.level.key} ${e.alert.value}`;
const storedHistory = (fromMs: number, toMs: number) => history.filter((e) => e.at >= fromMs && e.at <= toMs).map(key).sort();

/** The cluster's stored history equals the engine's backtest replay of what InfluxDB holds. */
async function expectSameHistory(fromMs: number, toMs: number): Promise<string[]> {
  const config = parseConfig({ INFLUX_URL: influxd.url, INFLUX_DATABASE: db, DATA_DIR: dir });
  const registry = loadRegistry(config.REGISTRY_PATH);
  const report = await backtestStored({ influx: createInfluxHttp(influxTargets(config).raw), registry, rules: parseRules(RULES, 'test'), fromMs, toMs, stationIds: STATIONS });
  const expected = report.events.filter((e) => STATIONS.includes(e.alert.stationId)).map(key).sort();
  expect(expected.length).toBeGreaterThan(10);
  // The evaluator lags the writer by at most a moment: wait for the history to reach the end.
  const actual = await eventually(
    async () => {
      const got = storedHistory(fromMs, toMs);
      return got.length >= expected.length ? got : undefined;
    },
    30_000,
    'the alert history to catch up',
  ).catch(() => storedHistory(fromMs, toMs));
  expect(actual).toEqual(expected);
  return report.alerts.filter((a) => a.state === 'active' && STATIONS.includes(a.stationId)).map((a) => a.id).sort();
}

/** The API process's public alert view lists exactly the alerts the engine's run leaves active. */
async function expectApiActive(active: string[]): Promise<void> {
  const listed = async () => {
    const body = (await (await fetch(`${api.http}/api/alerts/public`)).json()) as { alerts: { id: string; stationId: string }[] };
    return body.alerts.filter((a) => STATIONS.includes(a.stationId)).map((a) => a.id).sort();
  };
  const got = await eventually(async () => {
    const ids = await listed();
    return JSON.stringify(ids) === JSON.stringify(active) ? ids : undefined;
  }, 10_000).catch(listed);
  expect(got).toEqual(active);
}

it('(c) SIGKILL of the active alert evaluator: the standby takes over within the lease; nothing lost, stored twice, or transitioned twice', async () => {
  const baseMs = Date.now() - 10 * 86_400_000;
  firstBaseMs = Math.min(firstBaseMs, baseMs);
  const count = 1500;
  let takeoverMs = -1;
  const acked = await publishThrough(baseMs, count, async () => {
    const owned = await Promise.all(evaluators.map(partitionsOf));
    const active = evaluators[(owned[0]?.length ?? 0) > 0 ? 0 : 1]!;
    const standby = evaluators.find((e) => e !== active)!;
    expect((await partitionsOf(active))?.length).toBe(16);
    const killedAt = Date.now();
    active.child.kill('SIGKILL');
    await active.exited;
    await eventually(async () => ((await partitionsOf(standby))?.length === 16 ? true : undefined), 15_000, 'the standby to own every partition');
    takeoverMs = Date.now() - killedAt;
  });
  // Within the lease: the ttl after the last renewal, plus a renewal round and the start of 16 lanes.
  expect(takeoverMs).toBeGreaterThan(0);
  expect(takeoverMs).toBeLessThan(TTL_MS + 5000);
  await expectStoredOnce(acked, baseMs, baseMs + count * STEP_MS);
  const active = await expectSameHistory(firstBaseMs, baseMs + count * STEP_MS);
  expect(active.length).toBeGreaterThan(0); // the last readings (pm25 83) leave alerts open
  await expectApiActive(active);
}, 240_000);

it('(d) InfluxDB killed for 30 s, then started again on its port and data: readings wait in the log, then every acknowledged one is stored once and the history is unchanged', async () => {
  const baseMs = Date.now() - 5 * 86_400_000;
  firstBaseMs = Math.min(firstBaseMs, baseMs);
  const count = 1500;
  const live = new WebSocket(`${api.http.replace('http', 'ws')}/ws/live`);
  let liveReadings = 0;
  live.on('message', (d) => void (liveReadings += (String(d).match(/air-00[12]/g) ?? []).length));
  await new Promise((r, j) => live.once('open', r).once('error', j));
  let ackedWhileDown = 0;
  const acked = await publishThrough(baseMs, count, async (publisher) => {
    // SIGKILL rather than SIGTERM: a crash (OOM killer, power loss) is the harsher stop. Writes in
    // flight lose their answer, so the writer cannot tell whether they landed (its retry must store
    // them once), and influxd gets no chance to flush: what it acknowledged must come back from its WAL.
    await influxd.kill();
    await expect(fetch(`${influxd.url}/ping`)).rejects.toThrow();
    const atKill = publisher.acked.size;
    await new Promise((r) => setTimeout(r, 30_000));
    ackedWhileDown = publisher.acked.size - atKill;
    await influxd.restart();
  });
  live.close();
  // Acknowledgements do not wait for the database: the log took readings during the outage, and the
  // live stream carried them.
  expect(ackedWhileDown).toBeGreaterThan(100);
  expect(liveReadings).toBeGreaterThan(100);
  await expectStoredOnce(acked, baseMs, baseMs + count * STEP_MS);
  // What the earlier phases stored came back with the restart too.
  for (const p of phases.slice(0, -1)) await expectStoredOnce(p.acked, p.baseMs, p.baseMs + p.countPerStation * STEP_MS);
  await expectApiActive(await expectSameHistory(firstBaseMs, baseMs + count * STEP_MS));
}, 240_000);

async function appendedBy(p: ServerProcess): Promise<number> {
  try {
    const res = await fetch(`${p.http}/healthz`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { appended: number }).appended;
  } catch {
    return -1;
  }
}

it('(b) SIGKILL of the edge holding the gateway session: the gateway resends through the other edge; nothing lost, stored twice, or transitioned twice', async () => {
  const baseMs = Date.now() - 3.5 * 86_400_000;
  firstBaseMs = Math.min(firstBaseMs, baseMs);
  const count = 1500;
  let killed: ServerProcess | undefined;
  const acked = await publishThrough(baseMs, count, async (publisher) => {
    // The holder is the edge whose appends grow while the gateway publishes.
    const before = await Promise.all(edges.map(appendedBy));
    await new Promise((r) => setTimeout(r, 500));
    const after = await Promise.all(edges.map(appendedBy));
    const holder = after[0]! - before[0]! >= after[1]! - before[1]! ? 0 : 1;
    killed = edges[holder]!;
    const other = edges[1 - holder]!;
    const otherAtKill = await appendedBy(other);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const atKill = publisher.acked.size;
    await eventually(async () => (publisher.acked.size >= atKill + 200 ? true : undefined), 60_000, 'acknowledgements through the other edge');
    expect(await appendedBy(other)).toBeGreaterThanOrEqual(otherAtKill + 200); // the gateway came back through it
  });
  expect(killed).toBeDefined();
  await expectStoredOnce(acked, baseMs, baseMs + count * STEP_MS);
  await expectApiActive(await expectSameHistory(firstBaseMs, baseMs + count * STEP_MS));
}, 240_000);

it('(a) SIGKILL of the nats-server leading the log: appends wait for the election; nothing lost, stored twice, or transitioned twice', async () => {
  const baseMs = Date.now() - 2 * 86_400_000;
  firstBaseMs = Math.min(firstBaseMs, baseMs);
  const count = 1500;
  const jsm = await jetstreamManager(nc);
  const acked = await publishThrough(baseMs, count, async (publisher) => {
    const leaderName = (await jsm.streams.info(LOG_DEFAULTS.stream)).cluster?.leader;
    const leader = cluster.server(leaderName ?? '');
    expect(leader, `leader ${leaderName}`).toBeDefined();
    await leader!.kill();
    const atKill = publisher.acked.size;
    await eventually(async () => (publisher.acked.size >= atKill + 200 ? true : undefined), 60_000, 'acknowledgements after the election');
    expect((await jsm.streams.info(LOG_DEFAULTS.stream)).cluster?.leader).not.toBe(leaderName);
    await leader!.restart();
  });
  await expectStoredOnce(acked, baseMs, baseMs + count * STEP_MS);
  await expectApiActive(await expectSameHistory(firstBaseMs, baseMs + count * STEP_MS));
}, 240_000);

it('the alert history equals the single-process server\'s over the same readings, event for event', async () => {
  expect(phases.length, 'phases run before this test').toBeGreaterThan(0);
  // The same readings: every phase's were all acknowledged by the cluster, so its log holds each.
  expect(phases.map((p) => p.acked.size)).toEqual(phases.map((p) => p.countPerStation * STATIONS.length));
  const lastMs = Math.max(...phases.map((p) => p.baseMs + p.countPerStation * p.stepMs));
  const expected = storedHistory(firstBaseMs, lastMs);
  expect(expected.length).toBeGreaterThan(10);
  const run = await runSingleProcess({
    dataDir: join(dir, 'single-process'),
    influxUrl: influxd.url,
    env: { ALERT_RULES_PATH: env.ALERT_RULES_PATH!, ALERT_TICK_MS: env.ALERT_TICK_MS! },
    gateway: GATEWAY,
    batches: phases,
    inflight: INFLIGHT,
    // Another station of the gateway, after every phase: its alert opens once the rest was judged.
    sentinel: { station: 'air-003', ts: lastMs + STEP_MS, values: { pm25: 89 } },
  });
  try {
    const single = () => run.events().filter((e) => STATIONS.includes(e.alert.stationId)).map(key).sort();
    const got = await eventually(async () => (single().length >= expected.length ? single() : undefined), 10_000, 'the deliveries before the sentinel').catch(single);
    expect(got).toEqual(expected);
  } finally {
    await run.stop();
  }
}, 180_000);
