// API benchmark: p50/p95 latency of the city snapshot and of a 24 h hourly series with N stations'
// 1-minute data stored, and /ws/live fan-out to many clients (delivered msgs/s, publish→client lag
// p99). Called by bench/run.ts; starts its own quantrac against the given InfluxDB.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { bucketStatement } from '../api/queries.ts';
import { buildSnapshot, snapshotStatements } from '../api/snapshot.ts';
import { formatRegistry, generateRegistry } from '../contracts/registry/generate-stations.ts';
import type { Station } from '../contracts/stations.ts';
import { setGatewayPassword } from '../broker/gateway-credentials.ts';
import { parseConfig } from '../server/config.ts';
import { startQuantrac } from '../server/create-quantrac.ts';

export interface BenchApiOptions {
  /** A running InfluxDB 1.x-compatible /write + /query endpoint. */
  readonly influxUrl: string;
  /** Stations with 1-minute data stored (default 500). */
  readonly stations?: number;
  /** Hours of stored data (default 24). */
  readonly hours?: number;
  /** HTTP requests per latency measurement (default 200) and how many at once (default 10). */
  readonly requests?: number;
  readonly concurrency?: number;
  /** Snapshot cache TTL during the run; 0 (default) measures the database path every time. */
  readonly cacheTtlMs?: number;
  /** Live clients (default 2000) and readings published to them (default 200). */
  readonly wsClients?: number;
  readonly wsReadings?: number;
  readonly log?: (line: string) => void;
}

export interface Latency {
  readonly n: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

export interface Fanout {
  readonly clients: number;
  readonly published: number;
  readonly delivered: number;
  readonly msgsPerS: number;
  readonly lagP99Ms: number;
}

export interface BenchApiResult {
  readonly pointsStored: number;
  /** /api/snapshot/:kind over HTTP, served from the in-memory now-view. */
  readonly snapshot: Latency;
  /** The same snapshot computed by InfluxQL (the path before the now-view), in process. */
  readonly snapshotInfluxQL: Latency;
  readonly nowViewRebuildMs: number;
  readonly series24hHourly: Latency;
  readonly wsFanout: Fanout;
  /** References measured in the same run: the same InfluxQL straight to InfluxDB's /query, and a bare `ws` server broadcasting the same number of messages to as many clients. */
  readonly reference: { readonly snapshotRawQuery: Latency; readonly seriesRawQuery: Latency; readonly bareWsFanout: Fanout };
}

/** Reference fan-out: a bare `ws` server broadcasting `n` small JSON messages to `clients` clients. */
async function bareFanout(clients: number, n: number): Promise<Fanout> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  const live = await connectLiveClients(`ws://127.0.0.1:${port}`, clients);
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const text = JSON.stringify({ type: 'reading', station: 'air-001', kind: 'air', ts: new Date().toISOString(), seq: i, values: { pm25: 30 + (i % 10) } });
    for (const c of wss.clients) c.send(text);
    await new Promise((r) => setImmediate(r));
  }
  const result = await live.finish(t0, n);
  await new Promise((r) => wss.close(r));
  return result;
}

/** `n` WebSocket clients that record, for each reading received, its lag from the reading's ts. */
async function connectLiveClients(url: string, n: number) {
  const lags: number[] = [];
  let delivered = 0;
  let lastAt = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, async () => {
        const ws = new WebSocket(url);
        ws.on('message', (d) => {
          const m = JSON.parse(String(d)) as { type: string; ts: string };
          if (m.type !== 'reading') return;
          delivered++;
          lastAt = Date.now();
          lags.push(lastAt - Date.parse(m.ts));
        });
        sockets.push(ws);
        await new Promise((r, x) => ws.once('open', r).once('error', x));
      }),
    );
  }
  return {
    /** Waits (at most 60 s) until every client has every one of `published` readings, then closes them. */
    async finish(t0: number, published: number): Promise<Fanout> {
      const deadline = Date.now() + 60_000;
      while (delivered < n * published && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const ws of sockets) ws.terminate();
      return { clients: n, published, delivered, msgsPerS: Math.round(delivered / Math.max(0.001, (lastAt - t0) / 1000)), lagP99Ms: pct(lags, 99) };
    },
  };
}

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** Plausible field values of a station's point `i` (line protocol). */
export function fields(s: Station, i: number): string {
  const w = Math.sin(i / 60);
  switch (s.kind) {
    case 'air':
      return `pm25=${(40 + 20 * w).toFixed(1)},pm10=${(70 + 30 * w).toFixed(1)},no2=${(50 + 10 * w).toFixed(1)},o3=${(40 + 10 * w).toFixed(1)}`;
    case 'water':
      return `ph=${(7 + 0.3 * w).toFixed(2)},do_mgl=${(5 + w).toFixed(2)}`;
    case 'rain':
      return `rain_mm=${Math.max(0, w).toFixed(1)},interval_s=60`;
    case 'flood':
      return s.floodType === 'river' ? `level_m=${(8 + w).toFixed(2)}` : `depth_cm=${Math.max(0, 10 * w).toFixed(1)}`;
  }
}

/** p50/p95 of `n` calls of `once`, `concurrency` at a time. */
export async function measure(n: number, concurrency: number, once: () => Promise<void>): Promise<Latency> {
  const times: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next++ < n) {
      const t0 = performance.now();
      await once();
      times.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { n: times.length, p50Ms: Math.round(pct(times, 50) * 10) / 10, p95Ms: Math.round(pct(times, 95) * 10) / 10 };
}

export async function benchApi(o: BenchApiOptions): Promise<BenchApiResult> {
  const log = o.log ?? (() => undefined);
  const nStations = o.stations ?? 500;
  const hours = o.hours ?? 24;
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-bench-api-'));
  const registryFile = generateRegistry({ scale: Math.max(nStations, 238) });
  writeFileSync(join(dir, 'stations.json'), formatRegistry(registryFile));
  const database = `bench_api_${Date.now()}`;
  const config = parseConfig({
    INFLUX_URL: o.influxUrl,
    INFLUX_DATABASE: database,
    REGISTRY_PATH: join(dir, 'stations.json'),
    DATA_DIR: join(dir, 'data'),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    WRITE_FLUSH_INTERVAL_MS: '20',
    API_RATE_LIMIT_PER_MIN: '100000000',
    API_CACHE_TTL_MS: String(o.cacheTtlMs ?? 0),
    WS_COALESCE_BYTES: String(4 * 1024 * 1024),
    WS_MAX_BUFFERED_BYTES: String(16 * 1024 * 1024),
    LOG_LEVEL: 'silent',
  });
  const q = await startQuantrac(config, pino({ level: 'silent' }));
  try {
    const stations = q.registry.stations.slice(0, nStations);
    const nowMs = Date.now();
    log(`api bench: writing ${hours} h of 1-minute data for ${stations.length} stations`);
    let points = 0;
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const res = await fetch(`${o.influxUrl}/write?db=${database}&precision=ms`, { method: 'POST', body: batch.join('\n') });
      if (res.status !== 204) throw new Error(`InfluxDB write failed: ${res.status} ${await res.text()}`);
      points += batch.length;
      batch = [];
    };
    for (let i = hours * 60; i >= 1; i--) {
      for (const s of stations) batch.push(`${s.kind},station=${s.id} ${fields(s, i)} ${nowMs - i * 60_000}`);
      if (batch.length >= 20_000) await flush();
    }
    await flush();
    // The data went straight to InfluxDB, past the ingest stream: the now-view is rebuilt from it, as at a start.
    const rebuildT0 = performance.now();
    await q.nowView.rebuild(q.influx);
    const nowViewRebuildMs = Math.round(performance.now() - rebuildT0);

    const http = q.urls().http;
    const kinds = ['air', 'water', 'rain', 'flood'] as const;
    let k = 0;
    const snapshot = await measure(o.requests ?? 200, o.concurrency ?? 10, async () => {
      const res = await fetch(`${http}/api/snapshot/${kinds[k++ % 4]}`);
      if (res.status !== 200) throw new Error(`snapshot: HTTP ${res.status}`);
      await res.arrayBuffer();
    });
    log(`api bench: snapshot (in-memory now-view) p50 ${snapshot.p50Ms} ms, p95 ${snapshot.p95Ms} ms`);
    // Today's path before the now-view: the snapshot computed by InfluxQL on each request (in process, so without the HTTP round trip).
    let ik = 0;
    const snapshotInfluxQL = await measure(o.requests ?? 200, o.concurrency ?? 10, async () => void JSON.stringify(await buildSnapshot(q.influx, q.registry, kinds[ik++ % 4]!, 'vn')));
    log(`api bench: snapshot by InfluxQL p50 ${snapshotInfluxQL.p50Ms} ms, p95 ${snapshotInfluxQL.p95Ms} ms`);
    const raw = (statement: string) => async () => {
      const res = await fetch(`${o.influxUrl}/query?${new URLSearchParams({ db: database, q: statement, epoch: 'ms' })}`);
      if (res.status !== 200) throw new Error(`raw query: HTTP ${res.status}`);
      await res.arrayBuffer();
    };
    let rk = 0;
    const snapshotRawQuery = await measure(o.requests ?? 200, o.concurrency ?? 10, () => raw(snapshotStatements(kinds[rk++ % 4]!, Date.now()).join('; '))());
    let j = 0;
    const series24hHourly = await measure(o.requests ?? 200, o.concurrency ?? 10, async () => {
      const s = stations[j++ % stations.length]!;
      const res = await fetch(`${http}/api/stations/${s.id}/readings?from=${nowMs - 24 * 3_600_000}&to=${nowMs}&every=1h`);
      if (res.status !== 200) throw new Error(`series: HTTP ${res.status}`);
      await res.arrayBuffer();
    });
    log(`api bench: 24 h hourly series p50 ${series24hHourly.p50Ms} ms, p95 ${series24hHourly.p95Ms} ms`);
    let rj = 0;
    const seriesRawQuery = await measure(o.requests ?? 200, o.concurrency ?? 10, () =>
      raw(bucketStatement(stations[rj++ % stations.length]!, { fromMs: nowMs - 24 * 3_600_000, toMs: nowMs, everyMs: 3_600_000 }))(),
    );

    // Fan-out: N clients, readings published over MQTT stamped with their publish time.
    const nClients = o.wsClients ?? 2000;
    const nReadings = o.wsReadings ?? 200;
    const live = await connectLiveClients(`${http.replace('http', 'ws')}/ws/live`, nClients);
    const gw = stations.find((s) => s.kind === 'air')!;
    const mq = await mqtt.connectAsync(q.urls().mqtt, { clientId: gw.gatewayId, username: gw.gatewayId, password: await setGatewayPassword(config.credentialsPath, gw.gatewayId), protocolVersion: 4 });
    const t0 = Date.now();
    // Published back to back (not one PUBACK at a time), so the fan-out, not the publisher, sets the pace.
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < nReadings; i++) {
      sent.push(mq.publishAsync(`sensors/${gw.id}/reading`, JSON.stringify({ ts: Date.now(), seq: i, values: { pm25: 30 + (i % 10) } }), { qos: 1 }));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(sent);
    const wsFanout = await live.finish(t0, nReadings);
    await mq.endAsync();
    log(`api bench: fan-out ${wsFanout.msgsPerS} msgs/s to ${nClients} clients, lag p99 ${wsFanout.lagP99Ms} ms`);
    const bareWsFanout = await bareFanout(nClients, nReadings);
    log(`api bench: reference bare ws fan-out ${bareWsFanout.msgsPerS} msgs/s, lag p99 ${bareWsFanout.lagP99Ms} ms`);
    return { pointsStored: points, snapshot, snapshotInfluxQL, nowViewRebuildMs, series24hHourly, wsFanout, reference: { snapshotRawQuery, seriesRawQuery, bareWsFanout } };
  } finally {
    await q.stop();
    await fetch(`${o.influxUrl}/query?q=${encodeURIComponent(`DROP DATABASE "${database}"`)}`, { method: 'POST' }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
