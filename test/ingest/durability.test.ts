// "Acknowledged means stored": fault tests against a real influxd. In each, real gateways publish
// sequenced QoS 1 readings over TCP, and every (station, seq) the broker acknowledged must be in
// InfluxDB, one row each, after the fault has passed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restartablePort, startLocalInfluxd, type LocalInfluxd } from '../../ops/local-influxd.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { eventually, influxRows, influxUrl, uniqueDatabase } from '../support/influx.ts';
import { fleetGateways, startPublisher, storedCounts, type Publisher, type PublisherGateway } from '../support/publisher.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

const GATEWAYS: Record<string, string[]> = {
  'gw-air-01': ['air-001', 'air-002', 'air-003'],
  'gw-air-02': ['air-011', 'air-012', 'air-013'],
  'gw-air-03': ['air-021', 'air-022', 'air-023'],
};
const STATIONS = Object.values(GATEWAYS).flat();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-durability-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const gateways = (credentialsPath: string): Promise<PublisherGateway[]> => fleetGateways(credentialsPath, GATEWAYS);

/** Data folder, database and environment for a server run as its own process (restartable on the same ports). */
async function processSetup(prefix: string) {
  const dataDir = tempDir();
  const database = uniqueDatabase(prefix);
  const env = {
    INFLUX_URL: influxUrl(),
    INFLUX_DATABASE: database,
    DATA_DIR: dataDir,
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(await restartablePort()),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(await restartablePort()),
  };
  return { dataDir, database, env };
}

/**
 * Waits until every acknowledged reading is stored, then checks each is one row. InfluxDB keeps one
 * point per series and timestamp, so this cannot show a reading written twice: that is counted at
 * the database boundary in write-once.test.ts.
 */
async function expectAllAckedOnce(pub: Publisher, database: string, url: string, timeoutMs = 60_000): Promise<Map<string, number>> {
  const query = (q: string) => influxRows(database, q, url);
  const counts = await eventually(
    async () => {
      const c = await storedCounts(query, 'air', STATIONS);
      return [...pub.acked].every((k) => c.has(k)) ? c : undefined;
    },
    timeoutMs,
    'every acknowledged reading in InfluxDB',
  );
  const twice = [...counts].filter(([, n]) => n !== 1);
  expect(twice).toEqual([]);
  const missing = [...pub.acked].filter((k) => !counts.has(k));
  expect(missing).toEqual([]);
  return counts;
}

/** A metric's value summed over all its label sets. */
const metric = async (httpUrl: string, name: string): Promise<number> => {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
};

describe('acknowledged readings survive', () => {
  it('InfluxDB stopped and restarted mid-stream', async () => {
    const dir = tempDir();
    let influxd: LocalInfluxd = await startLocalInfluxd({ dir: join(dir, 'influxd') });
    cleanups.push(() => influxd.stop());
    // A small hand-off (LOG_HAND_OFF_RECORDS): the store lane falls past it during the outage and
    // afterwards runs its own reading stage again from a quality snapshot (asserted below).
    const t: TestQuantrac = await startTestQuantrac({ INFLUX_URL: influxd.url, INFLUX_TIMEOUT_MS: '1000', WRITE_BACKOFF_MAX_MS: '500', LOG_HAND_OFF_RECORDS: '200', LOG_SNAPSHOT_EVERY_MS: '500' });
    cleanups.push(() => t.stop());
    const pub = startPublisher({ url: t.mqttUrl, gateways: await gateways(t.q.config.credentialsPath), countPerStation: 400, baseMs: Date.now() - 3_600_000, inflight: 20 });
    cleanups.push(() => pub.stop());

    await eventually(async () => (pub.acked.size >= 600 ? true : undefined), 30_000, '600 acks');
    await influxd.stop();
    const ackedAtOutage = pub.acked.size;
    // Acknowledgements go on while the database is down: the spool holds the readings.
    await eventually(async () => (pub.acked.size >= ackedAtOutage + 600 ? true : undefined), 30_000, 'acks during the outage');
    await eventually(async () => ((await metric(t.httpUrl, 'quantrac_write_retries_total')) > 0 ? true : undefined), 30_000, 'write retries');
    // The gauge is sampled once a second: give it a sample during the outage.
    await eventually(async () => ((await metric(t.httpUrl, 'quantrac_spool_bytes')) > 0 ? true : undefined), 10_000, 'spooled bytes during the outage');

    influxd = await startLocalInfluxd({ dir: join(dir, 'influxd'), preferredHttpPort: influxd.httpPort });
    await pub.done;
    expect(pub.acked.size).toBe(400 * STATIONS.length);
    await expectAllAckedOnce(pub, t.database, influxd.url);
    expect(await metric(t.httpUrl, 'quantrac_store_lane_resyncs_total')).toBeGreaterThan(0);
  });

  it('InfluxDB answering 503 and hanging requests behind a fault-injecting proxy', async () => {
    const proxy: FaultProxy = await startFaultProxy(influxUrl());
    cleanups.push(() => proxy.close());
    const t = await startTestQuantrac({ INFLUX_URL: proxy.url, INFLUX_TIMEOUT_MS: '500', WRITE_BACKOFF_MAX_MS: '300' });
    cleanups.push(() => t.stop());
    const pub = startPublisher({ url: t.mqttUrl, gateways: await gateways(t.q.config.credentialsPath), countPerStation: 300, baseMs: Date.now() - 3_600_000, inflight: 20 });
    cleanups.push(() => pub.stop());

    await eventually(async () => (pub.acked.size >= 300 ? true : undefined), 30_000, 'first acks');
    proxy.mode = '503';
    await eventually(async () => (proxy.counts.faulted >= 3 ? true : undefined), 30_000, '503 answers');
    proxy.mode = 'hang';
    const faulted = proxy.counts.faulted;
    await eventually(async () => (proxy.counts.faulted >= faulted + 2 ? true : undefined), 30_000, 'hung requests');
    proxy.mode = 'pass';
    await pub.done;
    expect(pub.acked.size).toBe(300 * STATIONS.length);
    await expectAllAckedOnce(pub, t.database, influxUrl());
    expect(await metric(t.httpUrl, 'quantrac_write_retries_total')).toBeGreaterThanOrEqual(5);
  });

  it('the pipeline process killed with SIGKILL mid-stream and restarted', async () => {
    const { dataDir, database, env } = await processSetup('crash');
    const gws = await gateways(join(dataDir, 'gateways.json'));
    let server: ServerProcess = await startServerProcess(env);
    cleanups.push(async () => server.child.kill('SIGKILL'));
    const pub = startPublisher({ url: server.mqtt, gateways: gws, countPerStation: 500, baseMs: Date.now() - 3_600_000, inflight: 20 });
    cleanups.push(() => pub.stop());

    await eventually(async () => (pub.acked.size >= 1500 ? true : undefined), 30_000, '1500 acks');
    server.child.kill('SIGKILL');
    expect(await server.exited).toBe('SIGKILL');
    const ackedBeforeCrash = new Set(pub.acked);
    server = await startServerProcess(env);
    await pub.done;
    expect(pub.acked.size).toBe(500 * STATIONS.length);
    for (const k of ackedBeforeCrash) expect(pub.acked.has(k)).toBe(true);
    await expectAllAckedOnce(pub, database, influxUrl());
  });

  it('a full spool holds acknowledgements until InfluxDB returns, and loses nothing', async () => {
    const proxy = await startFaultProxy(influxUrl());
    cleanups.push(() => proxy.close());
    proxy.mode = '503';
    const t = await startTestQuantrac({
      INFLUX_URL: proxy.url,
      SPOOL_MAX_BYTES: String(64 * 1024),
      SPOOL_SEGMENT_BYTES: String(16 * 1024),
      WRITE_BACKOFF_BASE_MS: '50',
      WRITE_BACKOFF_MAX_MS: '200',
    });
    cleanups.push(() => t.stop());
    const gws = await gateways(t.q.config.credentialsPath);
    const inflight = 10;
    const pub = startPublisher({ url: t.mqttUrl, gateways: gws, countPerStation: 400, baseMs: Date.now() - 3_600_000, inflight });
    cleanups.push(() => pub.stop());

    // Every publisher slot ends up waiting for an acknowledgement that the full spool holds back.
    await eventually(
      async () => ((await metric(t.httpUrl, 'quantrac_spool_full')) === 1 && pub.sent() - pub.acked.size === inflight * gws.length ? true : undefined),
      30_000,
      'spool full with every publish waiting',
    );
    const held = pub.acked.size;
    expect(held).toBeLessThan(400 * STATIONS.length);
    const ready = await fetch(`${t.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { spool: string } }).checks.spool).toBe('failing'); // the reason goes to operators only (test/api/health.test.ts)
    await new Promise((r) => setTimeout(r, 500)); // a window in which nothing may be acknowledged
    expect(pub.acked.size).toBe(held);
    expect(await metric(t.httpUrl, 'quantrac_acks_held_total')).toBeGreaterThan(0);

    proxy.mode = 'pass';
    await pub.done;
    expect(pub.acked.size).toBe(400 * STATIONS.length);
    await expectAllAckedOnce(pub, t.database, influxUrl());
    expect((await fetch(`${t.httpUrl}/readyz`)).status).toBe(200);
  }, 120_000);
});
