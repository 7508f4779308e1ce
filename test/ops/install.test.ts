// ops/install.sh run for real into a scratch root (`--root DIR`: the same steps as on a server —
// system user, state and settings folders with their owners and modes, the code and Node 24 in
// /opt/quantrac, the portal built, the generated env file, the units, the `quantrac` command —
// minus apt-get and systemctl), then the installed unit's ExecStart started as the service user
// with the installed env file, answering /readyz; then run again, as an upgrade, keeping settings
// and data. The packages are hard-linked from this checkout, so npm ci is skipped as on an
// upgrade with an unchanged lock file (bootstrap itself: test/ops/bootstrap.test.ts).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxUrl, uniqueDatabase } from '../support/influx.ts';
import { serverProcessEnv } from '../support/server-process.ts';

const src = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const isRoot = process.getuid?.() === 0;
const root = mkdtempSync(join(tmpdir(), 'quantrac-install-'));
chmodSync(root, 0o755); // the service user walks down to /opt and /var/lib like on a server
const at = (p: string) => join(root, p);
let server: ChildProcess | undefined;

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** Runs install.sh into the scratch root; its combined output. */
function install(): string {
  const r = spawnSync('sh', [join(src, 'ops/install.sh'), '--root', root], { encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`install.sh exited ${r.status}:\n${out}`);
  return out;
}

/** `key=value` lines of a systemd unit or env file (the last of a repeated key wins). */
const settings = (text: string) => Object.fromEntries(text.split('\n').filter((l) => /^[A-Za-z0-9_]+=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
const account = (file: string, name: string) => readFileSync(at(file), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))?.split(':');

describe.skipIf(!isRoot)('ops/install.sh --root (as root, like on a server)', () => {
  let firstRun = '';
  beforeAll(() => {
    // Reuse this checkout's packages as a previous install's (hard links; a copy on another disk).
    execFileSync('mkdir', ['-p', at('opt/quantrac')]);
    if (spawnSync('cp', ['-al', join(src, 'node_modules'), at('opt/quantrac/node_modules')]).status !== 0) {
      rmSync(at('opt/quantrac/node_modules'), { recursive: true, force: true });
      execFileSync('cp', ['-a', join(src, 'node_modules'), at('opt/quantrac/node_modules')]);
    }
    firstRun = install();
  }, 180_000);

  it('creates the system user and lays out code, settings and state with their owners and modes', () => {
    const user = account('etc/passwd', 'quantrac')!;
    const group = account('etc/group', 'quantrac')!;
    expect(Number(user[2])).toBeLessThan(1000);
    expect([user[5], user[6]]).toEqual(['/var/lib/quantrac', '/usr/sbin/nologin']);
    const uid = Number(user[2]);
    const gid = Number(group[2]);

    const state = statSync(at('var/lib/quantrac'));
    expect([state.uid, state.gid, state.mode & 0o777]).toEqual([uid, gid, 0o750]);
    const backups = statSync(at('var/backups/quantrac')); // `quantrac backup` runs as the service user
    expect([backups.uid, backups.gid, backups.mode & 0o777]).toEqual([uid, gid, 0o750]);
    const env = statSync(at('etc/quantrac/quantrac.env'));
    expect([env.uid, env.gid, env.mode & 0o777]).toEqual([0, gid, 0o640]);
    for (const role of readdirSync(join(src, 'ops/systemd/roles'))) {
      const f = statSync(at(`etc/quantrac/${role}`)); // quantrac@<role>'s own ports
      expect([f.uid, f.gid, f.mode & 0o777]).toEqual([0, gid, 0o640]);
    }
    const code = statSync(at('opt/quantrac/server/main.ts'));
    expect(code.uid).toBe(0);
    expect(code.mode & 0o022).toBe(0); // not writable by the service
    expect(existsSync(at('opt/quantrac/dashboards/dist/index.html'))).toBe(true);
    expect(existsSync(at('opt/quantrac/.git'))).toBe(false);
    expect(execFileSync(at('opt/quantrac/node_modules/.bin/node'), ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./);
    for (const unit of ['quantrac.service', 'quantrac@.service', 'quantrac.target']) {
      expect(readFileSync(at(`etc/systemd/system/${unit}`), 'utf8')).toBe(readFileSync(join(src, 'ops/systemd', unit), 'utf8'));
    }
    expect(statSync(at('usr/local/bin/quantrac')).mode & 0o111).toBe(0o111);
    expect(readFileSync(at('usr/lib/sysusers.d/quantrac.conf'), 'utf8')).toMatch(/^u quantrac /m);
    expect(firstRun).toMatch(/installed into .* \(nothing started\)/);
    expect(firstRun).not.toMatch(/EBADENGINE|npm warn/i);
  });

  it("the installed unit's ExecStart, as the service user with the installed env file, serves /readyz", async () => {
    const unit = settings(readFileSync(at('etc/systemd/system/quantrac.service'), 'utf8'));
    const inRoot = (p: string) => at(p.replace(/^\//, ''));
    const envFile = settings(readFileSync(inRoot(unit.EnvironmentFile!), 'utf8'));
    const [exe, ...args] = unit.ExecStart!.split(' ');
    const database = uniqueDatabase('install');
    const env: Record<string, string> = {
      PATH: '/usr/bin:/bin',
      ...settings(unit.Environment ?? ''),
      ...envFile,
      // Where this test's root puts /var/lib/quantrac; the test InfluxDB; free ports.
      ...serverProcessEnv(database, inRoot(envFile.DATA_DIR!)),
    };
    const uid = Number(account('etc/passwd', unit.User!)![2]);
    const gid = Number(account('etc/group', unit.Group!)![2]);
    server = spawn(inRoot(exe!), args.map(inRoot), { cwd: inRoot(unit.WorkingDirectory!), env, uid, gid, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    server.stderr!.on('data', (d) => (stderr += d));
    const ready = await new Promise<{ http: string }>((resolve, reject) => {
      server!.once('message', (m) => resolve(m as { http: string }));
      server!.once('exit', (code) => reject(new Error(`the installed server exited (${code}):\n${stderr}`)));
    });
    const res = await fetch(`${ready.http}/readyz`);
    expect(await res.json()).toMatchObject({ status: 'ready' });
    expect((await fetch(`${ready.http}/`)).status).toBe(200); // the portal built by the install
    // State is written by the service user, inside DATA_DIR only.
    expect(statSync(join(env.DATA_DIR!, 'api-token-secret')).uid).toBe(uid);
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    server = undefined;
    await fetch(`${influxUrl()}/query?${new URLSearchParams({ q: `DROP DATABASE "${database}"` })}`, { method: 'POST' });
  });

  it('runs again as an upgrade: keeps the edited settings and the data, reuses the packages, refreshes quantrac.env.dist', () => {
    appendFileSync(at('etc/quantrac/quantrac.env'), 'HTTP_PORT=9090\n');
    appendFileSync(at('etc/quantrac/edge.env'), 'MQTT_PORT=1885\n');
    writeFileSync(at('var/lib/quantrac/marker'), 'kept');
    rmSync(at('etc/quantrac/quantrac.env.dist'));
    const again = install();
    expect(again).toMatch(/kept your .*quantrac\.env/);
    expect(again).not.toMatch(/installing npm packages/);
    expect(readFileSync(at('etc/quantrac/quantrac.env'), 'utf8')).toMatch(/^HTTP_PORT=9090$/m);
    expect(readFileSync(at('var/lib/quantrac/marker'), 'utf8')).toBe('kept');
    expect(readFileSync(at('etc/quantrac/edge.env'), 'utf8')).toMatch(/^MQTT_PORT=1885$/m);
    expect(readFileSync(at('etc/quantrac/quantrac.env.dist'), 'utf8')).toMatch(/^DATA_DIR=\/var\/lib\/quantrac$/m);
    expect(existsSync(at('opt/quantrac.new')) || existsSync(at('opt/quantrac.old'))).toBe(false);
    expect(account('etc/passwd', 'quantrac')).toBeDefined();
    expect(readFileSync(at('etc/passwd'), 'utf8').match(/^quantrac:/gm)).toHaveLength(1);
  });
});
