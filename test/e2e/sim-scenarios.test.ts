// The simulator's scenarios and faults run through the real pipeline (broker, ingest, alert engine,
// InfluxDB): the Yagi-like flood opens and later clears levels I and II at Long Biên, the winter
// smog raises VN_AQI alerts, and each injected fault is rejected or flagged as intended and counted.
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { setUser } from '../../api/auth.ts';
import type { AlertEvent } from '../../contracts/alerts.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { applyFault, batchMessages, generateScenarioReadings, singleMessage, toWireItems } from '../../sensors-sim/index.ts';
import { PAYLOAD_FAULTS, type PayloadFault } from '../../sensors-sim/faults.ts';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const HOUR = 3_600_000;
let t: TestQuantrac;
const events: AlertEvent[] = [];
let ws: WebSocket;

beforeAll(async () => {
  t = await startTestQuantrac({ INGEST_MAX_AGE_MS: String(10 * 24 * HOUR) });
  await setUser(join(t.dataDir, 'users.json'), 'lan', 'officer', 'officer-pw');
  const res = await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'lan', password: 'officer-pw' }) });
  const { token } = (await res.json()) as { token: string };
  ws = new WebSocket(`${t.httpUrl.replace('http', 'ws')}/ws/officer`, { headers: { authorization: `Bearer ${token}` } });
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { type: string; event?: AlertEvent };
    if (m.type === 'event' && m.event) events.push(m.event);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
});

afterAll(async () => {
  ws?.close();
  await t?.stop();
});

async function publishAll(client: MqttClient, messages: { topic: string; payload: string }[]): Promise<void> {
  const inflight = new Set<Promise<unknown>>();
  for (const m of messages) {
    const p = client.publishAsync(m.topic, m.payload, { qos: 1 }).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 50) await Promise.race(inflight);
  }
  await Promise.all(inflight);
}

const metricValue = async (name: string, labels: string): Promise<number> => {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.split(',').every((kv) => l.includes(kv)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
};

describe('scenarios through the pipeline', () => {
  it('yagi-flood opens level I, escalates to II and clears at Long Biên', async () => {
    const start = Date.now() - 5 * 24 * HOUR;
    const readings = generateScenarioReadings({ scenario: 'yagi-flood', start, durationMs: 5 * 24 * HOUR - 60_000, stations: ['flood-longbien'] });
    const gw = await t.connectGateway('gw-river');
    await publishAll(gw, batchMessages('gw-river', readings.map((r) => toWireItems(r, 7, undefined)[0]!), 100));
    const mine = () => events.filter((e) => e.alert.stationId === 'flood-longbien' && e.alert.ruleId === 'flood-river-level');
    await eventually(async () => (mine().some((e) => e.type === 'cleared') ? true : undefined), 30_000, 'the flood alert to clear');
    const seq = mine().map((e) => `${e.type}:${e.alert.level.key}`);
    expect(seq[0]).toBe('opened:I');
    expect(seq).toContain('escalated:II');
    expect(seq.at(-1)?.startsWith('cleared')).toBe(true);
    expect(new Set(mine().map((e) => e.alert.id)).size).toBe(1); // one alert, from opening to withdrawal
    expect(mine().find((e) => e.type === 'cleared')!.alert.peakLevel.key).toBe('II');
  });

  it('winter-smog raises VN_AQI alerts at air stations', async () => {
    const stations = loadRegistry().ofGateway('gw-air-02').slice(0, 3).map((s) => s.id);
    const readings = generateScenarioReadings({ scenario: 'winter-smog', start: Date.now() - 30 * HOUR, durationMs: 30 * HOUR - 60_000, stations });
    expect(readings.some((r) => (r.values.pm25 ?? 0) > 150)).toBe(true);
    const gw = await t.connectGateway('gw-air-02');
    await publishAll(gw, batchMessages('gw-air-02', readings.map((r) => toWireItems(r, 7, undefined)[0]!), 100));
    await eventually(
      async () => (events.some((e) => e.type === 'opened' && e.alert.ruleId === 'air-vn-aqi-hourly' && stations.includes(e.alert.stationId)) ? true : undefined),
      30_000,
      'a VN_AQI alert',
    );
    // Alerts are judged by a consumer of the log, after the acknowledgements: wait for the episode's height.
    const worst = () => Math.max(...events.filter((e) => e.alert.ruleId === 'air-vn-aqi-hourly').map((e) => e.alert.peakValue));
    await eventually(async () => (worst() > 150 ? true : undefined), 30_000, 'the alert at the height of the episode').catch(() => undefined);
    expect(worst()).toBeGreaterThan(150); // Xấu (151+) or worse at the height of the episode
  });

  it('rejects or flags each injected fault as intended, and counts it', async () => {
    const registry = loadRegistry();
    const stations = registry.ofGateway('gw-air-03').slice(0, 4);
    const readings = generateScenarioReadings({ scenario: 'normal', start: Date.now() - 6 * HOUR, durationMs: 6 * HOUR - 60_000, stations });
    // Every 5th reading of each station carries a fault, the kinds in turn.
    const faults = new Map<PayloadFault, number>();
    // A skewed clock is only detectable when it puts the reading outside the accepted window
    // (ahead of the server clock, or older than INGEST_MAX_AGE_MS); those are the ones to reject.
    let skewDetectable = 0;
    const messages = readings.flatMap((r, i) => {
      if (i % 5 !== 4) return toWireItems(r, 7, undefined).map(singleMessage);
      const kind = PAYLOAD_FAULTS[(i / 5) % PAYLOAD_FAULTS.length | 0]!;
      faults.set(kind, (faults.get(kind) ?? 0) + 1);
      const items = applyFault(kind, r);
      if (kind === 'clock-skew') {
        const ts = Date.parse(String(items[0]!.body.ts));
        if (ts > Date.now() + 5 * 60_000 || ts < Date.now() - 10 * 24 * HOUR) skewDetectable++;
      }
      return items.map(singleMessage);
    });
    expect(skewDetectable).toBeGreaterThan(0);
    const gw = await t.connectGateway('gw-air-03');
    await publishAll(gw, messages);
    const expectRejected = async (reason: string, n: number) =>
      eventually(async () => ((await metricValue('quantrac_readings_rejected_total', `reason="${reason}"`)) >= n ? true : undefined), 15_000, `${n} × ${reason}`);
    await expectRejected('malformed_json', faults.get('malformed-json')!);
    await expectRejected('out_of_range', faults.get('out-of-range')!);
    await expectRejected('not_a_number', faults.get('wrong-type')!);
    await expectRejected('unknown_station', faults.get('unknown-station')!);
    const skewed = (await metricValue('quantrac_readings_rejected_total', 'reason="timestamp_in_future"')) + (await metricValue('quantrac_readings_rejected_total', 'reason="timestamp_too_old"'));
    expect(skewed).toBe(skewDetectable);
    expect(await metricValue('quantrac_readings_duplicate_total', 'kind="air"')).toBeGreaterThanOrEqual(faults.get('duplicate')!);
    // A spike is stored with a quality flag, not rejected.
    expect(await metricValue('quantrac_readings_flagged_total', 'flag="spike"')).toBeGreaterThan(0);

    // A stuck sensor (the same values for an hour) is stored and flagged by the flat-line test: PM2.5
    // is suspect once flat for 30 minutes (ingest/quality/qc.default.json), so from its 31st reading.
    const stuckStation = registry.ofGateway('gw-air-04').slice(0, 1);
    const hourStart = Math.floor((Date.now() - 2 * HOUR) / HOUR) * HOUR; // the sensor sticks for whole clock hours
    const stuck = generateScenarioReadings({ scenario: 'normal', start: hourStart, durationMs: HOUR - 60_000, stations: stuckStation, faults: { kinds: ['stuck'], rate: 1 } });
    expect(new Set(stuck.map((r) => r.values.pm25)).size).toBe(1);
    const gw4 = await t.connectGateway('gw-air-04');
    await publishAll(gw4, stuck.map((r) => singleMessage(toWireItems(r, 7, undefined)[0]!)));
    await eventually(async () => ((await metricValue('quantrac_readings_flagged_total', 'flag="flat_line"')) >= stuck.length - 30 ? true : undefined), 15_000, 'flat-line flags');
  });
});
