// Webhooks in cluster mode (issue 12): two alert evaluators (one active, one standby) on a real
// 3-node nats-server cluster send signed webhooks to a real local HTTP receiver, which refuses the
// first attempt of every delivery (503) so retries are in flight throughout. Readings are appended
// to the replicated log as an edge appends them, and the active evaluator is SIGKILLed while they
// flow, then a sentinel reading whose alert opens once all before it were judged. Afterwards: every transition in the cluster's alert history (QUANTRAC_ALERTS) reached the
// receiver, signed, under the one delivery id the cluster gives that (transition, URL), and under no
// other; nothing else arrived; and a stateless API process lists each delivery as delivered.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { kvUsersUpdater, openUsersBucket } from '../../api/kv-users.ts';
import type { Alert, AlertEvent } from '../../contracts/alerts.ts';
import type { DeliveryRecord } from '../../contracts/alerts-api.ts';
import { clusterDeliveryId } from '../../ingest/alerts/delivery/kv-delivery-log.ts';
import { verifyWebhook } from '../../ingest/alerts/delivery/webhook-signature.ts';
import type { WebhookBody } from '../../ingest/alerts/delivery/webhooks.ts';
import { alertEventId } from '../../ingest/alerts/event-stream.ts';
import { createJetStreamAppender, ensureJetStreamLog, type JetStreamAppender } from '../../ingest/log/jetstream-log.ts';
import { eventually, influxUrl, uniqueDatabase } from '../support/influx.ts';
import { followAlertHistory, startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';
import { partitionsOf, startAlertRoles, stopProcesses, type ServerProcess } from '../support/server-process.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'cluster-webhook-secret-0123';
const STATIONS = ['air-001', 'air-002'];
const COUNT = 240; // readings per station
const RULES = {
  version: 1,
  rules: [{ id: 'pm25-test', signal: 'threshold', kind: 'air', parameter: 'pm25', updateEveryS: 300, levels: [{ key: 'high', label: { vi: 'Cao', en: 'High' }, severity: 'moderate', set: 60, clear: 40 }] }],
};
const pm25 = (seq: number) => 20 + ((seq * 7) % 70); // crosses 40 and 60 every ten readings or so

let cluster: TestNatsCluster;
let nc: NatsConnection;
let appender: JetStreamAppender;
let dir: string;
let hookUrl: string;
let receiver: WebhookReceiver | undefined;
const procs: ServerProcess[] = [];
const evaluators: ServerProcess[] = [];
let api: ServerProcess;
const history: AlertEvent[] = [];
let stopHistory: (() => Promise<void>) | undefined;

interface Received {
  readonly deliveryId: string;
  readonly body: WebhookBody;
  readonly signed: boolean;
  readonly status: number;
}
const received: Received[] = [];
const refusedOnce = new Set<string>();

beforeAll(async () => {
  receiver = await startWebhookReceiver((raw, req) => {
    const deliveryId = String(req.headers['x-quantrac-delivery']);
    // The first attempt of every delivery fails: the sender retries it (backoff, as in single mode).
    const status = refusedOnce.has(deliveryId) ? 204 : 503;
    refusedOnce.add(deliveryId);
    received.push({ deliveryId, body: JSON.parse(raw.toString('utf8')) as WebhookBody, signed: verifyWebhook(SECRET, raw, req.headers).ok, status });
    return status;
  });
  hookUrl = `${receiver.url}/hook`;

  cluster = await startTestNatsCluster();
  dir = mkdtempSync(join(tmpdir(), 'quantrac-cluster-webhooks-'));
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(RULES));
  nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  await setUser(kvUsersUpdater(await openUsersBucket(nc)), 'lan', 'officer', 'officer-pw'); // the cluster's accounts bucket
  appender = createJetStreamAppender(nc, await ensureJetStreamLog(nc));
  const env = {
    NATS_URL: cluster.urls.join(','),
    INFLUX_URL: influxUrl(),
    INFLUX_DATABASE: uniqueDatabase('cluster_hooks'),
    ALERT_RULES_PATH: join(dir, 'rules.json'),
    ALERT_WEBHOOKS: JSON.stringify([hookUrl]),
    ALERT_WEBHOOK_SECRET: SECRET,
    ALERT_WEBHOOK_BACKOFF_BASE_MS: '4000', // the first retry after 2–4 s (equal jitter)
    ALERT_WEBHOOK_BACKOFF_MAX_MS: '8000',
    CLUSTER_LEASE_TTL_MS: '1500',
    LOG_SNAPSHOT_EVERY_MS: '1000',
    API_RATE_LIMIT_PER_MIN: '100000', // the test reads every alert's deliveries
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
  };
  const roles = await startAlertRoles(env, procs);
  evaluators.push(...roles.evaluators);
  api = roles.api;
  stopHistory = await followAlertHistory(nc, history);
}, 90_000);

afterAll(async () => {
  await stopHistory?.();
  await stopProcesses(procs);
  await appender?.close();
  await nc?.close();
  await cluster?.close();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Appends the readings of `seqs` as an edge does (one gateway: one partition), alternating stations. */
async function appendReadings(baseMs: number, seqs: number[], pauseMs: number): Promise<void> {
  for (const seq of seqs) {
    for (const station of STATIONS) {
      const ts = baseMs + seq * 60_000;
      await appender.append({ topic: `sensors/${station}/reading`, payload: Buffer.from(JSON.stringify({ ts, seq, values: { pm25: pm25(seq) } })), qos: 1, gatewayId: 'gw-air-01', clientId: 'gw-air-01', receivedAt: Date.now() });
    }
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

async function getJson<T>(url: string, token: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

it('SIGKILL of the active evaluator while webhooks are in flight: every transition delivered, under one delivery id, and listed by the API', async () => {
  const baseMs = Date.now() - 3 * 86_400_000;
  const seqs = Array.from({ length: COUNT }, (_, i) => i);
  await appendReadings(baseMs, seqs.slice(0, COUNT / 3), 10);
  await eventually(async () => (received.length > 0 ? true : undefined), 30_000, 'a first webhook attempt');
  const owned = await Promise.all(evaluators.map(partitionsOf));
  const active = evaluators[(owned[0]?.length ?? 0) > 0 ? 0 : 1]!;
  const standby = evaluators.find((e) => e !== active)!;
  // The lane checkpoints every second: wait until it is past these events, whose deliveries wait
  // 2–4 s for their retry. Only the bucket knows of those at the kill (the new owner does not
  // judge their events again), so only resuming from it delivers them.
  await new Promise((r) => setTimeout(r, 1500));
  const waitingAtKill = new Set(refusedOnce);
  for (const r of received) if (r.status === 204) waitingAtKill.delete(r.deliveryId);
  const rest = appendReadings(baseMs, seqs.slice(COUNT / 3), 10);
  await new Promise((r) => setTimeout(r, 300));
  active.child.kill('SIGKILL');
  await active.exited;
  await eventually(async () => ((await partitionsOf(standby))?.length === 16 ? true : undefined), 20_000, 'the standby to own every partition');
  await rest;
  // A sentinel after the stream: its alert opens only once every reading before it was judged.
  const sentinelAt = baseMs + COUNT * 60_000;
  await appender.append({ topic: 'sensors/air-003/reading', payload: Buffer.from(JSON.stringify({ ts: sentinelAt, seq: COUNT, values: { pm25: 95 } })), qos: 1, gatewayId: 'gw-air-01', clientId: 'gw-air-01', receivedAt: Date.now() });

  // The whole history judged and every delivery of it answered.
  const expected = await eventually(
    async () => {
      const events = new Map(history.map((e) => [alertEventId(e), e]));
      if (![...events.values()].some((e) => e.alert.stationId === 'air-003' && e.type === 'opened' && e.at === sentinelAt)) return undefined;
      const ids = new Map([...events.values()].map((e) => [clusterDeliveryId(e, hookUrl), e]));
      const delivered = new Set(received.filter((r) => r.status === 204).map((r) => r.deliveryId));
      return [...ids.keys()].every((id) => delivered.has(id)) ? ids : undefined;
    },
    60_000,
    'every transition delivered',
  ).catch(() => new Map([...new Map(history.map((e) => [alertEventId(e), e])).values()].map((e) => [clusterDeliveryId(e, hookUrl), e])));

  expect(waitingAtKill.size).toBeGreaterThan(0);
  expect(expected.size).toBeGreaterThan(20);
  const deliveredIds = new Set(received.filter((r) => r.status === 204).map((r) => r.deliveryId));
  const missing = [...expected.keys()].filter((id) => !deliveredIds.has(id));
  const unexpected = [...new Set(received.map((r) => r.deliveryId))].filter((id) => !expected.has(id));
  expect({ missing: missing.map((id) => alertEventId(expected.get(id)!)), unexpected }).toEqual({ missing: [], unexpected: [] });
  // Signed, and each body is its transition as stored in the history, under its own id.
  expect(received.every((r) => r.signed)).toBe(true);
  for (const r of received) {
    expect(r.body.deliveryId).toBe(r.deliveryId);
    expect(r.body.event).toEqual(expected.get(r.deliveryId));
  }
  // Those waiting for a retry when their sender died were finished by the new owner.
  for (const id of waitingAtKill) if (expected.has(id)) expect(deliveredIds.has(id)).toBe(true);

  // The API process lists every delivery of every alert, delivered after the refused attempt.
  const login = await fetch(`${api.http}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'lan', password: 'officer-pw' }) });
  const { token } = (await login.json()) as { token: string };
  const alertIds = [...new Set([...expected.values()].map((e) => e.alert.id))];
  const listed = await eventually(
    async () => {
      const all: DeliveryRecord[] = [];
      for (const id of alertIds) all.push(...(await getJson<{ deliveries: DeliveryRecord[] }>(`${api.http}/api/alerts/${encodeURIComponent(id)}/deliveries`, token)).deliveries);
      return all.length === expected.size && all.every((d) => d.status === 'delivered') ? all : undefined;
    },
    15_000,
    'the API to list every delivery as delivered',
  );
  expect(new Set(listed.map((d) => d.deliveryId))).toEqual(new Set(expected.keys()));
  for (const d of listed) {
    const e = expected.get(d.deliveryId)!;
    expect(d).toMatchObject({ alertId: e.alert.id, eventType: e.type, eventAt: e.at, url: hookUrl, status: 'delivered', lastStatusCode: 204 });
    expect(d.attempts).toBeGreaterThanOrEqual(1); // 1: refused by its first owner, resumed by the next
  }
  expect(listed.filter((d) => d.attempts >= 2).length).toBeGreaterThan(listed.length / 2);
  const { alerts } = await getJson<{ alerts: Alert[] }>(`${api.http}/api/alerts?limit=1000`, token);
  expect(alerts.map((a) => a.id).sort()).toEqual(alertIds.sort());
}, 240_000);

it('SIGKILL of the nats-server leading the deliveries bucket while deliveries wait for their retry: every transition delivered, under its one id', async () => {
  const baseMs = Date.now() - 1.5 * 86_400_000; // after the first test's readings
  const seqs = Array.from({ length: COUNT }, (_, i) => i);
  await appendReadings(baseMs, seqs.slice(0, COUNT / 3), 10);
  await new Promise((r) => setTimeout(r, 1000));
  const jsm = await jetstreamManager(nc);
  const leaderName = (await jsm.streams.info('KV_quantrac_deliveries')).cluster?.leader;
  const leader = cluster.server(leaderName ?? '');
  expect(leader, `leader ${leaderName}`).toBeDefined();
  await leader!.kill();
  await appendReadings(baseMs, seqs.slice(COUNT / 3), 10); // each append waits for the log's election if it has one
  await leader!.restart();
  const sentinelAt = baseMs + COUNT * 60_000;
  await appender.append({ topic: 'sensors/air-004/reading', payload: Buffer.from(JSON.stringify({ ts: sentinelAt, seq: COUNT, values: { pm25: 95 } })), qos: 1, gatewayId: 'gw-air-01', clientId: 'gw-air-01', receivedAt: Date.now() });

  const inRange = () => new Map([...new Map(history.filter((e) => e.at >= baseMs).map((e) => [alertEventId(e), e])).values()].map((e) => [clusterDeliveryId(e, hookUrl), e]));
  const deliveredIds = () => new Set(received.filter((r) => r.status === 204).map((r) => r.deliveryId));
  const expected = await eventually(
    async () => {
      const ids = inRange();
      if (![...ids.values()].some((e) => e.alert.stationId === 'air-004' && e.type === 'opened' && e.at === sentinelAt)) return undefined;
      const delivered = deliveredIds();
      return [...ids.keys()].every((id) => delivered.has(id)) ? ids : undefined;
    },
    90_000,
    'every transition delivered',
  ).catch(inRange);
  expect(expected.size).toBeGreaterThan(20);
  const delivered = deliveredIds();
  const missing = [...expected.keys()].filter((id) => !delivered.has(id));
  const unexpected = [...new Set(received.filter((r) => r.body.event.at >= baseMs).map((r) => r.deliveryId))].filter((id) => !expected.has(id));
  expect({ missing: missing.map((id) => alertEventId(expected.get(id)!)), unexpected }).toEqual({ missing: [], unexpected: [] });
  expect(received.every((r) => r.signed && r.body.deliveryId === r.deliveryId)).toBe(true);
  // Their final state reached the bucket through the election: the API lists each as delivered.
  const login = await fetch(`${api.http}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'lan', password: 'officer-pw' }) });
  const { token } = (await login.json()) as { token: string };
  const alertIds = [...new Set([...expected.values()].map((e) => e.alert.id))];
  const listed = async () => {
    const all: DeliveryRecord[] = [];
    for (const id of alertIds) all.push(...(await getJson<{ deliveries: DeliveryRecord[] }>(`${api.http}/api/alerts/${encodeURIComponent(id)}/deliveries`, token)).deliveries);
    return new Map(all.filter((d) => expected.has(d.deliveryId)).map((d) => [d.deliveryId, d.status]));
  };
  const statuses = await eventually(async () => {
    const m = await listed();
    return m.size === expected.size && [...m.values()].every((st) => st === 'delivered') ? m : undefined;
  }, 20_000, 'the API to list every delivery as delivered').catch(listed);
  const notDelivered = [...expected.keys()].filter((id) => statuses.get(id) !== 'delivered').map((id) => `${alertEventId(expected.get(id)!)}: ${statuses.get(id) ?? 'not listed'}`);
  expect(notDelivered).toEqual([]);
}, 240_000);
