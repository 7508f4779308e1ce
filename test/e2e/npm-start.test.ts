// `npm start` as a person runs it (ops/start.ts, with its own private influxd and the simulator):
// simulator readings are visible through the API within 30 seconds, and SIGTERM stops everything
// it started, leaving no process behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { addCredential } from '../../broker/credential-admin.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { freePort } from '../../ops/local-influxd.ts';
import { eventually } from '../support/influx.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process whose parent chain leads to `pid`. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const parents = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parents.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const walk = (p: number) => {
    for (const [child, parent] of parents) if (parent === p) (out.push(child), walk(child));
  };
  walk(pid);
  return out;
}

describe('npm start', () => {
  it('brings the pipeline up with simulator data visible through the API, and stops cleanly', async () => {
    const httpPort = await freePort();
    const mqttPort = await freePort();
    // A real gateway of the registry whose credential an operator issued: the simulator must leave it alone.
    const credentialsPath = join(dataDir, 'gateways.json');
    const operatorPassword = await addCredential({ credentialsPath, audit: createAuditLog(join(dataDir, 'audit.jsonl')), actor: 'operator' }, 'gw-air-02');
    const operatorEntry = JSON.parse(readFileSync(credentialsPath, 'utf8')).gateways['gw-air-02'];
    const child = spawn(process.execPath, [join(root, 'ops/start.ts')], {
      cwd: root,
      env: { ...process.env, DATA_DIR: dataDir, HTTP_PORT: String(httpPort), MQTT_PORT: String(mqttPort), LOG_LEVEL: 'warn', INFLUX_URL: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await eventually(async () => (out.includes('quantrac is running') ? true : undefined), 60_000, 'the start banner');
      expect(out).toContain(`http://127.0.0.1:${httpPort}/`);
      // The promise: simulator readings visible through the API within 30 s of start.
      const seen = await eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${httpPort}/api/stations/air-001/latest`);
          const body = (await res.json()) as { latest: { ts: string } | null };
          return body.latest ?? undefined;
        },
        30_000,
        'a simulator reading of air-001 through the API',
      );
      expect(Date.parse(seen.ts)).toBeGreaterThan(Date.now() - 10 * 60_000);
      expect(existsSync(join(dataDir, 'influxdb', 'data'))).toBe(true);
      expect(JSON.parse(readFileSync(credentialsPath, 'utf8')).gateways['gw-air-02']).toEqual(operatorEntry);
      const simPasswords = JSON.parse(readFileSync(join(dataDir, 'sim-credentials.json'), 'utf8')) as Record<string, string>;
      expect(simPasswords['gw-air-02']).toBeUndefined();
      expect(Object.values(simPasswords)).not.toContain(operatorPassword);
      expect(out).toContain('the simulator leaves out gw-air-02 (credential issued by an operator)');
    } finally {
      const family = descendants(child.pid!);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await eventually(async () => (family.every((pid) => !alive(pid)) ? true : undefined), 20_000, 'every child process gone');
    }
  });
});
