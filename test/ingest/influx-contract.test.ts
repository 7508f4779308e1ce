// quantrac against InfluxDB 2.x and 3.x as their official API specifications document them
// (test/support/influx-contract-server.ts; facts and sources in docs/influxdb-compat.md): start-up
// set-up, writes, partial writes (2.x 422, 3.x 400 with the refused lines), auth failures, queries.
// Debian ships only 1.x, which the integration tests run for real.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseMissingError, InfluxAuthError, RejectedWriteError, RetryableWriteError } from '../../ingest/influx/errors.ts';
import { createInfluxHttp, type InfluxTarget } from '../../ingest/influx/influx-http.ts';
import { createInfluxWriter } from '../../ingest/sink/influx-writer.ts';
import { Spool } from '../../ingest/sink/spool.ts';
import { startContractServer, type ContractServer, type Generation } from '../support/influx-contract-server.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(generation: Generation, opts: Parameters<typeof startContractServer>[1] = {}): Promise<ContractServer> {
  const s = await startContractServer(generation, opts);
  cleanups.push(() => s.close());
  return s;
}

const target = (s: ContractServer, extra: Partial<InfluxTarget> = {}): InfluxTarget => ({
  url: s.url, api: 'v2', database: 'ignored', org: 'hanoi', bucket: 'quantrac', token: s.token, timeoutMs: 2000, ...extra,
});

const point = (i: number, field = `pm25=${i}`) => `air,station=air-001,ward=Hoàn\\ Kiếm ${field},seq=${i}i ${1_700_000_000_000 + i * 1000}`;

/** Runs the real writer over a real spool until the batch is through; returns what was dead-lettered. */
async function writeThrough(http: ReturnType<typeof createInfluxHttp>, lines: string[]): Promise<{ line: string; reason: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-contract-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const spool = await Spool.open({ dir, segmentBytes: 1 << 20, maxBytes: 1 << 26, fsync: false });
  cleanups.push(() => spool.close());
  const rejected: { line: string; reason: string }[] = [];
  const writer = createInfluxWriter(spool, http, { batchLines: 5000, batchBytes: 1 << 22, flushIntervalMs: 5, backoffBaseMs: 5, backoffMaxMs: 20, maxPointsPerS: 0 }, {
    onRejectedLine: (line, reason) => rejected.push({ line, reason }),
  });
  await spool.append(lines);
  writer.start();
  cleanups.push(() => writer.stop());
  await writer.flushed();
  return rejected;
}

const writes = (s: ContractServer) => s.requests.filter((r) => r.path === '/api/v2/write');

describe('InfluxDB 2.x (OSS v2 OpenAPI)', () => {
  it('set-up: identifies 2.x from /ping and checks the bucket with a Token header', async () => {
    const s = await serve(2);
    const http = createInfluxHttp(target(s));
    await http.ensureDatabase();
    expect(http.server()).toMatchObject({ generation: 2, version: 'v2.7.11', build: 'OSS' });
    const check = s.requests.find((r) => r.path === '/api/v2/buckets')!;
    expect(Object.fromEntries(check.query)).toEqual({ name: 'quantrac', org: 'hanoi' });
    expect(check.authorization).toBe(`Token ${s.token}`);
    await expect(createInfluxHttp(target(s, { bucket: 'missing' })).ensureDatabase()).rejects.toBeInstanceOf(DatabaseMissingError);
  });

  it('auth failure: a wrong token is named at set-up and retried (never dropped) on writes', async () => {
    const s = await serve(2);
    const http = createInfluxHttp(target(s, { token: 'wrong' }));
    await expect(http.ensureDatabase()).rejects.toThrow(InfluxAuthError);
    await expect(http.ensureDatabase()).rejects.toThrow(/INFLUX_TOKEN/);
    const err = await http.write(point(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableWriteError);
    expect((err as RetryableWriteError).status).toBe(401);
  });

  it('writes: org, bucket, ms precision; the points are stored', async () => {
    const s = await serve(2);
    const http = createInfluxHttp(target(s));
    await http.ensureDatabase();
    expect(await writeThrough(http, [point(1), point(2), point(3)])).toEqual([]);
    const w = writes(s)[0]!;
    expect(Object.fromEntries(w.query)).toEqual({ org: 'hanoi', bucket: 'quantrac', precision: 'ms' });
    expect(s.points('quantrac').map((p) => p.ts)).toEqual([1, 2, 3].map((i) => 1_700_000_000_000 + i * 1000));
  });

  it('partial write (422): the good points are stored, the refused one dead-lettered with the reason', async () => {
    const s = await serve(2);
    const http = createInfluxHttp(target(s));
    await http.write(`air,station=air-009 pm25="text" 1700000000000`); // pm25 is a string field now
    const batch = Array.from({ length: 20 }, (_, i) => (i === 7 ? point(i) : point(i, `pm10=${i}`)));
    const err = await http.write(batch.join('\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RejectedWriteError); // 422, no list of lines: bisected by the writer
    const rejected = await writeThrough(http, batch);
    expect(rejected.map((r) => r.line)).toEqual([point(7)]);
    expect(rejected[0]!.reason).toMatch(/partial write: invalid column type for column 'pm25'/);
    const seqs = s.points('quantrac').filter((p) => p.tags.startsWith('station=air-001')).map((p) => p.fields.seq);
    expect(seqs).toHaveLength(19);
  });

  it('a malformed line (400, whole batch refused) is isolated by bisection', async () => {
    const s = await serve(2);
    const http = createInfluxHttp(target(s));
    const batch = [point(1), 'air,station=air-001 1700000000000', point(3)];
    const rejected = await writeThrough(http, batch);
    expect(rejected.map((r) => r.line)).toEqual([batch[1]]);
    expect(rejected[0]!.reason).toMatch(/unable to parse/);
    expect(s.points('quantrac')).toHaveLength(2);
  });

  it('queries: InfluxQL on /query with the bucket as database, epoch=ms, Token header', async () => {
    const s = await serve(2);
    const http = createInfluxHttp(target(s));
    await http.write([point(1), point(2)].join('\n'));
    const [series] = await http.query('SELECT * FROM "air"');
    expect(series?.[0]?.values.map((v) => v[0])).toEqual([1_700_000_001_000, 1_700_000_002_000]);
    const q = s.requests.find((r) => r.path === '/query')!;
    expect([q.query.get('db'), q.query.get('epoch'), q.authorization]).toEqual(['quantrac', 'ms', `Token ${s.token}`]);
    await expect(http.query('SHOW NOTHING')).rejects.toThrow(/InfluxQL error: unsupported statement/);
  });
});

describe('InfluxDB 3 Core (v3 OpenAPI)', () => {
  it('set-up: no /api/v2/buckets; lists databases with Bearer and creates a missing one', async () => {
    const s = await serve(3, { databases: [] });
    const http = createInfluxHttp(target(s));
    await http.ensureDatabase();
    expect(http.server()).toMatchObject({ generation: 3, version: '3.8.0', build: 'Core' });
    expect(s.requests.some((r) => r.path === '/api/v2/buckets')).toBe(false);
    const calls = s.requests.filter((r) => r.path === '/api/v3/configure/database');
    expect(calls.map((r) => [r.method, r.query.get('format'), r.body])).toEqual([['GET', 'json', ''], ['POST', null, '{"db":"quantrac"}']]);
    expect(calls.every((r) => r.authorization === `Bearer ${s.token}`)).toBe(true);
    expect(s.databases.has('quantrac')).toBe(true);
    await http.ensureDatabase(); // exists now: listed, not created again
    expect(s.requests.filter((r) => r.path === '/api/v3/configure/database' && r.method === 'POST')).toHaveLength(1);
  });

  it('auth: Bearer after identification, Token before it; Basic with the token as password on request; a wrong token is named', async () => {
    const s = await serve(3);
    const http = createInfluxHttp(target(s));
    await http.write(point(1)); // before /ping: Token, which 3.x takes on /api/v2/write
    await http.ensureDatabase();
    await http.write(point(2));
    expect(writes(s).map((r) => r.authorization?.split(' ')[0])).toEqual(['Token', 'Bearer']);
    const basic = createInfluxHttp(target(s, { api: 'v1', database: 'quantrac', authScheme: 'basic' }));
    await basic.query('SELECT * FROM "air"');
    const q = s.requests.at(-1)!;
    expect(q.authorization?.startsWith('Basic ')).toBe(true);
    const wrong = createInfluxHttp(target(s, { token: 'wrong' }));
    expect(await wrong.ping()).toBe(false); // 3.x /ping needs the token: 401
    // At start-up the refused token is named, not taken for a server that does not answer.
    await expect(wrong.ensureDatabase()).rejects.toThrow(InfluxAuthError);
    await expect(wrong.ensureDatabase()).rejects.toThrow(/refused the token on \/ping \(HTTP 401.*check INFLUX_TOKEN/);
    const err = await wrong.write(point(3)).catch((e: unknown) => e);
    expect((err as RetryableWriteError).status).toBe(401);
  });

  it('partial write (400 with the refused lines): one request, good lines stored, refused ones dead-lettered', async () => {
    const s = await serve(3);
    const http = createInfluxHttp(target(s));
    await http.ensureDatabase();
    await http.write(`air,station=air-009 pm25="text" 1700000000000`);
    const before = writes(s).length;
    const batch = Array.from({ length: 30 }, (_, i) => (i === 4 || i === 21 ? point(i) : point(i, `pm10=${i}`)));
    const rejected = await writeThrough(http, batch);
    expect(writes(s).length - before).toBe(1); // never sent again: neither the batch nor halves of it
    expect(rejected).toEqual([
      { line: point(4), reason: "invalid column type for column 'pm25', expected string, got float" },
      { line: point(21), reason: "invalid column type for column 'pm25', expected string, got float" },
    ]);
    expect(s.points('quantrac').filter((p) => p.tags.startsWith('station=air-001'))).toHaveLength(28);
  });

  it('more than 100 refused lines (the list is capped): the unlisted lines are written again, none lost', async () => {
    const s = await serve(3);
    const http = createInfluxHttp(target(s));
    await http.ensureDatabase();
    const batch = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? `air,station=air-001 ${1_700_000_000_000 + i}` : point(i)));
    const rejected = await writeThrough(http, batch);
    expect(rejected).toHaveLength(150);
    expect(new Set(rejected.map((r) => r.line)).size).toBe(150);
    expect(rejected.every((r) => r.reason.startsWith('invalid field'))).toBe(true);
    expect(s.points('quantrac')).toHaveLength(150);
  });

  it('INFLUX_API=v1 with INFLUX_AUTH_SCHEME=basic: set-up with Bearer (all 3.x takes on /ping and /api/v3), /write and /query with Basic, partial writes as on v2', async () => {
    const s = await serve(3, { databases: [] });
    const http = createInfluxHttp(target(s, { api: 'v1', database: 'quantrac', bucket: undefined, authScheme: 'basic' }));
    await http.ensureDatabase();
    expect(s.databases.has('quantrac')).toBe(true);
    expect(s.requests.filter((r) => r.path === '/ping' || r.path.startsWith('/api/v3/')).map((r) => r.authorization?.split(' ')[0])).toEqual(['Bearer', 'Bearer', 'Bearer']);
    expect(await http.ping()).toBe(true); // /readyz would say InfluxDB is up
    await http.write(`air,station=air-009 pm25="text" 1700000000000`);
    const batch = Array.from({ length: 12 }, (_, i) => (i === 3 ? point(i) : point(i, `pm10=${i}`)));
    const rejected = await writeThrough(http, batch);
    const v1Writes = s.requests.filter((r) => r.path === '/write');
    expect(v1Writes).toHaveLength(2); // the string point, then the batch once: the good lines were stored
    expect(v1Writes.every((r) => r.query.get('db') === 'quantrac' && r.query.get('precision') === 'ms' && r.authorization?.startsWith('Basic '))).toBe(true);
    expect(rejected).toEqual([{ line: point(3), reason: "invalid column type for column 'pm25', expected string, got float" }]);
    const [series] = await http.query('SELECT * FROM "air"');
    expect(series?.[0]?.values).toHaveLength(12); // 11 of the batch + the string point
    expect(s.requests.at(-1)!.authorization?.startsWith('Basic ')).toBe(true);
  });

  it('queries: InfluxQL on /query (v1 compatibility) with the database and epoch=ms; an unknown database is an error', async () => {
    const s = await serve(3);
    const http = createInfluxHttp(target(s));
    await http.ensureDatabase();
    await http.write([point(1), point(2)].join('\n'));
    const [series] = await http.query('SELECT * FROM "air"');
    expect(series?.[0]?.values).toHaveLength(2);
    expect(s.requests.at(-1)!.query.get('db')).toBe('quantrac');
    await expect(createInfluxHttp(target(s, { bucket: 'nope' })).query('SELECT * FROM "air"')).rejects.toThrow();
  });
});
