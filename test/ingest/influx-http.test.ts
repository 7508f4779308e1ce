// The InfluxDB wire protocol for 2.x/3.x (org, bucket, token through /api/v2/write; InfluxQL on
// /query with the bucket as database) checked against a recording HTTP server, since Debian ships
// only 1.x; the 1.x path is exercised against the real influxd by every integration test.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseMissingError, RejectedWriteError, RetryableWriteError } from '../../ingest/influx/errors.ts';
import { createInfluxHttp } from '../../ingest/influx/influx-http.ts';

interface Seen {
  method: string;
  url: URL;
  auth: string | undefined;
  body: string;
}
const seen: Seen[] = [];
let answer: (req: Seen) => { status: number; body?: string; headers?: Record<string, string> } = () => ({ status: 204 });
let base = '';
const server = createServer((req: IncomingMessage, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const s = { method: req.method!, url: new URL(req.url!, 'http://x'), auth: req.headers.authorization, body };
    seen.push(s);
    const a = answer(s);
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body ?? '');
  });
});
beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const v2 = () => createInfluxHttp({ url: base, api: 'v2', database: 'ignored', org: 'hanoi', bucket: 'quantrac', token: 's3cret', timeoutMs: 2000 });

describe('InfluxDB 2.x/3.x protocol', () => {
  it('writes line protocol to /api/v2/write with org, bucket, ms precision and the token', async () => {
    seen.length = 0;
    answer = () => ({ status: 204 });
    await v2().write('air,station=air-001 pm25=1 1700000000000');
    const w = seen[0]!;
    expect(w.method).toBe('POST');
    expect(w.url.pathname).toBe('/api/v2/write');
    expect(Object.fromEntries(w.url.searchParams)).toEqual({ org: 'hanoi', bucket: 'quantrac', precision: 'ms' });
    expect(w.auth).toBe('Token s3cret');
    expect(w.body).toBe('air,station=air-001 pm25=1 1700000000000');
  });

  it('queries InfluxQL on /query with the bucket as database and epoch=ms', async () => {
    seen.length = 0;
    answer = () => ({ status: 200, body: JSON.stringify({ results: [{ series: [{ name: 'air', columns: ['time', 'pm25'], values: [[1, 2]] }] }] }) });
    const [series] = await v2().query('SELECT * FROM "air" LIMIT 1');
    expect(series?.[0]?.values).toEqual([[1, 2]]);
    expect(seen[0]!.url.pathname).toBe('/query');
    expect(seen[0]!.url.searchParams.get('db')).toBe('quantrac');
    expect(seen[0]!.url.searchParams.get('epoch')).toBe('ms');
  });

  it('checks the bucket at start and names a missing one', async () => {
    const ping = { status: 204, headers: { 'x-influxdb-version': 'v2.7.11', 'x-influxdb-build': 'OSS' } };
    answer = (s) => (s.url.pathname === '/ping' ? ping : { status: 200, body: JSON.stringify({ buckets: s.url.searchParams.get('name') === 'quantrac' ? [{ name: 'quantrac' }] : [] }) });
    await expect(v2().ensureDatabase()).resolves.toBeUndefined();
    answer = (s) => (s.url.pathname === '/ping' ? ping : { status: 200, body: JSON.stringify({ buckets: [] }) });
    await expect(v2().ensureDatabase()).rejects.toBeInstanceOf(DatabaseMissingError);
  });

  it('classifies answers: 400/422 rejected, 503 and 429 retryable with Retry-After', async () => {
    answer = () => ({ status: 422, body: JSON.stringify({ code: 'invalid', message: 'unable to parse' }) });
    await expect(v2().write('x')).rejects.toBeInstanceOf(RejectedWriteError);
    answer = () => ({ status: 503, body: '{}', headers: { 'retry-after': '7' } });
    const err = await v2().write('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableWriteError);
    expect((err as RetryableWriteError).retryAfterMs).toBe(7000);
  });

  it('reports an error InfluxDB returns inside a 200 query answer', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ results: [{ error: 'database not found: quantrac' }] }) });
    await expect(v2().query('SELECT 1')).rejects.toThrow(/database not found/);
  });
});
