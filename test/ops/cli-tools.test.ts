// The operator's command-line tools run as an operator runs them (child processes of
// `node ops/….ts`): `gateways` against a running broker (add, list, rotate, revoke; refusals and
// usage errors with their exit codes), `backtest` against the real InfluxDB, and `rollups` (a rebuild
// that leaves out what officers marked invalid, as the server does).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePoints } from '../api/fixtures.ts';
import { influxRows, influxUrl } from '../support/influx.ts';
import { createValidationStore } from '../../api/validation-store.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
let t: TestQuantrac;
beforeAll(async () => {
  t = await startTestQuantrac();
});
afterAll(async () => t?.stop());

const tool = (name: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [join(root, 'ops', name), ...args], { cwd: root, env: { ...process.env, DATA_DIR: t.dataDir, ...env } });
const connect = (id: string, password: string) => mqtt.connectAsync(t.mqttUrl, { clientId: id, username: id, password, protocolVersion: 4, reconnectPeriod: 0 });

describe('npm run gateways', () => {
  it('adds a gateway that connects at once, rotates it (old session ended, old password refused) and revokes it', async () => {
    const added = (await tool('gateways.ts', ['add', 'gw-air-05'])).stdout.trim();
    expect(added.length).toBeGreaterThanOrEqual(20);
    const first = await connect('gw-air-05', added);
    expect((await tool('gateways.ts', ['list'])).stdout).toMatch(/^gw-air-05\tgateway\tcreated \S+$/m);
    await expect(tool('gateways.ts', ['add', 'gw-air-05'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/already has a credential; use rotate/) });

    const closed = new Promise<void>((r) => first.once('close', () => r()));
    const rotated = (await tool('gateways.ts', ['rotate', 'gw-air-05'])).stdout.trim();
    expect(rotated).not.toBe(added);
    await closed; // the broker ends the session of the old credential
    await expect(connect('gw-air-05', added)).rejects.toThrow(/Bad username or password|Not authorized/);
    const second = await connect('gw-air-05', rotated);

    const ended = new Promise<void>((r) => second.once('close', () => r()));
    await tool('gateways.ts', ['revoke', 'gw-air-05']);
    await ended;
    await expect(connect('gw-air-05', rotated)).rejects.toThrow(/Bad username or password|Not authorized/);
    expect((await tool('gateways.ts', ['list'])).stdout).toMatch(/^gw-air-05\tgateway\tcreated \S+\trevoked \S+$/m);
  });

  it('adds a read-only consumer and refuses bad ids and bad usage with distinct exit codes', async () => {
    await tool('gateways.ts', ['add', 'city-dashboard', '--consumer']);
    expect((await tool('gateways.ts', ['list'])).stdout).toMatch(/^city-dashboard\tconsumer\t/m);
    await expect(tool('gateways.ts', ['add', 'GW_Bad'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/not a valid id/) });
    await expect(tool('gateways.ts', ['rotate', 'gw-never'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/has no credential/) });
    await expect(tool('gateways.ts', [])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage:/) });
    await expect(tool('gateways.ts', ['add', 'gw-x', '--admin'])).rejects.toMatchObject({ code: 2 });
  });
});

describe('npm run backtest', () => {
  const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000; // recent: inside any retention policy
  const iso = (ms: number) => new Date(ms).toISOString();
  beforeAll(async () => {
    await t.q.influx.ensureDatabase();
    // Long Biên to level II, Sơn Tây to level I (as the officer API test's readings).
    await writePoints(t.database, [`flood,station=flood-longbien level_m=10.6 ${T0}`, `flood,station=flood-sontay level_m=12.5 ${T0}`, `flood,station=flood-longbien level_m=10.7 ${T0 + 600_000}`]);
  });
  const env = () => ({ INFLUX_URL: influxUrl(), INFLUX_DATABASE: t.database });

  it('prints the alerts the stored readings would have raised, as JSON and as text', async () => {
    const args = ['--from', iso(T0 - 3_600_000), '--to', iso(T0 + 3_600_000), '--stations', 'flood-longbien,flood-sontay'];
    const json = JSON.parse((await tool('backtest.ts', [...args, '--json'], env())).stdout) as { readings: number; byRule: Record<string, { opened: number }>; events: { type: string; stationId: string; level: string }[] };
    expect(json.readings).toBe(3);
    expect(json.byRule['flood-river-level']?.opened).toBe(2);
    expect(json.events.filter((e) => e.type === 'opened').map((e) => `${e.stationId}:${e.level}`).sort()).toEqual(['flood-longbien:II', 'flood-sontay:I']);
    const text = (await tool('backtest.ts', args, env())).stdout;
    expect(text).toMatch(/: 3 readings/);
    expect(text).toMatch(/opened\s+flood-longbien\s+flood-river-level\s+II \(severe\)/);
    expect(text).toMatch(/still active at the end: 2/);
  });

  it('refuses bad arguments (2) and a bad rules file (2, with the problem)', async () => {
    await expect(tool('backtest.ts', ['--from', 'yesterday'], env())).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage:/) });
    await expect(tool('backtest.ts', ['--from', iso(T0 + 3_600_000), '--to', iso(T0)], env())).rejects.toMatchObject({ code: 2 });
    const bad = join(root, 'package.json'); // JSON, but not a rules file
    await expect(tool('backtest.ts', ['--from', iso(T0 - 3_600_000), '--to', iso(T0 + 3_600_000), '--rules', bad], env())).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/ALERT_RULES_PATH/) });
  });
});

describe('npm run rollups', () => {
  const H = 3_600_000;
  const T0 = Math.floor(Date.now() / H) * H - 5 * H; // recent: inside any retention policy
  const iso = (ms: number) => new Date(ms).toISOString();
  const env = () => ({ INFLUX_URL: influxUrl(), INFLUX_DATABASE: t.database });

  it('rebuilds the hours of a range from raw readings, leaving out values marked invalid in DATA_DIR/validations.json', async () => {
    await t.q.influx.ensureDatabase();
    // air-002: PM2.5 30 in the first hour, 300 in the second (the second marked invalid by an officer).
    const lines = Array.from({ length: 24 }, (_, i) => `air,station=air-002 pm25=${i < 12 ? 30 : 300},pm10=50 ${T0 + i * 5 * 60_000}`);
    await writePoints(t.database, lines);
    createValidationStore(join(t.dataDir, 'validations.json')).add({ station: 'air-002', parameter: 'pm25', fromMs: T0 + H, toMs: T0 + 2 * H, status: 'invalid', reason: 'inlet blocked', by: 'lan' });
    const out = await tool('rollups.ts', ['--from', iso(T0), '--to', iso(T0 + 2 * H), '--stations', 'air-002'], env());
    expect(out.stdout).toMatch(/^rebuilt 2 station-hours/);
    const hours = await influxRows(t.database, `SELECT pm25_count, pm25_mean, pm10_count FROM "rollups"."air_1h" WHERE "station" = 'air-002' ORDER BY time`);
    expect(hours).toEqual([
      { time: T0, pm25_count: 12, pm25_mean: 30, pm10_count: 12 },
      { time: T0 + H, pm25_count: 0, pm25_mean: null, pm10_count: 12 },
    ]);
    await expect(tool('rollups.ts', ['--from', 'yesterday'], env())).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage:/) });
  });
});
