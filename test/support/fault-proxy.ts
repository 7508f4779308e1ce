// A fault-injecting HTTP proxy in front of the real InfluxDB: passes requests through, or answers
// 503 with Retry-After, hangs them, answers 413 to large bodies, or refuses connections; or lets the
// database store a write and then loses its answer (held, or the connection reset). It records
// every write the database confirmed, line by line: the count at the database boundary. Only a
// narrow seam: the database behind it is real.
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * `stored-hang` / `stored-reset`: the write goes through and InfluxDB stores it, but its answer never
 * reaches the client (held until close, or the connection reset) — the writer cannot tell it from a
 * write that was lost.
 */
export type FaultMode = 'pass' | '503' | 'hang' | 'down' | 'stored-hang' | 'stored-reset';

/** A write InfluxDB confirmed (2xx), whether or not its answer reached the client. */
export interface StoredWrite {
  /** Arrival order among all write requests the proxy received. */
  readonly arrival: number;
  readonly lines: readonly string[];
  readonly answered: boolean;
}

export interface FaultProxy {
  readonly url: string;
  mode: FaultMode;
  /** Bodies larger than this many bytes get 413 (0 = off). */
  maxBodyBytes: number;
  readonly counts: { pass: number; faulted: number; tooLarge: number };
  /** Each write passed to the database: when it arrived (ms, monotonic) and how many points (lines) it carried. */
  readonly writes: { atMs: number; points: number }[];
  /** Every write InfluxDB confirmed, in the order of its answers: each point that reached the database. */
  readonly stored: StoredWrite[];
  /** Write requests received so far (any mode). */
  readonly arrivals: () => number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const hung: ServerResponse[] = [];
  let arrivals = 0;
  const proxy: FaultProxy = {
    url: '',
    mode: 'pass',
    maxBodyBytes: 0,
    counts: { pass: 0, faulted: 0, tooLarge: 0 },
    writes: [],
    stored: [],
    arrivals: () => arrivals,
    close: async () => undefined,
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isWrite = req.url?.startsWith('/write') || req.url?.startsWith('/api/v2/write');
      const arrival = isWrite ? arrivals++ : -1;
      const mode = proxy.mode;
      if (isWrite && proxy.mode === '503') {
        proxy.counts.faulted++;
        res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"error":"injected outage"}');
        return;
      }
      if (isWrite && proxy.mode === 'hang') {
        proxy.counts.faulted++;
        hung.push(res);
        return;
      }
      if (isWrite && proxy.maxBodyBytes > 0 && body.length > proxy.maxBodyBytes) {
        proxy.counts.tooLarge++;
        res.writeHead(413, { 'content-type': 'application/json' }).end('{"error":"Request Entity Too Large"}');
        return;
      }
      const lines = isWrite ? body.toString('utf8').split('\n').filter((l) => l.trim() !== '') : [];
      const losesAnswer = isWrite && (mode === 'stored-hang' || mode === 'stored-reset');
      if (isWrite) {
        if (losesAnswer) proxy.counts.faulted++;
        else proxy.counts.pass++;
        proxy.writes.push({ atMs: performance.now(), points: lines.length });
      }
      const up = request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (upRes) => {
          const status = upRes.statusCode ?? 502;
          if (isWrite && status >= 200 && status < 300) proxy.stored.push({ arrival, lines, answered: !losesAnswer });
          if (losesAnswer) {
            upRes.resume();
            if (mode === 'stored-hang') hung.push(res);
            else res.socket?.destroy();
            return;
          }
          res.writeHead(status, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.writeHead(502).end());
      up.end(body);
    });
  });
  server.on('connection', (s: Socket) => {
    if (proxy.mode === 'down') {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const r of hung) r.destroy();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  });
  return proxy;
}
