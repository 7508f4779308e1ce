// The InfluxDB writer against the real database: a 400 partial write is bisected down to the line
// the database refuses (dead-lettered with its reason, the rest stored), a 413 splits the batch,
// and Retry-After sets the retry delay.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createInfluxHttp, parseRetryAfter } from '../../ingest/influx/influx-http.ts';
import { createInfluxWriter, type WriterOptions } from '../../ingest/sink/influx-writer.ts';
import { Spool } from '../../ingest/sink/spool.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { eventually, influxRows, influxUrl, uniqueDatabase } from '../support/influx.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const OPTS: WriterOptions = { batchLines: 5000, batchBytes: 1 << 22, flushIntervalMs: 10, backoffBaseMs: 10, backoffMaxMs: 50, maxPointsPerS: 0 };

async function setup(url: string, database = uniqueDatabase('w')) {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-writer-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const spool = await Spool.open({ dir, segmentBytes: 1 << 20, maxBytes: 1 << 26, fsync: false });
  cleanups.push(() => spool.close());
  const http = createInfluxHttp({ url, api: 'v1', database, timeoutMs: 2000 });
  await createInfluxHttp({ url: influxUrl(), api: 'v1', database, timeoutMs: 2000 }).ensureDatabase();
  return { spool, http, database };
}

const point = (i: number, field = `pm25=${i}`) => `air,station=air-001 ${field},seq=${i}i ${1_700_000_000_000 + i * 1000}`;

describe('influx writer', () => {
  it('isolates the line InfluxDB refuses and stores the rest of the batch', async () => {
    const { spool, http, database } = await setup(influxUrl());
    // pm25 becomes a string field in this shard, so a float pm25 in the batch is a type conflict.
    await http.write(`air,station=air-009 pm25="broken" ${1_700_000_000_000}`);
    const rejected: { line: string; reason: string }[] = [];
    const writer = createInfluxWriter(spool, http, OPTS, { onRejectedLine: (line, reason) => rejected.push({ line, reason }) });
    writer.start();
    cleanups.push(() => writer.stop());
    const batch = Array.from({ length: 40 }, (_, i) => (i === 17 ? point(i) : point(i, `pm10=${i}`)));
    await spool.append(batch);
    await writer.flushed();
    expect(rejected.map((r) => r.line)).toEqual([point(17)]);
    expect(rejected[0]!.reason).toMatch(/field type conflict/);
    const rows = await influxRows(database, `SELECT "seq" FROM "air" WHERE "station" = 'air-001'`);
    expect(rows.map((r) => r.seq).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 17));
  });

  it('splits a batch the server calls too large (413) until it fits', async () => {
    const proxy = await startFaultProxy(influxUrl());
    cleanups.push(() => proxy.close());
    proxy.maxBodyBytes = 2000;
    const { spool, http, database } = await setup(proxy.url);
    const writer = createInfluxWriter(spool, http, OPTS);
    writer.start();
    cleanups.push(() => writer.stop());
    await spool.append(Array.from({ length: 200 }, (_, i) => point(i)));
    await writer.flushed();
    expect(proxy.counts.tooLarge).toBeGreaterThan(0);
    const rows = await influxRows(database, `SELECT count("pm25") FROM "air"`);
    expect(rows[0]!.count).toBe(200);
  });

  it('waits at least the Retry-After the server asks for', async () => {
    let calls = 0;
    const server = createServer((req, res) => {
      req.resume();
      calls++;
      if (calls === 1) res.writeHead(429, { 'retry-after': '2' }).end('{"error":"slow down"}');
      else res.writeHead(204).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((r) => server.close(r)));
    const dir = mkdtempSync(join(tmpdir(), 'quantrac-writer-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const spool = await Spool.open({ dir, segmentBytes: 1 << 20, maxBytes: 1 << 26, fsync: false });
    cleanups.push(() => spool.close());
    const http = createInfluxHttp({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, api: 'v1', database: 'x', timeoutMs: 2000 });
    const delays: number[] = [];
    const writer = createInfluxWriter(spool, http, OPTS, { onRetry: (_err, delayMs) => delays.push(delayMs) });
    writer.start();
    cleanups.push(() => writer.stop());
    await spool.append([point(1)]);
    await eventually(async () => (calls >= 2 ? true : undefined), 10_000, 'the retry');
    expect(delays[0]).toBeGreaterThanOrEqual(2000);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
