// `systemctl stop` and most supervisors send SIGTERM to the whole process group, so the server gets
// it twice: directly and forwarded by ops/start.ts. That must still be ONE graceful stop: the drain
// to InfluxDB runs, the process exits 0, and readings acknowledged just before are stored.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../ops/local-influxd.ts';
import { eventually, influxRows, influxUrl, uniqueDatabase } from '../support/influx.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-signals-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm start stopped by SIGTERM to its process group', () => {
  it('drains gracefully once, exits 0, and the acknowledged readings are in InfluxDB', async () => {
    const database = uniqueDatabase('signals');
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const child = spawn(process.execPath, [join(root, 'ops/start.ts')], {
      cwd: root,
      detached: true, // its own process group, as a service manager runs it
      env: {
        ...process.env,
        SIM: 'off',
        MQTT_ALLOW_ANONYMOUS: 'true', // this test is about signals, not credentials
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
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'signals-test', protocolVersion: 4, reconnectPeriod: 0 });
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
