// `npm run cluster` as an operator runs it (ops/cluster.ts as a child process, SIM=off, the test
// InfluxDB): every member of the process layout starts (3 nats-server, HAProxy, 2 edges, 2
// writers, 2 alert evaluators — one standby —, 1 API on HTTP_PORT), DATA_DIR/cluster.json lists
// them, `npm run cluster -- status` reports each healthy with the partitions it owns, the printed
// `npm run users` commands (add, and import of a users.json left in DATA_DIR, which cluster mode
// does not read) give officers who log in to the cluster's API, and SIGTERM stops every one of them.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { setUser } from '../../api/users-file.ts';
import { freePort } from '../../ops/local-influxd.ts';
import { eventually, influxUrl, uniqueDatabase } from '../support/influx.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'quantrac-cluster-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('starts the whole layout, reports it, and leaves no process behind on SIGTERM', async () => {
  const httpPort = await freePort();
  const env = { ...process.env, DATA_DIR: dir, SIM: 'off', MQTT_HOST: '127.0.0.1', MQTT_PORT: String(await freePort()), HTTP_PORT: String(httpPort), INFLUX_URL: influxUrl(), INFLUX_DATABASE: uniqueDatabase('cluster_cmd'), LOG_LEVEL: 'warn' };
  await setUser(join(dir, 'users.json'), 'thu', 'officer', 'mat-khau-tu-tep'); // from earlier `npm start` days
  const child = spawn(process.execPath, [join(root, 'ops/cluster.ts')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let pids: number[] = [];
  try {
    await eventually(async () => (out.includes('quantrac cluster is running.') ? true : undefined), 90_000, 'the cluster to start');
    const file = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { members: { name: string; role: string; pid: number }[] };
    pids = file.members.map((m) => m.pid);
    const roles = file.members.map((m) => m.role).sort();
    expect(roles).toEqual(['alerts', 'alerts', 'api', 'balancer', 'edge', 'edge', 'nats', 'nats', 'nats', 'writer', 'writer']);
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);

    type Status = { members: { name: string; role: string; health: string; alertPartitions?: number[]; writerPartitions?: number[] }[] };
    const status = await eventually(
      async () => {
        const r = spawnSync(process.execPath, [join(root, 'ops/cluster.ts'), 'status'], { env, encoding: 'utf8' });
        const s = JSON.parse(r.stdout) as Status;
        const owned = (k: 'alertPartitions' | 'writerPartitions') => s.members.flatMap((m) => m[k] ?? []).length;
        return r.status === 0 && owned('alertPartitions') === 16 && owned('writerPartitions') === 16 ? s : undefined;
      },
      30_000,
      'every member healthy and every partition owned',
    );
    expect(status.members.every((m) => m.health === 'healthy' || m.health === 'running')).toBe(true);
    const evaluators = status.members.filter((m) => m.role === 'alerts').map((m) => m.alertPartitions?.length ?? 0).sort();
    expect(evaluators).toEqual([0, 16]); // one active, one standby

    // Officers: the commands it printed reach the API (the accounts bucket), not a local file.
    const login = (user: string, password: string) =>
      fetch(`http://127.0.0.1:${httpPort}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
    const addLine = /NATS_URL=(\S+) npm run users -- add <user> officer/.exec(out);
    expect(addLine, 'the officer command is printed').not.toBeNull();
    expect(out).toMatch(/users\.json is not read in cluster mode; copy its accounts: NATS_URL=\S+ npm run users -- import/);
    expect((await login('thu', 'mat-khau-tu-tep')).status).toBe(401);
    const users = (...args: string[]) => spawnSync(process.execPath, [join(root, 'ops/users.ts'), ...args], { env: { ...env, NATS_URL: addLine![1]! }, encoding: 'utf8' });
    const added = users('add', 'lan', 'officer');
    expect(added.status, added.stderr).toBe(0);
    expect(users('import').status).toBe(0);
    for (const [user, password] of [['lan', added.stdout.trim()], ['thu', 'mat-khau-tu-tep']] as const) {
      await eventually(async () => ((await login(user, password)).status === 200 ? true : undefined), 5000, `${user} logs in`);
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  expect(out).toContain('quantrac cluster: stopped.');
  await eventually(async () => (pids.every((p) => !alive(p)) ? true : undefined), 10_000, 'every member gone');
}, 150_000);
