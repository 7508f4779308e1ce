// "No alert lost, none opened twice": the alert history after a SIGKILL of the server and a restart
// equals the history of an uninterrupted run over the same readings. Real influxd, the real server
// as a child process, real MQTT gateways publishing sequenced QoS 1 readings, a real webhook receiver.
//
// What is compared, between run A (uninterrupted) and run B (SIGKILLed while alerts are open,
// restarted, the gateways resending what was not acknowledged):
// - every alert the officers' API holds at the end (GET /api/alerts, active and cleared), whole:
//   id, rule, level, peak, openedAt, updatedAt, clearedAt, values, message, forecast;
// - every alert event delivered by signed webhook (opened, escalated, de-escalated, value
//   updates, cleared), whole. The webhook is the channel that survives a crash (its delivery log
//   resumes what was in flight); B may deliver an event twice — the README allows a repeat after
//   a crash — but the same event, so the comparison is of the distinct events.
// Why the two runs can be equal at all: the engine's inputs are the log's records and its clock is
// the records' time. The readings carry their own timestamps (30 h in the past, 10-minute steps)
// and each gateway publishes one at a time, so every station's readings reach the log in the same
// order in both runs. The one rule that reads arrival time — station silence, measured on the
// clock of receipt and the broker's tick records — is left out of the rules here, as its alerts
// depend on when the test happens to run, not on the readings.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import type { Alert, AlertEvent } from '../../contracts/alerts.ts';
import type { DeliveryRecord } from '../../contracts/alerts-api.ts';
import { DEFAULT_RULES_PATH } from '../../ingest/alerts/rules.ts';
import type { WebhookBody } from '../../ingest/alerts/delivery/webhooks.ts';
import { restartablePort } from '../../ops/local-influxd.ts';
import { eventually, influxUrl, uniqueDatabase } from '../support/influx.ts';
import { startPublisher, type Publisher, type PublisherGateway } from '../support/publisher.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const STEP_MS = 10 * 60_000;
const COUNT = 180; // 30 h per station
const T0 = Math.floor((Date.now() - 31 * 3_600_000) / STEP_MS) * STEP_MS;
const SECRET = 'alert-history-webhook-secret';

/** Triangle wave 0 → 1 → 0 over `period` readings. */
const tri = (i: number, period: number) => 1 - Math.abs((2 * (i % period)) / period - 1);
const jitter = (i: number, n: number) => (i * 7) % n;

/**
 * The readings: each series crosses its thresholds up and down several times (with small
 * deterministic wiggles, so no QARTOD flat-line or spike test fails a value and takes it out of
 * alerting). Thresholds from ingest/alerts/rules.default.json and contracts/stations.json.
 */
const SERIES: Record<string, { id: string; values: (i: number) => Record<string, number> }[]> = {
  // River gauges (flood-river-level: I/II/III from levelsM, open at once, withdrawn 5 cm below a
  // level after 30 min; flood-river-rise: 10 / 20 cm/h over 3 h).
  'gw-river': [
    // Long Biên (I 9.5, II 10.5, III 11.5): two flood waves to 11.9 m, each through I → II → III and back.
    { id: 'flood-longbien', values: (i) => ({ level_m: round(8 + 3.9 * tri(i, 90) + 0.01 * jitter(i, 3), 3) }) },
    // Sơn Tây (I 12.4, II 13.4): one wave to level II and back, a second still rising at the end.
    { id: 'flood-sontay', values: (i) => ({ level_m: round(11.8 + 1.8 * tri(i, 120) + 0.01 * jitter(i, 3), 3) }) },
  ],
  // Street flooding (10 / 30 / 50 cm, open after 2 min, withdrawn after 15 min): a downpour every 5 h.
  'gw-street-01': [
    { id: 'street-001', values: (i) => ({ depth_cm: [0, 0, 0, 5, 12, 25, 38, 55, 60, 48, 35, 22, 12, 6, 2][i % 30] ?? 0 }) },
  ],
  // Air (hourly VN_AQI: open after 10 min, clear after 30; QCVN 05:2023 PM2.5 24 h mean, judged once
  // 18 h of data are in its window).
  'gw-air-01': [
    // Episodes every 8 h: poor/bad air for 2 h, then very bad for 1 h, then clean.
    { id: 'air-001', values: (i) => ({ pm25: (i % 48 < 12 ? 20 : i % 48 < 24 ? 95 : i % 48 < 30 ? 180 : 15) + jitter(i, 4) }) },
    // 20 h of 110 µg/m³ (24 h mean above twice the limit), then clean air (the mean falls below 2×).
    { id: 'air-002', values: (i) => ({ pm25: (i < 120 ? 110 : 12) + jitter(i, 5) }) },
  ],
  // Rain (rain-1h 25 mm, rain-2h 50 mm, rain-3h 50 mm, 12 h / 24 h national terms): an hour of
  // heavy rain every 6 h.
  'gw-rain-01': [{ id: 'rain-001', values: (i) => ({ rain_mm: i % 36 >= 6 && i % 36 < 12 ? 12 + jitter(i, 3) : 0, interval_s: 600 }) }],
};
const TOTAL = Object.values(SERIES).flat().length * COUNT;
/** Published after the stream: an alert that exists only once every reading before it was judged. */
const SENTINEL = { gateway: 'gw-river', station: 'flood-batha', ts: T0 + COUNT * STEP_MS, levelM: 8 };
const SENTINEL_ID = `${SENTINEL.station}~flood-river-level~${SENTINEL.ts}`;

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Webhook bodies received, by path (one path per run). */
const received = new Map<string, WebhookBody[]>();
let receiver: WebhookReceiver | undefined;
let receiverUrl: string;
let rulesPath: string;
const rootDir = mkdtempSync(join(tmpdir(), 'quantrac-alert-history-'));

beforeAll(async () => {
  receiver = await startWebhookReceiver((raw, req) => {
    const list = received.get(req.url ?? '') ?? [];
    received.set(req.url ?? '', list);
    list.push(JSON.parse(raw.toString('utf8')) as WebhookBody);
    return 204;
  });
  receiverUrl = receiver.url;
  // The default rules without the silence rule (see the header).
  const rules = JSON.parse(readFileSync(DEFAULT_RULES_PATH, 'utf8')) as { rules: { signal: string }[] };
  rules.rules = rules.rules.filter((r) => r.signal !== 'silence');
  rulesPath = join(rootDir, 'rules.json');
  writeFileSync(rulesPath, JSON.stringify(rules));
});

afterAll(async () => {
  await receiver?.close();
  rmSync(rootDir, { recursive: true, force: true });
});

/** A fresh data folder, database and webhook path; snapshots and segments small so that segments are released during the stream. */
async function runSetup(name: string) {
  const dataDir = join(rootDir, name);
  const hookPath = `/hook/${name}`;
  const env = {
    INFLUX_URL: influxUrl(),
    INFLUX_DATABASE: uniqueDatabase(`history_${name}`),
    DATA_DIR: dataDir,
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(await restartablePort()),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(await restartablePort()),
    ALERT_RULES_PATH: rulesPath,
    ALERT_TICK_MS: '200',
    ALERT_WEBHOOKS: JSON.stringify([`${receiverUrl}${hookPath}`]),
    ALERT_WEBHOOK_SECRET: SECRET,
    ALERT_WEBHOOK_BACKOFF_BASE_MS: '100',
    ALERT_WEBHOOK_BACKOFF_MAX_MS: '500',
    API_RATE_LIMIT_PER_MIN: '100000', // the test polls every alert's deliveries
    // Snapshots every 1.5 s, checkpoints every 1 s (now-lane): a crash can find the now lane's
    // checkpoint ahead of its snapshot, so that the restart replays records without their effects.
    LOG_SNAPSHOT_EVERY_MS: '1500',
    SPOOL_SEGMENT_BYTES: String(8 * 1024),
  };
  await setUser(join(dataDir, 'users.json'), 'lan', 'officer', 'officer-pw');
  const gateways: PublisherGateway[] = await Promise.all(
    Object.entries(SERIES).map(async ([gatewayId, stations]) => ({
      gatewayId,
      password: await setGatewayPassword(join(dataDir, 'gateways.json'), gatewayId),
      stations,
    })),
  );
  return { dataDir, hookPath, env, gateways };
}

/** One at a time per gateway: each station's readings reach the log in seq order, in every run. */
const publish = (server: ServerProcess, gateways: PublisherGateway[], pauseMs = 0): Publisher =>
  startPublisher({ url: server.mqtt, gateways, countPerStation: COUNT, baseMs: T0, stepMs: STEP_MS, inflight: 1, pauseMs });

async function publishSentinel(server: ServerProcess, gateways: PublisherGateway[]): Promise<void> {
  const gw = gateways.find((g) => g.gatewayId === SENTINEL.gateway)!;
  const client = await mqtt.connectAsync(server.mqtt, { clientId: gw.gatewayId, username: gw.gatewayId, password: gw.password, protocolVersion: 4, reconnectPeriod: 0 });
  await client.publishAsync(`sensors/${SENTINEL.station}/reading`, JSON.stringify({ ts: SENTINEL.ts, seq: COUNT, values: { level_m: SENTINEL.levelM } }), { qos: 1 });
  await client.endAsync();
}

async function officerToken(http: string): Promise<string> {
  const res = await fetch(`${http}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'lan', password: 'officer-pw' }) });
  return ((await res.json()) as { token: string }).token;
}

async function getJson<T>(url: string, token: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * The history once it is complete: the sentinel's alert is in the API (so every reading before it in
 * the log was judged) and no webhook delivery of any alert is still pending or retrying. Alerts
 * sorted by id; the distinct events, each as its JSON, sorted.
 */
interface History {
  readonly alerts: Alert[];
  /** Distinct events, each as its JSON, sorted. */
  readonly events: string[];
}

async function settledHistory(http: string, hookPath: string): Promise<History> {
  const token = await officerToken(http);
  return eventually(
    async () => {
      const { alerts } = await getJson<{ alerts: Alert[] }>(`${http}/api/alerts?limit=1000`, token);
      if (!alerts.some((a) => a.id === SENTINEL_ID)) return undefined;
      for (const a of alerts) {
        const { deliveries: list } = await getJson<{ deliveries: DeliveryRecord[] }>(`${http}/api/alerts/${encodeURIComponent(a.id)}/deliveries`, token);
        if (list.some((d) => d.status === 'pending' || d.status === 'retrying')) return undefined;
      }
      const events = [...new Set((received.get(hookPath) ?? []).map((b) => JSON.stringify(b.event)))].sort();
      return { alerts: alerts.sort((x, y) => (x.id < y.id ? -1 : 1)), events };
    },
    20_000,
    'the whole alert history judged and delivered',
  );
}

const brief = (a: Alert) => `${a.id} ${a.level.key} peak ${a.peakLevel.key} ${a.state} ${a.clearedAt ?? ''}`;
const briefEvent = (json: string) => {
  const e = JSON.parse(json) as AlertEvent;
  return `${e.alert.id} ${e.type === 'updated' ? e.reason : e.type} at ${e.at} ${e.alert.level.key}`;
};

/** The now lane's positions on disk: its snapshot's and its checkpoint's. */
function nowLaneOnDisk(dataDir: string): { snapshot: number; checkpoint: number } | undefined {
  try {
    const read = (f: string) => (JSON.parse(readFileSync(join(dataDir, 'checkpoints', f), 'utf8')) as { position: number }).position;
    return { snapshot: read('now.state.json'), checkpoint: read('now.json') };
  } catch {
    return undefined; // not written yet, or being replaced
  }
}

const segmentsOnDisk = (dataDir: string): number[] =>
  readdirSync(join(dataDir, 'spool')).filter((n) => /^\d{12}\.seg$/.test(n)).map((n) => Number(n.slice(0, 12)));

/** Run A: the readings and the sentinel, uninterrupted. */
async function uninterruptedRun(): Promise<History> {
  const a = await runSetup('a');
  const server = await startServerProcess(a.env);
  cleanups.push(async () => server.child.kill('SIGKILL'));
  const pub = publish(server, a.gateways);
  cleanups.push(() => pub.stop());
  await pub.done;
  await pub.stop();
  expect(pub.acked.size).toBe(TOTAL);
  await publishSentinel(server, a.gateways);
  const history = await settledHistory(server.http, a.hookPath);
  server.child.kill('SIGKILL');
  return history;
}

/**
 * Run B: the same readings, the server SIGKILLed mid-stream once log segments have been released
 * (so the restart must rely on the lanes' snapshots, not on replaying the log from its start) and
 * while the now lane's checkpoint is ahead of its snapshot (so the restart replays records without
 * their effects, then with); restarted, the gateways resend what was not acknowledged and finish.
 */
async function crashedRun(): Promise<History & { ackedAtCrash: Set<string> }> {
  const b = await runSetup('b');
  let server: ServerProcess = await startServerProcess(b.env);
  cleanups.push(async () => server.child.kill('SIGKILL'));
  const pub = publish(server, b.gateways, 10); // paced: several snapshots and checkpoints before the crash
  cleanups.push(() => pub.stop());
  // The file read and the kill are not atomic: should a snapshot land between them, the crash is
  // still a crash to recover from, and the server is killed again at the next chance.
  let ackedAtCrash = new Set<string>();
  for (let crash = 1; ; crash++) {
    await eventually(
      async () => {
        const lane = nowLaneOnDisk(b.dataDir);
        return pub.acked.size >= TOTAL * 0.3 && !segmentsOnDisk(b.dataDir).includes(1) && lane && lane.snapshot < lane.checkpoint ? true : undefined;
      },
      60_000,
      "the stream under way, the first log segment released, the now lane's checkpoint ahead of its snapshot",
    );
    server.child.kill('SIGKILL');
    expect(await server.exited).toBe('SIGKILL');
    ackedAtCrash = new Set(pub.acked);
    expect(ackedAtCrash.size).toBeLessThan(TOTAL);
    const lane = nowLaneOnDisk(b.dataDir)!;
    if (lane.snapshot < lane.checkpoint) break;
    expect(crash).toBeLessThan(3);
    server = await startServerProcess(b.env);
  }
  server = await startServerProcess(b.env);
  await pub.done;
  await pub.stop();
  expect(pub.acked.size).toBe(TOTAL);
  await publishSentinel(server, b.gateways);
  return { ...(await settledHistory(server.http, b.hookPath)), ackedAtCrash };
}

describe('alert history across a SIGKILL', () => {
  it('equals the history of an uninterrupted run over the same readings: no alert lost, none opened twice', { timeout: 150_000 }, async () => {
    // The two runs are independent (own data folder, database, ports, webhook path): run them side by side.
    const [historyA, historyB] = await Promise.all([uninterruptedRun(), crashedRun()]);

    // The readings really drive alerts through their lifecycle, so there is a history to lose.
    const eventsA = historyA.events.map((e) => JSON.parse(e) as AlertEvent);
    const types = new Set(eventsA.map((e) => (e.type === 'updated' ? `updated:${e.reason}` : e.type)));
    expect([...types]).toEqual(expect.arrayContaining(['cleared', 'escalated', 'opened', 'updated:deescalated', 'updated:value']));
    expect(new Set(historyA.alerts.map((x) => x.ruleId)).size).toBeGreaterThanOrEqual(5);
    const perSlot = new Map<string, number>();
    for (const x of historyA.alerts) perSlot.set(`${x.stationId} ${x.ruleId}`, (perSlot.get(`${x.stationId} ${x.ruleId}`) ?? 0) + 1);
    expect([...perSlot.values()].filter((n) => n >= 2).length).toBeGreaterThanOrEqual(2); // cleared, then a new alert later
    expect(historyA.alerts.filter((x) => x.state === 'active').length).toBeGreaterThanOrEqual(2);

    // Alerts were open when the server was killed (judged from run A at each station's last
    // reading acknowledged before the crash).
    const lastAckedTs = new Map<string, number>();
    for (const k of historyB.ackedAtCrash) {
      const [station, seq] = k.split('#') as [string, string];
      lastAckedTs.set(station, Math.max(lastAckedTs.get(station) ?? 0, T0 + Number(seq) * STEP_MS));
    }
    const openAtCrash = historyA.alerts.filter((x) => {
      const at = lastAckedTs.get(x.stationId);
      return at !== undefined && x.openedAt <= at && (x.clearedAt === null || x.clearedAt > at);
    });
    expect(openAtCrash.length).toBeGreaterThanOrEqual(2);

    // Short forms first (a readable diff), then the whole alerts and events.
    expect(historyB.alerts.map(brief)).toEqual(historyA.alerts.map(brief));
    expect(historyB.events.map(briefEvent)).toEqual(historyA.events.map(briefEvent));
    expect(historyB.alerts).toEqual(historyA.alerts);
    expect(historyB.events).toEqual(historyA.events);
    // None opened twice: one opened event per alert, for every alert.
    const opened = eventsA.filter((e) => e.type === 'opened').map((e) => e.alert.id);
    expect(opened.sort()).toEqual(historyA.alerts.map((x) => x.id));
  });
});
