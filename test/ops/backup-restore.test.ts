// Backup while running, restore on "another machine": a real quantrac with readings, an alert, an
// account and a gateway credential, InfluxDB writes failing through the fault proxy so the log
// holds un-drained readings; `npm run backup` (DATA_DIR + `influxd backup -portable` over RPC);
// `npm run restore` into a fresh DATA_DIR and a fresh private influxd; quantrac started there has
// every reading exactly once (by station + seq), the alert, the account and the credential. The
// settings outside DATA_DIR (environment file, station registry, alert rules) travel with it.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { startLocalInfluxd, type LocalInfluxd } from '../../ops/local-influxd.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { influxRows } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const DB = 'qbackup';
const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.now() - 2 * 3_600_000;
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();
const publish = (c: MqttClient, station: string, seq: number, values: Record<string, number>) =>
  c.publishAsync(`sensors/${station}/reading`, JSON.stringify({ ts: at(seq), seq, values }), { qos: 1 });

async function login(t: TestQuantrac, user: string, password: string): Promise<string> {
  const res = await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function alertsOf(t: TestQuantrac, token: string): Promise<{ id: string; state: string; level: { key: string } }[]> {
  const body = (await (await fetch(`${t.httpUrl}/api/alerts`, { headers: { authorization: `Bearer ${token}` } })).json()) as unknown;
  return (Array.isArray(body) ? body : (body as { alerts: unknown[] }).alerts) as { id: string; state: string; level: { key: string } }[];
}

/** seq values stored per station, sorted. */
async function seqsByStation(url: string): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const m of ['air', 'flood']) {
    const rows = await influxRows(DB, `SELECT "seq", "station" FROM "${m}"`, url);
    for (const r of rows) (out[r.station as string] ??= []).push(r.seq as number);
  }
  for (const s of Object.values(out)) s.sort((a, b) => a - b);
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('backup and restore', () => {
  it('restores a running quantrac onto a fresh DATA_DIR and influxd with nothing lost', async () => {
    // --- the running installation ---
    const influxA: LocalInfluxd = await startLocalInfluxd({ dir: tmp('quantrac-influx-a-') });
    stops.push(() => influxA.stop());
    const proxy: FaultProxy = await startFaultProxy(influxA.url);
    stops.push(() => proxy.close());
    const dataA = tmp('quantrac-data-a-');
    await setUser(join(dataA, 'users.json'), 'lan', 'officer', 'officer-pw-lan');
    await setGatewayPassword(join(dataA, 'gateways.json'), 'gw-spare', 'spare-gateway-pass');
    const a = await startTestQuantrac({ INFLUX_URL: proxy.url, DATA_DIR: dataA, INFLUX_DATABASE: DB, SHUTDOWN_DRAIN_MS: '100', WRITE_BACKOFF_BASE_MS: '50', WRITE_BACKOFF_MAX_MS: '200' });
    stops.push(() => a.stop());
    const air = await a.connectGateway('gw-air-01');
    const river = await a.connectGateway('gw-river');
    for (let s = 1; s <= 20; s++) await publish(air, 'air-001', s, { pm25: 20 + s, pm10: 40 });
    for (const [s, level] of [[1, 9.0], [2, 9.6], [3, 10.6]] as const) await publish(river, 'flood-longbien', s, { level_m: level });
    await a.q.flushed();
    const officer = await login(a, 'lan', 'officer-pw-lan');
    const alertsBefore = await alertsOf(a, officer);
    expect(alertsBefore.map((x) => [x.state, x.level.key])).toContainEqual(['active', 'II']);

    // InfluxDB refuses writes now: these readings are acknowledged and held by the log only.
    proxy.mode = '503';
    for (let s = 21; s <= 40; s++) await publish(air, 'air-001', s, { pm25: 20 + s, pm10: 40 });
    for (let s = 1; s <= 10; s++) await publish(air, 'air-002', s, { pm25: 30 + s, pm10: 50 });
    expect((await seqsByStation(influxA.url))['air-001']).toEqual(range(1, 20));

    // --- backup while quantrac runs ---
    const backupDir = join(tmp('quantrac-backup-'), 'b1');
    const env = { ...process.env, DATA_DIR: dataA, INFLUX_DATABASE: DB, INFLUX_URL: proxy.url };
    const b = await run(process.execPath, [join(root, 'ops/backup.ts'), '--out', backupDir, '--influx-rpc', influxA.rpcAddress], { cwd: root, env });
    expect(b.stdout).toMatch(/InfluxDB database qbackup/);
    const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as { files: { path: string }[] };
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['users.json', 'gateways.json', 'api-token-secret', 'audit.jsonl']));
    expect(paths.some((p) => p.startsWith('influxdb/'))).toBe(false);
    await air.endAsync();
    await river.endAsync();
    await a.stop();
    stops.pop();

    // --- another machine: fresh DATA_DIR, fresh influxd ---
    const influxB = await startLocalInfluxd({ dir: tmp('quantrac-influx-b-') });
    stops.push(() => influxB.stop());
    const dataB = join(tmp('quantrac-data-b-'), 'data');
    const r = await run(process.execPath, [join(root, 'ops/restore.ts'), '--from', backupDir, '--influx-rpc', influxB.rpcAddress], {
      cwd: root, env: { ...process.env, DATA_DIR: dataB, INFLUX_DATABASE: DB, INFLUX_URL: influxB.url },
    });
    expect(r.stdout).toMatch(/restore: \d+ files/);
    // Before quantrac starts, the restored database holds what InfluxDB A had: the drained readings.
    expect((await seqsByStation(influxB.url))['air-001']).toEqual(range(1, 20));

    const c = await startTestQuantrac({ INFLUX_URL: influxB.url, DATA_DIR: dataB, INFLUX_DATABASE: DB });
    stops.push(() => c.stop());
    await c.q.flushed();
    // Every reading exactly once: the drained ones from the InfluxDB backup, the rest from the log.
    expect(await seqsByStation(influxB.url)).toEqual({ 'air-001': range(1, 40), 'air-002': range(1, 10), 'flood-longbien': range(1, 3) });
    // The same alert (id, state, level), the officer account, the gateway credential.
    const alertsAfter = await alertsOf(c, await login(c, 'lan', 'officer-pw-lan'));
    expect(alertsAfter.map((x) => [x.id, x.state, x.level.key]).sort()).toEqual(alertsBefore.map((x) => [x.id, x.state, x.level.key]).sort());
    const spare = await mqtt.connectAsync(c.mqttUrl, { clientId: 'gw-spare', username: 'gw-spare', password: 'spare-gateway-pass', protocolVersion: 4, reconnectPeriod: 0 });
    expect(spare.connected).toBe(true);
    await spare.endAsync();
    // The stations served are the registry's, as before.
    const stations = (await (await fetch(`${c.httpUrl}/api/stations`)).json()) as unknown;
    expect(JSON.stringify(stations)).toContain('flood-longbien');
  }, 120_000);

  it('carries the settings outside DATA_DIR: the restored server has the same stations and alert rules', async () => {
    // The operator's own files, as in /etc/quantrac: a registry without flood-sontay, edited rules,
    // and the environment file that names them (the installed `quantrac` command sets QUANTRAC_ENV_FILE).
    const etc = tmp('quantrac-etc-');
    const registry = JSON.parse(readFileSync(join(root, 'contracts/stations.json'), 'utf8')) as { stations: { id: string }[] };
    registry.stations = registry.stations.filter((st) => st.id !== 'flood-sontay');
    const paths = { registry: join(etc, 'stations.json'), rules: join(etc, 'rules.json'), settings: join(etc, 'quantrac.env') };
    writeFileSync(paths.registry, JSON.stringify(registry, null, 2));
    writeFileSync(paths.rules, readFileSync(join(root, 'ingest/alerts/rules.default.json'), 'utf8').replace('"version": 1', '"version": 7'));
    writeFileSync(paths.settings, `REGISTRY_PATH=${paths.registry}\nALERT_RULES_PATH=${paths.rules}\n`);
    const saved = Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, readFileSync(p, 'utf8')]));
    const dataA = tmp('quantrac-data-s-');
    await setUser(join(dataA, 'users.json'), 'lan', 'officer', 'officer-pw-lan');
    const backupDir = join(tmp('quantrac-backup-s-'), 'b');
    const b = await run(process.execPath, [join(root, 'ops/backup.ts'), '--out', backupDir, '--no-influx'], {
      cwd: root, env: { ...process.env, DATA_DIR: dataA, REGISTRY_PATH: paths.registry, ALERT_RULES_PATH: paths.rules, QUANTRAC_ENV_FILE: paths.settings },
    });
    expect(b.stdout).toContain(`settings ${paths.settings}, ${paths.registry}, ${paths.rules}`);

    // Another machine: the old files are gone; a fresh install generated its own settings file.
    rmSync(etc, { recursive: true });
    mkdirSync(etc);
    writeFileSync(paths.settings, '# generated by a fresh install\n');
    const dataB = join(tmp('quantrac-data-t-'), 'd');
    const r = await run(process.execPath, [join(root, 'ops/restore.ts'), '--from', backupDir, '--no-influx'], { cwd: root, env: { ...process.env, DATA_DIR: dataB } });
    expect(r.stdout).toContain(`settings file ${paths.registry} put back`);
    expect(r.stdout).toContain(`settings file ${paths.rules} put back`);
    // Never written over: the operator is shown the backup's copy.
    const settingsCopy = join(backupDir, 'config', 'settings-quantrac.env');
    expect(r.stdout).toContain(`settings file ${paths.settings} not restored (differs from the backup); the backup's copy is ${settingsCopy}`);
    expect(readFileSync(paths.settings, 'utf8')).toBe('# generated by a fresh install\n');
    expect(readFileSync(settingsCopy, 'utf8')).toBe(saved.settings);
    expect(readFileSync(paths.registry, 'utf8')).toBe(saved.registry);
    expect(readFileSync(paths.rules, 'utf8')).toBe(saved.rules);

    // Started with the backed-up settings, the restored server serves the operator's stations and rules.
    const env = Object.fromEntries(saved.settings!.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
    const c = await startTestQuantrac({ DATA_DIR: dataB, ...env });
    stops.push(() => c.stop());
    const listed = (await (await fetch(`${c.httpUrl}/api/stations?limit=1000`)).json()) as { total: number };
    expect(listed.total).toBe(registry.stations.length);
    expect((await fetch(`${c.httpUrl}/api/stations/flood-sontay`)).status).toBe(404);
    const audit = readFileSync(join(dataB, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; detail?: { version?: number } });
    expect(audit.filter((e) => e.action === 'alert.rules.load').at(-1)?.detail?.version).toBe(7);
    await login(c, 'lan', 'officer-pw-lan');
  }, 60_000);

  it('refuses to restore over a DATA_DIR in use, and a damaged backup', async () => {
    const dataA = tmp('quantrac-data-x-');
    await setUser(join(dataA, 'users.json'), 'lan', 'officer', 'officer-pw-lan');
    const backupDir = join(tmp('quantrac-backup-x-'), 'b');
    await run(process.execPath, [join(root, 'ops/backup.ts'), '--out', backupDir, '--no-influx'], { cwd: root, env: { ...process.env, DATA_DIR: dataA } });
    const overUsed = await run(process.execPath, [join(root, 'ops/restore.ts'), '--from', backupDir, '--no-influx'], { cwd: root, env: { ...process.env, DATA_DIR: dataA } }).catch((e: { code: number; stderr: string }) => e);
    expect((overUsed as { code: number }).code).toBe(2);
    expect((overUsed as { stderr: string }).stderr).toMatch(/not empty/);
    writeFileSync(join(backupDir, 'data', 'users.json'), '{"version":1,"users":{}}\n');
    const damaged = await run(process.execPath, [join(root, 'ops/restore.ts'), '--from', backupDir, '--no-influx'], { cwd: root, env: { ...process.env, DATA_DIR: join(tmp('quantrac-data-y-'), 'd') } }).catch((e: { code: number; stderr: string }) => e);
    expect((damaged as { code: number }).code).toBe(1);
    expect((damaged as { stderr: string }).stderr).toMatch(/users\.json does not match its checksum/);
  });
});
