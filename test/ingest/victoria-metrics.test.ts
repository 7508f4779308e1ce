// The v2 write path against a second real server that speaks it: a private VictoriaMetrics (Debian
// `victoria-metrics`) on a free port and a temp dir. Real readings go through the real writer over
// /api/v2/write and over /write, and are read back through VictoriaMetrics' own export API (it has
// no InfluxQL SELECT). What works and what does not: docs/influxdb-compat.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../contracts/reading.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { createInfluxHttp, type InfluxTarget } from '../../ingest/influx/influx-http.ts';
import { createInfluxWriter } from '../../ingest/sink/influx-writer.ts';
import { createLineEncoder } from '../../ingest/sink/line-protocol.ts';
import { Spool } from '../../ingest/sink/spool.ts';
import { eventually } from '../support/influx.ts';

let vm: ChildProcess;
let url = '';
const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  vm = spawn('victoria-metrics', [
    `-storageDataPath=${tmp('quantrac-vm-')}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    '-retentionPeriod=100y',
    '-search.latencyOffset=0s',
    '-loggerLevel=ERROR',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  vm.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await eventually(async () => ((await fetch(`${url}/health`)).ok ? true : undefined), 15_000, `victoria-metrics to start (${stderr})`);
}, 30_000);

afterAll(async () => {
  if (vm && vm.exitCode === null) {
    vm.kill('SIGTERM');
    await once(vm, 'exit');
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const registry = loadRegistry();
const encode = createLineEncoder(registry);
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;

function readings(stationId: string, count: number, flagged?: number): Reading[] {
  const kind = registry.get(stationId)!.kind;
  return Array.from({ length: count }, (_, i) => ({
    stationId, kind, ts: T0 + i * 60_000, seq: i + 1,
    values: (kind === 'air' ? { pm25: 10 + i, pm10: 20 + i } : { level_m: 8 + i / 100 }) as Record<string, number>,
    ...(i === flagged ? { quality: { pm25: { flag: 3 as const, tests: { spike: 3 as const } } } } : {}),
  }));
}

/** Writes through the real spool and writer until VictoriaMetrics has confirmed every point. */
async function writeThrough(target: InfluxTarget, lines: string[]): Promise<{ line: string; reason: string }[]> {
  const http = createInfluxHttp(target);
  await http.ensureDatabase(); // no version on /ping: nothing to set up, must not fail
  expect(http.server()?.generation).toBeUndefined();
  const spool = await Spool.open({ dir: tmp('quantrac-vm-spool-'), segmentBytes: 1 << 20, maxBytes: 1 << 26, fsync: false });
  const rejected: { line: string; reason: string }[] = [];
  const writer = createInfluxWriter(spool, http, { batchLines: 50, batchBytes: 1 << 20, flushIntervalMs: 5, backoffBaseMs: 10, backoffMaxMs: 100, maxPointsPerS: 0 }, {
    onRejectedLine: (line, reason) => rejected.push({ line, reason }),
  });
  writer.start();
  await spool.append(lines);
  await writer.flushed();
  await writer.stop();
  await spool.close();
  return rejected;
}

interface Series {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** Every series whose name matches, from VictoriaMetrics' export API (JSON lines). */
async function exported(match: string): Promise<Series[]> {
  await fetch(`${url}/internal/force_flush`);
  const res = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match })}`);
  const text = await res.text();
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Series);
}

const byTs = (s: Series) => Object.fromEntries(s.timestamps.map((t, i) => [t, s.values[i]]));

describe('VictoriaMetrics as a line-protocol target', () => {
  it('stores real readings written through /api/v2/write (org, bucket, token)', async () => {
    const lines = [...readings('air-001', 30, 5), ...readings('flood-longbien', 30)].map(encode);
    const rejected = await writeThrough({ url, api: 'v2', database: 'unused', org: 'hanoi', bucket: 'qv2', token: 'not-checked', timeoutMs: 5000 }, lines);
    expect(rejected).toEqual([]);
    const pm25 = await eventually(async () => {
      const s = await exported('{__name__="air_pm25",station="air-001"}');
      return s[0]?.values.length === 30 ? s[0] : undefined;
    }, 15_000, '30 pm25 points in VictoriaMetrics');
    expect(byTs(pm25)).toEqual(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [T0 + i * 60_000, 10 + i])));
    // Tags became labels, escapes undone (ward names have spaces).
    const air = registry.get('air-001')!;
    expect(pm25.metric).toMatchObject({ station: 'air-001', district: air.formerDistrict, ward: air.ward });
    const seq = (await exported('{__name__="air_seq",station="air-001"}'))[0]!;
    expect(seq.values).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const level = (await exported('{__name__="flood_level_m",station="flood-longbien"}'))[0]!;
    expect(level.values).toHaveLength(30);
    expect(level.values[29]).toBeCloseTo(8.29, 6);
    // The quality flag is a string field: VictoriaMetrics keeps a number only, 0.
    const qc = (await exported('{__name__="air_qc",station="air-001"}'))[0]!;
    expect([qc.timestamps, qc.values]).toEqual([[T0 + 5 * 60_000], [0]]);
  });

  it('stores real readings written through /write (database, retention policy)', async () => {
    const lines = readings('air-002', 12).map(encode);
    const rejected = await writeThrough({ url, api: 'v1', database: 'qv1', timeoutMs: 5000 }, lines);
    expect(rejected).toEqual([]);
    const pm10 = await eventually(async () => {
      const s = await exported('{__name__="air_pm10",station="air-002"}');
      return s[0]?.values.length === 12 ? s[0] : undefined;
    }, 15_000, '12 pm10 points in VictoriaMetrics');
    expect(pm10.values).toEqual(Array.from({ length: 12 }, (_, i) => 20 + i));
    expect(pm10.metric.db).toBe('qv1');
  });

  it('does not serve InfluxQL SELECT: quantrac cannot read its readings back from it', async () => {
    const http = createInfluxHttp({ url, api: 'v1', database: 'qv1', timeoutMs: 5000 });
    const answer = await http.query('SELECT "pm10" FROM "air" WHERE "station" = \'air-002\'').catch((e: unknown) => e);
    const series = Array.isArray(answer) ? answer.flat() : [];
    expect(series.some((s) => s.name === 'air')).toBe(false);
  });
});
