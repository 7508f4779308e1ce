// Seeded fuzz of the real broker over TCP (random bytes, truncated and corrupted sessions) with a
// legitimate gateway publishing in between: no crash, no hung connection, nothing it sent lost.
// The longer run is `npm run bench` (bench/fuzz.ts runFuzzBench).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fuzzBroker, fuzzTargetFor } from '../../bench/fuzz.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;

beforeAll(async () => {
  // Every fuzz connection comes from 127.0.0.1: the connect-rate ban is tested in security.test.ts.
  t = await startTestQuantrac({ MQTT_CONNECT_BURST: '1000000', MQTT_MAX_CONNECTIONS_PER_ADDRESS: '10000' });
});

afterAll(async () => {
  await t?.stop();
});

it('survives malformed MQTT packets and loses none of the legitimate readings sent in between', async () => {
  const target = await fuzzTargetFor(t.q.config.credentialsPath, t.mqttUrl, { flushed: () => t.q.flushed(), query: (q) => t.q.influx.query(q) });
  const result = await fuzzBroker(target, { seed: 8, maxInputs: 160, concurrency: 8, legitEvery: 8 });
  expect(result).toMatchObject({ inputsTried: 160, crashes: 0, hangs: 0, lost: 0 });
  // The run reached the broker's refusal paths, not only the socket.
  const refused = (await t.q.metrics.brokerRefused.get()).values.reduce((a, v) => a + v.value, 0);
  expect(refused).toBeGreaterThan(0);
});
