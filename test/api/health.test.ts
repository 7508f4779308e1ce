// Health endpoints as an operator and as the public see them: /readyz answers minimal public
// details (no internal address), the reasons go to an operator's token or METRICS_TOKEN; its broker
// check fails once the MQTT listener stops accepting; /metrics answers only the METRICS_TOKEN bearer.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

let t: TestQuantrac;
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
beforeAll(async () => {
  // An InfluxDB address that does not answer, so /readyz has a reason to give.
  t = await startTestQuantrac({ METRICS_TOKEN, INFLUX_URL: 'http://127.0.0.1:9', INFLUX_TIMEOUT_MS: '500' });
  await setUser(join(t.dataDir, 'users.json'), 'minh', 'operator', 'staple 42');
  await setUser(join(t.dataDir, 'users.json'), 'lan', 'officer', 'staple 43');
});
afterAll(async () => t?.stop());

const tokenOf = async (user: string, password: string) =>
  ((await (await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) })).json()) as { token: string }).token;
const readyz = async (token?: string) => {
  const res = await fetch(`${t.httpUrl}/readyz`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text() };
};

describe('/readyz', () => {
  it('tells the public only which checks fail, and an operator why', async () => {
    const pub = await readyz();
    expect(pub.status).toBe(503);
    expect(pub.text).not.toContain('127.0.0.1:9');
    expect(JSON.parse(pub.text)).toMatchObject({ status: 'not ready', checks: { influxdb: 'failing', broker: 'ok', spool: 'ok' } });
    const officer = await readyz(await tokenOf('lan', 'staple 43'));
    expect(JSON.parse(officer.text).checks.influxdb).toBe('failing'); // officers are not operators
    for (const token of [await tokenOf('minh', 'staple 42'), METRICS_TOKEN]) {
      const op = await readyz(token);
      expect(JSON.parse(op.text).checks.influxdb).toMatch(/does not answer/);
    }
  });

  it('fails the broker check once the MQTT listener no longer accepts connections', async () => {
    expect(JSON.parse((await readyz()).text).checks.broker).toBe('ok');
    await t.q.broker.close();
    const after = await readyz(METRICS_TOKEN);
    expect(after.status).toBe(503);
    expect(JSON.parse(after.text).checks.broker).toMatch(/not accepting/);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  it('answers only the configured bearer token', async () => {
    expect((await fetch(`${t.httpUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.httpUrl}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
    const ok = await fetch(`${t.httpUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('quantrac_readings_received_total');
  });
});
