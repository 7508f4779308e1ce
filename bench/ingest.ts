// Ingest throughput benchmark: the whole durable pipeline (fsync on) against two references
// measured in the same run with the same publishers and readings — the bare embedded broker and
// the raw InfluxDB write rate — plus peak RSS, and an optional RSS soak at 80% of the top rate.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { linearRegression } from 'simple-statistics';
import type { Registry, Station } from '../contracts/stations.ts';
import { createLineEncoder } from '../ingest/sink/line-protocol.ts';
import { freePort } from '../ops/local-influxd.ts';
import { mkdirSync } from 'node:fs';
import { ensureSimulatorCredentials } from '../broker/ensure-credentials.ts';
import { prepareLoad, publishLoad, type PreparedLoad } from './publishers.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

export interface IngestBenchOptions {
  readonly influxUrl: string;
  readonly registry: Registry;
  readonly dataDir: string;
  /** Readings per station in each throughput run. */
  readonly perStation: number;
  /** Unacknowledged publishes per gateway connection. */
  readonly windowPerLane: number;
  readonly log: (line: string) => void;
}

export interface RateResult {
  readonly readings: number;
  readonly seconds: number;
  readonly perS: number;
  /** CPU time the server process (broker, or the whole pipeline) spent per reading, µs. */
  readonly cpuUsPerReading?: number;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

function rssPeakKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(timer);
}

let prepared: PreparedLoad | undefined;
/** The one prepared load every run publishes (same stations, seqs and values). */
function load(o: IngestBenchOptions): PreparedLoad {
  prepared ??= prepareLoad(o.registry, o.perStation, Date.now());
  return prepared;
}

/** Reference 1: bare Aedes with a do-nothing consumer, same publishers. */
export async function benchBareBroker(o: IngestBenchOptions): Promise<RateResult> {
  const child = spawn(process.execPath, [join(here, 'bare-broker.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { port } = JSON.parse(line) as { port: number };
  try {
    const cpu0 = cpuSeconds(child.pid!);
    const r = await publishLoad(`mqtt://127.0.0.1:${port}`, load(o), { windowPerLane: o.windowPerLane });
    const cpuUsPerReading = ((cpuSeconds(child.pid!) - cpu0) * 1e6) / r.acked;
    return { readings: r.acked, seconds: r.elapsedMs / 1000, perS: r.acked / (r.elapsedMs / 1000), cpuUsPerReading };
  } finally {
    await stopChild(child);
  }
}

/** Reference 2: the same kind of points, pre-serialised, posted to /write in 5,000-line batches. */
export async function benchRawInflux(o: IngestBenchOptions, points: number): Promise<RateResult> {
  const db = `bench_raw_${Date.now()}`;
  await fetch(`${o.influxUrl}/query?q=${encodeURIComponent(`CREATE DATABASE "${db}"`)}`, { method: 'POST' });
  const encode = createLineEncoder(o.registry);
  const stations = o.registry.stations;
  const prepared = load(o);
  const batches: string[] = [];
  let lines: string[] = [];
  const items = prepared.lanes.flatMap((l) => l.items);
  for (let i = 0; i < points; i++) {
    const item = items[i % items.length]!;
    const s: Station = o.registry.get(item.topic.split('/')[1]!)!;
    const cycle = Math.floor(i / items.length);
    lines.push(encode({ stationId: s.id, kind: s.kind, ts: item.ts + cycle, seq: cycle * prepared.perStation + item.seq, values: item.values }));
    if (lines.length === 5000) {
      batches.push(lines.join('\n'));
      lines = [];
    }
  }
  if (lines.length > 0) batches.push(lines.join('\n'));
  const started = performance.now();
  for (const body of batches) {
    const res = await fetch(`${o.influxUrl}/write?db=${db}&precision=ms`, { method: 'POST', body });
    if (res.status !== 204) throw new Error(`raw write failed: ${res.status} ${await res.text()}`);
  }
  const seconds = (performance.now() - started) / 1000;
  await fetch(`${o.influxUrl}/query?q=${encodeURIComponent(`DROP DATABASE "${db}"`)}`, { method: 'POST' });
  return { readings: points, seconds, perS: points / seconds };
}

export interface PipelineProcess {
  readonly child: ChildProcess;
  readonly mqtt: string;
  readonly http: string;
  readonly credentials: Record<string, string>;
}

/** The quantrac server as its own process, as `npm start` runs it, with credentials for every gateway. */
export async function startPipeline(o: Pick<IngestBenchOptions, 'influxUrl' | 'registry' | 'dataDir'>, database: string, extraEnv: Record<string, string> = {}): Promise<PipelineProcess> {
  const gatewayIds = [...new Set(o.registry.stations.map((s) => s.gatewayId))];
  mkdirSync(o.dataDir, { recursive: true });
  const { passwords: credentials } = await ensureSimulatorCredentials(join(o.dataDir, 'gateways.json'), gatewayIds);
  const child = fork(join(here, '../server/main.ts'), [], {
    // BENCH_PROFILE=DIR writes a V8 CPU profile of the pipeline process there (see README).
    // The same V8 flags as npm start (ops/start.ts); BENCH_NODE_FLAGS replaces them for experiments.
    execArgv: [...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? ['--max-semi-space-size=64']), ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])],
    env: {
      ...process.env,
      INFLUX_URL: o.influxUrl,
      INFLUX_DATABASE: database,
      DATA_DIR: o.dataDir,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(await freePort()),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      SPOOL_FSYNC: 'true',
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ mqtt: string; http: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { mqtt: string; http: string }));
    child.once('exit', (c) => reject(new Error(`pipeline exited (${c})`)));
  });
  return { child, ...ready, credentials };
}

function steadySlope(samples: [number, number][]): number {
  const steady = samples.filter(([t]) => t >= 1);
  return steady.length > 1 ? linearRegression(steady).m : 0;
}

function minuteTroughs(samples: [number, number][]): number[] {
  const out: number[] = [];
  for (const [t, mb] of samples) {
    const minute = Math.floor(t);
    out[minute] = Math.round(Math.min(out[minute] ?? Infinity, mb));
  }
  return out.filter((x) => x !== undefined);
}

async function threadHeaps(http: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${http}/metrics`)).text().catch(() => '');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^quantrac_thread_heap_used_bytes\{thread="([^"]+)"\} ([0-9.e+]+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function pointsWritten(http: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('quantrac_points_written_total '));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** The whole pipeline: readings acknowledged by InfluxDB per second, from first publish to last point confirmed. */
export async function benchPipeline(o: IngestBenchOptions): Promise<RateResult & { peakRssMb: number; acked: number; ackedPerS: number }> {
  const p = await startPipeline(o, `bench_${Date.now()}`);
  try {
    const started = performance.now();
    const cpu0 = cpuSeconds(p.child.pid!);
    const progress = setInterval(() => {
      void pointsWritten(p.http).then((w) => o.log(`  ${((performance.now() - started) / 1000).toFixed(0)} s: ${fmtInt(w)} confirmed by InfluxDB`));
    }, 2000);
    const r = await publishLoad(p.mqtt, load(o), {
      windowPerLane: o.windowPerLane,
      credentials: p.credentials,
      onProgress: (acked, ms) => o.log(`  ${(ms / 1000).toFixed(0)} s: ${fmtInt(acked)} acknowledged`),
    });
    const deadline = Date.now() + 120_000;
    let written = await pointsWritten(p.http);
    while (written < r.acked && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50));
      written = await pointsWritten(p.http);
    }
    clearInterval(progress);
    const seconds = (performance.now() - started) / 1000;
    if (written < r.acked) o.log(`WARNING: only ${written} of ${r.acked} acknowledged readings confirmed by InfluxDB within 120 s`);
    const cpuUsPerReading = ((cpuSeconds(p.child.pid!) - cpu0) * 1e6) / Math.max(1, written);
    return { readings: written, cpuUsPerReading, acked: r.acked, ackedPerS: r.acked / (r.elapsedMs / 1000), seconds, perS: written / seconds, peakRssMb: rssPeakKb(p.child.pid!) / 1024 };
  } finally {
    await stopChild(p.child);
  }
}

/** RSS of the pipeline every 5 s over `durationS` at a fixed rate; slope in MB per minute. */
export async function benchSoak(
  o: IngestBenchOptions,
  ratePerS: number,
  durationS: number,
): Promise<{ ratePerS: number; achievedPerS: number; samplesMb: number[]; slopeMbPerMin: number; steadySlopeMbPerMin: number; heapTroughsMb: Record<string, number[]>; heapSamplesMb: Record<string, number[]>; firstMinuteMb: number; lastMinuteMb: number }> {
  const p = await startPipeline(o, `soak_${Date.now()}`);
  const samples: [number, number][] = [];
  /** JavaScript heap in use per thread (quantrac_thread_heap_used_bytes), MB. */
  const heaps: Record<string, [number, number][]> = {};
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const t = (Date.now() - t0) / 60_000;
    samples.push([t, rssKb(p.child.pid!) / 1024]);
    void threadHeaps(p.http).then((h) => {
      for (const [thread, bytes] of Object.entries(h)) (heaps[thread] ??= []).push([t, bytes / 2 ** 20]);
    });
  }, 5000);
  try {
    const soakLoad = load(o);
    const cycles = Math.ceil((ratePerS * durationS) / soakLoad.total);
    const r = await publishLoad(p.mqtt, soakLoad, {
      windowPerLane: o.windowPerLane,
      credentials: p.credentials,
      ratePerS,
      cycles,
      onProgress: (acked, ms) => o.log(`  soak ${Math.round(ms / 1000)} s: ${Math.round((acked * 1000) / ms)} acked/s, RSS ${samples.at(-1)?.[1].toFixed(0) ?? '?'} MB`),
    });
    clearInterval(sampler);
    const mb = samples.map(([, m]) => m);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return {
      ratePerS,
      achievedPerS: r.acked / (r.elapsedMs / 1000),
      samplesMb: mb.map((m) => Math.round(m)),
      slopeMbPerMin: samples.length > 1 ? linearRegression(samples).m : 0,
      // After the first minute: the heap has grown to its working size (JIT, windows and caches
      // filled); what still grows from there on is what a leak would look like.
      steadySlopeMbPerMin: steadySlope(samples),
      // The heap in use swings with each garbage collection; its lowest point of each minute is
      // close to what is live (a leak raises it minute after minute).
      heapTroughsMb: Object.fromEntries(Object.entries(heaps).map(([t, xs]) => [t, minuteTroughs(xs)])),
      heapSamplesMb: Object.fromEntries(Object.entries(heaps).map(([t, xs]) => [t, xs.map(([, m]) => Math.round(m))])),
      firstMinuteMb: avg(samples.filter(([t]) => t <= 1).map(([, m]) => m)),
      lastMinuteMb: avg(samples.filter(([t]) => t >= durationS / 60 - 1).map(([, m]) => m)),
    };
  } finally {
    clearInterval(sampler);
    await stopChild(p.child);
  }
}
