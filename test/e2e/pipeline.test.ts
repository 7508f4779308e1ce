// The whole pipeline end to end: gateways publish over MQTT/TCP to the real broker, readings of
// all four kinds land in the real InfluxDB and on /ws/live, and bad readings published in between
// are rejected with their reasons while every valid one lands.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import type { DeadLetter, LiveReading } from '../../contracts/reading.ts';
import { eventually, influxRows } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const run = promisify(execFile);

let t: TestQuantrac;
const live: LiveReading[] = [];
let ws: WebSocket;

beforeAll(async () => {
  t = await startTestQuantrac();
  ws = new WebSocket(`${t.httpUrl.replace('http', 'ws')}/ws/live`);
  ws.on('message', (data) => live.push(JSON.parse(String(data)) as LiveReading));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
});

afterAll(async () => {
  ws?.close();
  await t?.stop();
});

const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().replace('Z', '+00:00');

async function publish(client: MqttClient, topic: string, payload: unknown, qos: 0 | 1 = 1): Promise<void> {
  await client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos });
}

async function countBySeq(measurement: string, station: string): Promise<Map<number, number>> {
  const rows = await influxRows(t.database, `SELECT "seq" FROM "${measurement}" WHERE "station" = '${station}'`);
  const counts = new Map<number, number>();
  for (const r of rows) counts.set(r.seq as number, (counts.get(r.seq as number) ?? 0) + 1);
  return counts;
}

describe('readings of all four kinds flow from MQTT to InfluxDB and /ws/live', () => {
  it('stores every valid reading exactly once and rejects each bad one with its reason', async () => {
    const air = await t.connectGateway('gw-air-01');
    const water = await t.connectGateway('gw-water-01');
    const rain = await t.connectGateway('gw-rain-01');
    const street = await t.connectGateway('gw-street-01');
    const river = await t.connectGateway('gw-river');
    const letters: DeadLetter[] = [];
    air.on('message', (_topic, payload) => letters.push(JSON.parse(String(payload)) as DeadLetter));
    await air.subscribeAsync('gateways/gw-air-01/deadletter', { qos: 1 });

    const valid: { station: string; kind: string; seq: number }[] = [];
    const bad: { payload: unknown; reason: string }[] = [
      { payload: '{"ts": "2026-11-23T10:00:00+07:00", "values": {', reason: 'malformed_json' },
      { payload: { ts: iso(1000), seq: 900, values: { level_m: 3 } }, reason: 'wrong_kind_parameter' },
      { payload: { ts: iso(1000), seq: 901, values: { pm25: 'high' } }, reason: 'not_a_number' },
      { payload: { ts: iso(1000), seq: 902, values: { pm25: -3 } }, reason: 'out_of_range' },
      { payload: { ts: 'yesterday', seq: 903, values: { pm25: 10 } }, reason: 'bad_timestamp' },
      { payload: { ts: iso(-3_600_000), seq: 904, values: { pm25: 10 } }, reason: 'timestamp_in_future' },
      { payload: { ts: iso(1000), seq: 905, values: {} }, reason: 'empty_values' },
    ];
    for (let i = 0; i < 10; i++) {
      // A valid reading, then a bad one: the bad one must not take its neighbours down.
      await publish(air, 'sensors/air-001/reading', { ts: iso(60_000 * (10 - i)), seq: i, values: { pm25: 30 + i, pm10: 50 + i, no2: 20 } });
      valid.push({ station: 'air-001', kind: 'air', seq: i });
      const b = bad[i % bad.length]!;
      await publish(air, 'sensors/air-001/reading', b.payload);
    }
    await publish(air, 'sensors/air-099/reading', { ts: iso(1000), seq: 1, values: { pm25: 1 } }); // another gateway's station
    await publish(water, 'sensors/water-001/reading', { ts: iso(2000), seq: 7, values: { ph: 7.1, do_mgl: 5.5, turbidity_ntu: 30, conductivity_uscm: 420, temp_c: 24 } });
    valid.push({ station: 'water-001', kind: 'water', seq: 7 });
    await publish(rain, 'sensors/rain-001/reading', { ts: Date.now() - 3000, seq: 3, values: { rain_mm: 2.4, interval_s: 300 } });
    valid.push({ station: 'rain-001', kind: 'rain', seq: 3 });
    await publish(street, 'sensors/street-001/reading', { ts: iso(4000), seq: 11, values: { depth_cm: 12 } });
    valid.push({ station: 'street-001', kind: 'flood', seq: 11 });
    await publish(river, 'gateways/gw-river/readings', [
      { station: 'flood-longbien', ts: iso(5000), seq: 21, values: { level_m: 8.9 } },
      { station: 'flood-sontay', ts: iso(5000), seq: 22, values: { level_m: 11.7 } },
      { station: 'flood-nowhere', ts: iso(5000), seq: 23, values: { level_m: 1 } },
      { station: 'flood-sontay', ts: iso(4000), seq: 24, values: { depth_cm: 3 } },
    ]);
    valid.push({ station: 'flood-longbien', kind: 'flood', seq: 21 }, { station: 'flood-sontay', kind: 'flood', seq: 22 });

    for (const v of valid) {
      const counts = await eventually(async () => {
        const c = await countBySeq(v.kind, v.station);
        return c.has(v.seq) ? c : undefined;
      }, 15_000, `${v.station} seq ${v.seq} in InfluxDB`);
      expect(counts.get(v.seq), `${v.station} seq ${v.seq} stored once`).toBe(1);
    }
    // Nothing invalid was stored: air-001 holds exactly the ten valid sequence numbers.
    expect([...(await countBySeq('air', 'air-001')).keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    await eventually(async () => (valid.every((v) => live.some((l) => l.station === v.station && l.seq === v.seq)) ? true : undefined), 10_000, 'live stream');
    const liveAir = live.find((l) => l.station === 'air-001' && l.seq === 3)!;
    expect(liveAir).toMatchObject({ type: 'reading', kind: 'air', values: { pm25: 33, pm10: 53, no2: 20 } });

    await eventually(async () => (letters.length >= 11 ? true : undefined), 10_000, 'dead letters');
    const reasons = letters.map((l) => l.reason);
    for (const b of bad) expect(reasons).toContain(b.reason);
    expect(reasons).toContain('not_authorized');
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    for (const reason of ['malformed_json', 'out_of_range', 'unknown_station', 'wrong_kind_parameter', 'not_authorized']) {
      expect(metrics).toMatch(new RegExp(`quantrac_readings_rejected_total\\{reason="${reason}"[^}]*\\} [1-9]`));
    }
    // The process beside the pipeline: memory, heap and event-loop lag for operators.
    expect(metrics).toMatch(/^process_resident_memory_bytes [1-9]/m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes [1-9]/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
  });

  it('serves stations, latest values and bucketed means over HTTP', async () => {
    const stations = (await (await fetch(`${t.httpUrl}/api/stations`)).json()) as { stations: { id: string; kind: string }[] };
    expect(stations.stations.find((s) => s.id === 'flood-longbien')).toMatchObject({ kind: 'flood', floodType: 'river', levelsM: { I: 9.5, II: 10.5, III: 11.5 } });
    const latest = (await (await fetch(`${t.httpUrl}/api/stations/air-001/latest`)).json()) as { latest: LiveReading };
    expect(latest.latest).toMatchObject({ station: 'air-001', seq: 9, values: { pm25: 39, pm10: 59 } });
    const series = (await (await fetch(`${t.httpUrl}/api/stations/air-001/readings?every=1h`)).json()) as {
      buckets: { values: { pm25: { mean: number; count: number } } }[];
    };
    const total = series.buckets.reduce((n, b) => n + b.values.pm25.count, 0);
    expect(total).toBe(10);
    const res = await fetch(`${t.httpUrl}/api/stations/nope/latest`);
    expect(res.status).toBe(404);
    expect((await fetch(`${t.httpUrl}/api/stations/air-001/readings?every=7x`)).status).toBe(400);
  });

  it('takes a reading published by hand with mosquitto_pub, as the README shows', async () => {
    const password = await setGatewayPassword(t.q.config.credentialsPath, 'gw-air-01');
    const port = new URL(t.mqttUrl).port;
    const ts = new Date().toISOString();
    await run('mosquitto_pub', [
      '-h', '127.0.0.1', '-p', port, '-q', '1',
      '-i', 'gw-air-01', '-u', 'gw-air-01', '-P', password,
      '-t', 'sensors/air-002/reading',
      '-m', JSON.stringify({ ts, seq: 42, values: { pm25: 41.2, pm10: 63.0 } }),
    ]);
    const latest = await eventually(async () => {
      const body = (await (await fetch(`${t.httpUrl}/api/stations/air-002/latest`)).json()) as { latest: LiveReading | null };
      return body.latest?.seq === 42 ? body.latest : undefined;
    }, 15_000, 'air-002 latest');
    expect(latest.values).toEqual({ pm25: 41.2, pm10: 63 });
  });
});
