// The private influxd of ops/local-influxd.ts survives a crash: killed with SIGKILL and started
// again with restart(), it answers on the same URL with every write it had acknowledged (its WAL).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startLocalInfluxd, type LocalInfluxd } from '../../ops/local-influxd.ts';
import { influxRows } from '../support/influx.ts';

// The prefix of the test influxds: global-setup kills one orphaned by a killed run.
const dir = mkdtempSync(join(tmpdir(), 'quantrac-test-influxd-restart-'));
let influxd: LocalInfluxd | undefined;

afterAll(async () => {
  await influxd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('restart() after SIGKILL: same port and data folder, every acknowledged point still there', async () => {
  influxd = await startLocalInfluxd({ dir });
  const { url } = influxd;
  await fetch(`${url}/query?${new URLSearchParams({ q: 'CREATE DATABASE r' })}`, { method: 'POST' });
  const lines = Array.from({ length: 100 }, (_, i) => `air,station=air-001 seq=${i}i ${1_700_000_000_000 + i * 60_000}`).join('\n');
  expect((await fetch(`${url}/write?db=r&precision=ms`, { method: 'POST', body: lines })).status).toBe(204);
  const firstPid = influxd.pid;

  await influxd.kill();
  await expect(fetch(`${url}/ping`)).rejects.toThrow(); // really gone
  await expect(influxd.restart()).resolves.toBeUndefined();

  expect(influxd.url).toBe(url);
  expect(influxd.pid).not.toBe(firstPid);
  const rows = await influxRows('r', 'SELECT "seq" FROM "air"', url);
  expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  await expect(influxd.restart()).rejects.toThrow(/still running/);
});
