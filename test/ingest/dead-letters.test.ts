// Every rejection reason reaches the gateway's dead-letter topic with the reason, is counted, and
// never takes the valid readings around it down — through the real broker, pipeline and InfluxDB.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECT_REASONS, type DeadLetter } from '../../contracts/reading.ts';
import { eventually, influxRows } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;
let gw: MqttClient;
const letters: DeadLetter[] = [];

beforeAll(async () => {
  t = await startTestQuantrac({ INGEST_MAX_PAYLOAD_BYTES: '512', INGEST_MAX_BATCH_READINGS: '3', INGEST_MAX_JSON_DEPTH: '4', INGEST_MAX_AGE_MS: String(7 * 86_400_000) });
  gw = await t.connectGateway('gw-air-01');
  gw.on('message', (_topic, payload) => letters.push(JSON.parse(String(payload)) as DeadLetter));
  await gw.subscribeAsync('gateways/gw-air-01/deadletter', { qos: 1 });
});
afterAll(async () => t?.stop());

const now = () => Date.now() - 1000;
const good = (seq: number) => ({ ts: now() - seq, seq, values: { pm25: 10 + seq } });
/**
 * Neighbours carry pm10 only: the test turns pm25 into a string field of this shard (below). Each
 * has its own timestamp (two published within a millisecond would be one point in InfluxDB).
 */
const NEIGHBOURS_FROM = Date.now() - 120_000;
const neighbour = (seq: number) => ({ ts: NEIGHBOURS_FROM + seq * 1000, seq, values: { pm10: 10 + seq } });

describe('dead letters', () => {
  it('reports each reason to the gateway and keeps every valid reading', async () => {
    // pm25 as a string in this shard (field types are per measurement and shard): a float pm25 is
    // then refused by InfluxDB itself.
    await fetch(`${t.q.config.INFLUX_URL}/write?db=${t.database}&precision=ms`, { method: 'POST', body: `air,station=air-003 pm25="broken" ${now() - 60_000}` });
    const cases: [string, string, string | object][] = [
      ['payload_too_large', 'sensors/air-001/reading', JSON.stringify({ ...good(0), pad: 'x'.repeat(600) })],
      ['malformed_json', 'sensors/air-001/reading', '{"ts":'],
      ['too_deep', 'sensors/air-001/reading', '{"values":{"a":{"b":{"c":{"d":1}}}}}'],
      ['not_an_object', 'sensors/air-001/reading', '[1]'],
      ['batch_too_large', 'gateways/gw-air-01/readings', [good(1), good(2), good(3), good(4)].map((r) => ({ ...r, station: 'air-002' }))],
      ['schema', 'sensors/air-001/reading', { ts: now() }],
      ['unknown_station', 'gateways/gw-air-01/readings', [{ ...good(5), station: 'air-404' }]],
      ['station_mismatch', 'sensors/air-001/reading', { ...good(6), station: 'air-002' }],
      ['not_authorized', 'gateways/gw-air-01/readings', [{ ...good(7), station: 'air-099' }]],
      ['wrong_kind_parameter', 'sensors/air-001/reading', { ...good(8), values: { ph: 7 } }],
      ['empty_values', 'sensors/air-001/reading', { ...good(9), values: {} }],
      ['not_a_number', 'sensors/air-001/reading', { ...good(10), values: { pm25: 'NaN' } }],
      ['out_of_range', 'sensors/air-001/reading', { ...good(11), values: { pm25: 99999 } }],
      ['bad_timestamp', 'sensors/air-001/reading', { ...good(12), ts: 'now' }],
      ['timestamp_in_future', 'sensors/air-001/reading', { ...good(13), ts: Date.now() + 3_600_000 }],
      ['timestamp_too_old', 'sensors/air-001/reading', { ...good(14), ts: Date.now() - 30 * 86_400_000 }],
      ['bad_seq', 'sensors/air-001/reading', { ...good(15), seq: 'one' }],
      ['bad_status', 'sensors/air-001/reading', { ...good(17), status: '07' }],
      ['database_rejected', 'sensors/air-003/reading', good(16)],
    ];
    let seq = 100;
    for (const [, topic, payload] of cases) {
      await gw.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
      await gw.publishAsync('sensors/air-002/reading', JSON.stringify(neighbour(seq++)), { qos: 1 });
    }
    await eventually(async () => (cases.every(([reason]) => letters.some((l) => l.reason === reason)) ? true : undefined), 20_000, 'a dead letter for every reason');
    for (const [reason, topic] of cases) {
      const letter = letters.find((l) => l.reason === reason)!;
      expect(letter.detail.length, reason).toBeGreaterThan(5);
      if (reason !== 'database_rejected') expect(letter.topic, reason).toBe(topic);
    }
    // 'missing_parameter' needs a rain station; every other reason of the catalogue is covered here.
    expect(REJECT_REASONS.filter((r) => !cases.some(([c]) => c === r))).toEqual(['missing_parameter']);

    const rows = await eventually(async () => {
      const r = await influxRows(t.database, `SELECT "seq" FROM "air" WHERE "station" = 'air-002' AND "seq" >= 100`);
      return r.length === cases.length ? r : undefined;
    }, 15_000, 'every valid neighbour stored');
    expect(rows).toHaveLength(cases.length);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/quantrac_points_rejected_total [1-9]/);
    expect(metrics).toMatch(/quantrac_readings_rejected_total\{reason="too_deep"[^}]*\} 1/);
  });
});
