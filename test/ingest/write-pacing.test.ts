// WRITE_MAX_POINTS_PER_S as the database sees it: a backlog spooled while InfluxDB refused writes
// drains through the fault proxy, which records each write's arrival and point count. The pace cap
// is a token bucket (burst = one second's worth) charged when a batch is first tried; the batch that
// was being retried through the outage was charged before it, so by the time the k-th write
// arrives at most cap × elapsed + cap + one batch points may have arrived. A slow machine only makes writes later, which keeps
// the bound, so this asserts no timing that could flake: it fails only if the writer outruns the cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { eventually, influxQuery, influxUrl } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const CAP = 200;
const BATCH = 50;
const READINGS = 800;
let proxy: FaultProxy;
let t: TestQuantrac;

beforeAll(async () => {
  proxy = await startFaultProxy(influxUrl());
  t = await startTestQuantrac({
    INFLUX_URL: proxy.url,
    WRITE_MAX_POINTS_PER_S: String(CAP),
    WRITE_BATCH_LINES: String(BATCH),
    WRITE_FLUSH_INTERVAL_MS: '10',
    WRITE_BACKOFF_BASE_MS: '50',
    WRITE_BACKOFF_MAX_MS: '100',
  });
});
afterAll(async () => {
  await t?.stop();
  await proxy?.close();
});

describe('WRITE_MAX_POINTS_PER_S', () => {
  it('drains a backlog no faster than the cap, in batches of at most WRITE_BATCH_LINES', async () => {
    proxy.mode = '503';
    const gw = await t.connectGateway('gw-air-01');
    const stations = t.q.registry.stations.filter((s) => s.gatewayId === 'gw-air-01').map((s) => s.id);
    const perStation = Math.ceil(READINGS / stations.length);
    const base = Date.now() - 3_600_000;
    const readings = stations.flatMap((station) => Array.from({ length: perStation }, (_, i) => ({ station, ts: base + i * 1000, seq: i, values: { pm25: 10 + (i % 40) } })));
    // Publishes of 25 readings: a write holds whole publishes (a log record is written whole), so
    // WRITE_BATCH_LINES bounds a write only where publishes are smaller than it.
    for (let i = 0; i < readings.length; i += 25) await gw.publishAsync('gateways/gw-air-01/readings', JSON.stringify(readings.slice(i, i + 25)), { qos: 1 });
    proxy.mode = 'pass'; // InfluxDB is back: the backlog drains

    const total = readings.length;
    await eventually(async () => (proxy.writes.reduce((n, w) => n + w.points, 0) >= total ? true : undefined), 60_000, 'the backlog written');
    const series = await influxQuery(t.database, 'SELECT count(pm25) FROM air');
    expect(series[0]?.values[0]?.[1]).toBe(total);

    const writes = proxy.writes;
    expect(writes.length).toBeGreaterThanOrEqual(Math.ceil(total / BATCH));
    for (const w of writes) expect(w.points).toBeLessThanOrEqual(BATCH);
    const t0 = writes[0]!.atMs;
    let cumulative = 0;
    for (const w of writes) {
      cumulative += w.points;
      const allowed = CAP + BATCH + (CAP * (w.atMs - t0)) / 1000 + 1; // 1 point of rounding
      expect(cumulative, `after ${((w.atMs - t0) / 1000).toFixed(2)} s`).toBeLessThanOrEqual(allowed);
    }
  });
});
