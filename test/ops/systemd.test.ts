// The production install (ops/systemd/, ops/install.sh): the unit passes systemd's own
// `systemd-analyze verify` and a hardening bar, the system user is created by the real
// systemd-sysusers into a scratch root, and the environment file lists every setting.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvSchema, parseConfig } from '../../server/config.ts';
import { renderEnvFile } from '../../ops/systemd/make-env.ts';

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
/** QUANTRAC_ROLE values other than the single process (`all`): one quantrac@<role> unit each. */
const clusterRoles = EnvSchema.shape.QUANTRAC_ROLE.unwrap().options.filter((r) => r !== 'all');
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const scratch = mkdtempSync(join(tmpdir(), 'quantrac-systemd-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
/** The environment file install.sh generates, written by the real generator. */
const envFile = join(scratch, 'quantrac.env');
execFileSync(process.execPath, [join(root, 'ops/systemd/make-env.ts'), envFile]);

/** A unit as installed, with /opt/quantrac and /etc/quantrac pointing at this checkout. */
function unitHere(file = 'quantrac.service', as = file): string {
  const path = join(scratch, as);
  writeFileSync(path, read(`ops/systemd/${file}`).replaceAll('/etc/quantrac/quantrac.env', envFile).replaceAll('/opt/quantrac', root));
  return path;
}

/** KEY=value lines of an environment file (comments and blanks skipped). */
const envLines = (text: string) => text.split('\n').map((l) => l.replace(/^#/, '')).filter((l) => /^[A-Z0-9_]+=/.test(l));

describe('environment file', () => {
  it('lists every setting of server/config.ts', () => {
    const named = new Set(envLines(readFileSync(envFile, 'utf8')).map((l) => l.split('=')[0]));
    const missing = Object.keys(EnvSchema.shape).filter((k) => !named.has(k));
    expect(missing).toEqual([]);
  });

  it('documents each setting and its default, and its values start the server config', () => {
    const generated = renderEnvFile(read('README.md'));
    for (const key of Object.keys(EnvSchema.shape)) expect(generated).toMatch(new RegExp(`^# ${key}: \\S.*\n#   default`, 'm'));
    const active = Object.fromEntries(readFileSync(envFile, 'utf8').split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)));
    const config = parseConfig(active);
    expect(config.dataDir).toBe('/var/lib/quantrac');
    expect(config.INFLUX_URL).toBe('http://127.0.0.1:8086');
  });
});

describe.skipIf(!hasSystemdAnalyze)('systemd units (systemd-analyze; install the Debian package `systemd` if this is skipped)', () => {
  it('quantrac.service passes `systemd-analyze verify` with no warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', unitHere()], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('the per-role template (quantrac@edge) and quantrac.target pass `systemd-analyze verify` with no warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', unitHere('quantrac@.service', 'quantrac@edge.service'), unitHere('quantrac.target')], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
    expect(read('ops/systemd/quantrac@.service')).toContain('Environment=QUANTRAC_ROLE=%i');
  });

  it('every cluster role has a unit instance (quantrac@<role>) that passes `systemd-analyze verify`', () => {
    const units = clusterRoles.map((role) => unitHere('quantrac@.service', `quantrac@${role}.service`));
    const r = spawnSync('systemd-analyze', ['verify', ...units, unitHere('quantrac.target')], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
    expect(read('ops/systemd/quantrac@.service')).toContain('EnvironmentFile=-/etc/quantrac/%i.env');
  });

  it('is hardened: `systemd-analyze security` rates its exposure at most 2.0 (OK)', () => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitHere()], { encoding: 'utf8' });
    const level = Number(/Overall exposure level for quantrac\.service: ([\d.]+)/.exec(out)?.[1]);
    expect(level).toBeLessThanOrEqual(2);
  });

  it('the sysusers.d entry creates the quantrac system user with its home in /var/lib/quantrac', () => {
    const sysroot = join(scratch, 'root');
    mkdirSync(join(sysroot, 'etc'), { recursive: true });
    execFileSync('systemd-sysusers', [`--root=${sysroot}`, join(root, 'ops/systemd/quantrac.sysusers')], { stdio: 'pipe' });
    const passwd = readFileSync(join(sysroot, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('quantrac:'));
    const [, , uid, , , home, shell] = passwd!.split(':');
    expect(Number(uid)).toBeLessThan(1000); // a system user
    expect([home, shell]).toEqual(['/var/lib/quantrac', '/usr/sbin/nologin']);
  });
});

describe('cluster roles on one machine', () => {
  it("each role's env file (read after quantrac.env) gives it its own ports, so every role can run on one machine", () => {
    const roleFiles = readdirSync(join(root, 'ops/systemd/roles')).sort();
    expect(roleFiles).toEqual(clusterRoles.map((r) => `${r}.env`).sort());
    const shared = Object.fromEntries(envLines(readFileSync(envFile, 'utf8')).filter((l) => !l.startsWith('#')).map((l) => l.split(/=(.*)/s).slice(0, 2)));
    const listeners: string[] = [];
    for (const role of clusterRoles) {
      const own = Object.fromEntries(read(`ops/systemd/roles/${role}.env`).split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)));
      for (const key of Object.keys(own)) expect(Object.keys(EnvSchema.shape), `${role}.env: ${key}`).toContain(key);
      // As systemd would: the shared file (with NATS_URL set there), then the role's, then QUANTRAC_ROLE=%i.
      const config = parseConfig({ ...shared, NATS_URL: 'nats://10.0.0.1:4222', ...own, QUANTRAC_ROLE: role });
      expect(config.QUANTRAC_ROLE).toBe(role);
      listeners.push(`http:${config.HTTP_PORT}`);
      if (role === 'edge') listeners.push(`mqtt:${config.MQTT_PORT}`);
    }
    expect(new Set(listeners.map((l) => l.split(':')[1])).size).toBe(listeners.length);
  });
});

describe('ops/install.sh', () => {
  it('is valid sh and installs only files that exist', () => {
    execFileSync('sh', ['-n', join(root, 'ops/install.sh')]);
    execFileSync('sh', ['-n', join(root, 'ops/systemd/quantrac-cli.sh')]);
    const installed = [...read('ops/install.sh').matchAll(/"\$SRC\/([^"$]+)"/g)].map((m) => m[1]!); // run for real: install.test.ts
    expect(installed.length).toBeGreaterThanOrEqual(3);
    for (const f of installed) expect(() => readFileSync(join(root, f)), f).not.toThrow();
  });
});
