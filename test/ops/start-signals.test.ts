// With SIM=off, npm start leaves an operator's gateway credential alone and keeps no plain password.
// `systemctl stop` and most supervisors send SIGTERM to the whole process group, so the server gets
// it twice: directly and forwarded by ops/start.ts. That must still be ONE graceful stop: the drain
// to InfluxDB runs, the process exits 0, and readings acknowledged just before are stored.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { addCredential } from '../../broker/credential-admin.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../ops/local-influxd.ts';
import { eventually, influxRows, influxUrl, uniqueDatabase } from '../support/influx.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-signals-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm start with an operator-issued gateway, stopped by SIGTERM to its process group', () => {
  it('drains gracefully once, exits 0, and the acknowledged readings are in InfluxDB', async () => {
    const database = uniqueDatabase('signals');
    // A real gateway's credential, issued by an operator; an old simulator file holding its password.
    const credentialsPath = join(dataDir, 'gateways.json');
    const password = await addCredential({ credentialsPath, audit: createAuditLog(join(dataDir, 'audit.jsonl')), actor: 'operator' }, 'gw-air-01');
    const issued = readFileSync(credentialsPath, 'utf8');
    writeFileSync(join(dataDir, 'sim-credentials.json'), JSON.stringify({ 'gw-air-01': password }), { mode: 0o600 });
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const child = spawn(process.execPath, [join(root, 'ops/start.ts')], {
      cwd: root,
      detached: true, // its own process group, as a service manager runs it
      env: {
        ...process.env,
        SIM: 'off',
        DATA_DIR: dataDir,
        INFLUX_URL: influxUrl(),
        INFLUX_DATABASE: database,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(httpPort),
        MQTT_HOST: '127.0.0.1',
        MQTT_PORT: String(mqttPort),
        LOG_LEVEL: 'info',
        // Readings stay in the spool until the shutdown drain writes them.
        WRITE_FLUSH_INTERVAL_MS: '60000',
        WRITE_BATCH_LINES: '100000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await eventually(async () => (out.includes('quantrac is running.') ? true : undefined), 60_000, 'the start banner');
      // SIM=off: npm start created, re-issued and wrote nothing; the operator's password still works.
      expect(readFileSync(credentialsPath, 'utf8')).toBe(issued);
      expect(existsSync(join(dataDir, 'sim-credentials.json'))).toBe(false);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'gw-air-01', username: 'gw-air-01', password, protocolVersion: 4, reconnectPeriod: 0 });
      const count = 30;
      const base = Date.now() - count * 1000;
      for (let seq = 0; seq < count; seq++) {
        await client.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: base + seq * 1000, seq, values: { pm25: 20, pm10: 30 } }), { qos: 1 });
      }
      await client.endAsync();
      // Acknowledged, but not yet written (the flush interval is a minute).
      expect(await influxRows(database, 'SELECT count(pm25) FROM air').catch(() => [])).toEqual([]);

      process.kill(-child.pid!, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(out).not.toContain('second signal');
      expect(out).toContain('quantrac: stopped.');
      expect(out).toMatch(/"msg":"stopped gracefully"/);
      const rows = await eventually(async () => {
        const r = await influxRows(database, "SELECT count(pm25) FROM air WHERE station = 'air-001'");
        return r[0]?.count === count ? r : undefined;
      }, 10_000, 'every acknowledged reading in InfluxDB');
      expect(rows[0]!.count).toBe(count);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
