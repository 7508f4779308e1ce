// `npm run bench`: measures quantrac on this machine and writes bench/results/<date>-<name>.{json,md}.
// Every figure is reported beside a reference measured in the same run (STYLE: ratios, not raw
// speeds). Options: --quick (short runs), --soak (adds the 5-minute RSS soak), --only ingest,one-at-a-time,api,reports,...
// --cluster: the local JetStream cluster beside embedded mode (bench/cluster.ts), alone.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRegistry } from '../contracts/stations.ts';
import { startLocalInfluxd } from '../ops/local-influxd.ts';
import { benchBareBroker, benchPipeline, benchRawInflux, benchSoak, type IngestBenchOptions } from './ingest.ts';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const soak = args.has('--soak');
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const only = onlyArg ? new Set(onlyArg.split(',')) : undefined;
const wants = (name: string) => !only || only.has(name);
const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string): void => void process.stderr.write(`${line}\n`);

function versions(): Record<string, string> {
  const pkg = (name: string) => (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  let influxd = 'unknown';
  try {
    influxd = execFileSync('influxd', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    // not installed: the bench below fails with its own message
  }
  return { node: process.version, aedes: pkg('aedes'), mqtt: pkg('mqtt'), influxd, quantrac: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version };
}

function machine() {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30) };
}

function save(name: string, result: object, markdown: string): void {
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().slice(0, 10);
  writeFileSync(join(dir, `${stamp}-${name}.json`), `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), versions: versions(), ...result }, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}-${name}.md`), `${markdown}\n`);
  log(`\n${markdown}\n(saved bench/results/${stamp}-${name}.{json,md})`);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function ingestBench(o: IngestBenchOptions): Promise<void> {
  log(`ingest: bare broker reference…`);
  const bare = await benchBareBroker(o);
  log(`ingest: whole durable pipeline…`);
  const pipeline = await benchPipeline(o);
  log(`ingest: raw InfluxDB reference (${fmt(pipeline.readings)} points)…`);
  const raw = await benchRawInflux(o, Math.max(50_000, pipeline.readings));
  const m = machine();
  let md = `# Ingest throughput — ${new Date().toISOString().slice(0, 10)}\n\n`;
  md += `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb} GiB. Same publishers and readings for both broker runs: ${o.registry.stations.length} stations × ${o.perStation} sequenced QoS 1 readings, one mqtt.js connection per gateway over TCP, ${o.windowPerLane} unacknowledged per connection.\n\n`;
  md += `| run | readings | seconds | readings/s | vs bare broker |\n|---|---|---|---|---|\n`;
  md += `| bare embedded broker (reference) | ${fmt(bare.readings)} | ${bare.seconds.toFixed(1)} | ${fmt(bare.perS)} | 1.00 |\n`;
  md += `| raw InfluxDB /write, 5,000-line batches (reference) | ${fmt(raw.readings)} | ${raw.seconds.toFixed(1)} | ${fmt(raw.perS)} | ${(raw.perS / bare.perS).toFixed(2)} |\n`;
  md += `| **quantrac pipeline, fsync on, counted when InfluxDB confirmed** | ${fmt(pipeline.readings)} | ${pipeline.seconds.toFixed(1)} | ${fmt(pipeline.perS)} | **${(pipeline.perS / bare.perS).toFixed(2)}** |\n\n`;
  md += `Pipeline vs raw InfluxDB: ${(pipeline.perS / raw.perS).toFixed(2)}. Pipeline peak RSS: ${pipeline.peakRssMb.toFixed(0)} MB. Server CPU per reading: bare broker ${bare.cpuUsPerReading?.toFixed(1)} µs, pipeline ${pipeline.cpuUsPerReading?.toFixed(1)} µs. Acknowledged ${fmt(pipeline.acked)} (PUBACK rate ${fmt(pipeline.ackedPerS)}/s, ${(pipeline.ackedPerS / bare.perS).toFixed(2)} of the bare broker), confirmed by InfluxDB ${fmt(pipeline.readings)}.\n`;
  const result: Record<string, unknown> = { bareBroker: bare, rawInflux: raw, pipeline, ratios: { pipelineVsBare: pipeline.perS / bare.perS, pipelineVsRaw: pipeline.perS / raw.perS } };
  if (soak) {
    const rate = Math.round(pipeline.perS * 0.8);
    log(`ingest: 5-minute soak at ${fmt(rate)} readings/s (80% of the top rate)…`);
    const s = await benchSoak(o, rate, 300);
    result.soak = s;
    md += `\n## RSS soak: 5 minutes at 80% of the top rate\n\nTarget ${fmt(s.ratePerS)}/s, achieved ${fmt(s.achievedPerS)}/s. RSS first minute ${s.firstMinuteMb.toFixed(0)} MB, last minute ${s.lastMinuteMb.toFixed(0)} MB, slope ${s.slopeMbPerMin.toFixed(2)} MB/min over the whole run, ${s.steadySlopeMbPerMin.toFixed(2)} MB/min after the first minute (warm-up). Lowest JavaScript heap in use of each minute (close to what is live), by thread: ${Object.entries(s.heapTroughsMb).map(([t, xs]) => `${t} ${xs.join(' → ')} MB`).join('; ')}.\nSamples (MB, every 5 s): ${s.samplesMb.join(' ')}\n${Object.entries(s.heapSamplesMb).map(([t, xs]) => `Heap of the ${t} thread (MB, every 5 s): ${xs.join(' ')}\n`).join('')}`;
  }
  save('ingest', result, md);
}

/** Issue #12: the local cluster's acknowledged and stored readings/s beside the embedded pipeline and the bare broker; alert latency in cluster mode. */
async function clusterBench(o: IngestBenchOptions): Promise<void> {
  const { benchCluster } = await import('./cluster.ts');
  log('cluster: bare broker reference…');
  const bare = await benchBareBroker(o);
  log('cluster: embedded pipeline…');
  const embedded = await benchPipeline(o);
  log('cluster: HAProxy → 2 edges → JetStream R3 (3 nats-server) → 2 writers → InfluxDB; 2 alert evaluators…');
  const cluster = await benchCluster(o, { alertSamples: quick ? 20 : 200 });
  const m = machine();
  const l = cluster.alertLatency;
  const md = [
    `# Cluster ingest — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb} GiB; every process of the cluster on this one machine. Same publishers and readings for each run: ${o.registry.stations.length} stations × ${o.perStation} sequenced QoS 1 readings, one connection per gateway, ${o.windowPerLane} unacknowledged per connection.${quick ? ' Quick mode (--quick): short runs, indicative only.' : ''}`,
    '',
    '| run | acknowledged readings/s | vs bare broker | stored (InfluxDB confirmed) readings/s | vs embedded stored |',
    '|---|---|---|---|---|',
    `| bare embedded broker (reference) | ${fmt(bare.perS)} | 1.00 | — | — |`,
    `| embedded pipeline (PUBACK after fdatasync) | ${fmt(embedded.ackedPerS)} | ${(embedded.ackedPerS / bare.perS).toFixed(2)} | ${fmt(embedded.perS)} | 1.00 |`,
    `| **cluster: HAProxy → ${cluster.edges} edges → JetStream R3 → ${cluster.writers} writers** (PUBACK after the quorum) | ${fmt(cluster.acked.perS)} | **${(cluster.acked.perS / bare.perS).toFixed(2)}** | ${fmt(cluster.stored.perS)} | **${(cluster.stored.perS / embedded.perS).toFixed(2)}** |`,
    '',
    `Stored readings/s count from the first publish until InfluxDB confirmed every acknowledged reading (${fmt(cluster.stored.readings)} of ${fmt(cluster.acked.readings)} in the cluster). The cluster run leaves out the alert probe's gateway (gw-river) from the load, so it carries slightly fewer readings than the embedded run.`,
    `Alert latency in cluster mode (MQTT publish of a reading that opens or clears the ${'flood-longbien'} river-level alert → its event stored in the replicated alert history QUANTRAC_ALERTS; after the load, no background traffic): ${l.samples} samples, p50 ${l.p50Ms.toFixed(1)} ms, **p99 ${l.p99Ms.toFixed(1)} ms**, max ${l.maxMs.toFixed(1)} ms.`,
  ].join('\n');
  save('cluster', { bareBroker: bare, embedded, cluster, ratios: { clusterAckedVsBare: cluster.acked.perS / bare.perS, clusterAckedVsEmbeddedAcked: cluster.acked.perS / embedded.ackedPerS, clusterStoredVsEmbeddedStored: cluster.stored.perS / embedded.perS } }, md);
}

/** Issue #14: a gateway that waits for each PUBACK before its next publish, beside the bare broker. */
async function oneAtATimeBench(o: IngestBenchOptions): Promise<void> {
  const { benchOneAtATime } = await import('./one-at-a-time.ts');
  const r = await benchOneAtATime(o, quick ? 300 : 3000);
  const row = (name: string, x: typeof r.bare) => `| ${name} | ${fmt(x.acked)} | ${fmt(x.ackedPerS)} | ${x.medianRoundTripMs.toFixed(2)} | ${x.p99RoundTripMs.toFixed(2)} | ${(x.ackedPerS / r.bare.ackedPerS).toFixed(2)} |`;
  const md = [
    `# One-at-a-time publisher — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `One mqtt.js connection (${r.gatewayId}) over TCP publishes a QoS 1 reading and waits for its PUBACK before the next, as small field gateways do.`,
    '',
    '| broker | acknowledged | acks/s | median round trip ms | p99 ms | acks/s vs bare broker |',
    '|---|---|---|---|---|---|',
    row('bare embedded Aedes (reference)', r.bare),
    row('**quantrac pipeline, fsync on** (PUBACK after fdatasync)', r.pipeline),
  ].join('\n');
  save('one-at-a-time', r, md);
}

/** Issue #5: snapshot and series latency, WebSocket fan-out, each beside its reference. */
async function apiBench(influxUrl: string): Promise<void> {
  const { benchApi } = await import('./api.ts');
  log('api: 500 stations × 24 h of 1-minute data, then latency and fan-out…');
  const r = await benchApi({ influxUrl, log, ...(quick ? { stations: 200, hours: 6, requests: 50, wsClients: 500, wsReadings: 50 } : {}) });
  const ref = r.reference;
  const lat = (name: string, l: { p50Ms: number; p95Ms: number }, base: { p50Ms: number; p95Ms: number }) =>
    `| ${name} | ${l.p50Ms.toFixed(1)} | ${l.p95Ms.toFixed(1)} | ${(l.p50Ms / base.p50Ms).toFixed(2)} |`;
  const md = [
    `# API — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `${fmt(r.pointsStored)} points stored (1-minute data). Latency over HTTP with 10 requests in flight, snapshot cache TTL 0 (identical requests in flight still share one database query, as in production); references: the same InfluxQL sent straight to InfluxDB's /query.`,
    '',
    '| request | p50 ms | p95 ms | p50 vs raw query |',
    '|---|---|---|---|',
    lat('city snapshot /api/snapshot/:kind (4 kinds in turn), in-memory now-view', r.snapshot, ref.snapshotRawQuery),
    lat('  the same snapshot by InfluxQL on each request (the path before the now-view, in process)', r.snapshotInfluxQL, ref.snapshotRawQuery),
    lat('  raw InfluxQL of the snapshot (reference)', ref.snapshotRawQuery, ref.snapshotRawQuery),
    lat('24 h hourly series /api/stations/:id/readings', r.series24hHourly, ref.seriesRawQuery),
    lat('  raw InfluxQL of the series (reference)', ref.seriesRawQuery, ref.seriesRawQuery),
    '',
    '| live fan-out | clients | delivered | msgs/s | lag p99 ms |',
    '|---|---|---|---|---|',
    `| quantrac: MQTT publish → ingest → /ws/live | ${r.wsFanout.clients} | ${fmt(r.wsFanout.delivered)} | ${fmt(r.wsFanout.msgsPerS)} | ${r.wsFanout.lagP99Ms} |`,
    `| bare ws server broadcast (reference) | ${ref.bareWsFanout.clients} | ${fmt(ref.bareWsFanout.delivered)} | ${fmt(ref.bareWsFanout.msgsPerS)} | ${ref.bareWsFanout.lagP99Ms} |`,
    '',
    `Fan-out msgs/s vs the bare ws server: ${(r.wsFanout.msgsPerS / ref.bareWsFanout.msgsPerS).toFixed(2)}. Snapshot p95, now-view vs InfluxQL: ${(r.snapshot.p95Ms / r.snapshotInfluxQL.p95Ms).toFixed(2)}; the now-view's rebuild from InfluxDB took ${fmt(r.nowViewRebuildMs)} ms.`,
  ].join('\n');
  save('api', r, md);
}

/** Issue #13: a monthly report from hourly rollups beside the same report computed from raw readings. */
async function reportsBench(influxUrl: string): Promise<void> {
  const { benchReports } = await import('./reports.ts');
  const r = await benchReports({ influxUrl, log, ...(quick ? { stations: 20, requests: 40 } : {}) });
  const row = (name: string, l: { p50Ms: number; p95Ms: number }) => `| ${name} | ${l.p50Ms.toFixed(1)} | ${l.p95Ms.toFixed(1)} | ${(l.p50Ms / r.reference.monthlyRaw.p50Ms).toFixed(2)} |`;
  const md = [
    `# Reports — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `${r.stations} stations: ${fmt(r.rollupPoints)} hourly rollup points (a year) and ${fmt(r.rawPoints)} raw readings (${r.month}, at each station's interval). Station reports built in process (api/reports/build-report.ts) with 10 in flight; both sources checked to give the same figures first.`,
    '',
    '| report | p50 ms | p95 ms | p50 vs raw |',
    '|---|---|---|---|',
    row(`monthly (${r.month}) from hourly rollups`, r.monthlyRollups),
    row(`  the same computed from raw readings, GROUP BY time(1h) (reference)`, r.reference.monthlyRaw),
    row('yearly (2026) from hourly rollups', r.yearlyRollups),
  ].join('\n');
  save('reports', r, md);
}

/** The longer fuzz run of issue #8: inputs tried, and that nothing crashed, hung or was lost. */
async function fuzzBench(influxUrl: string): Promise<void> {
  const { runFuzzBench } = await import('./fuzz.ts');
  const durationMs = quick ? 5000 : 60_000;
  log(`fuzz: ${durationMs / 1000} s of malformed MQTT packets and payloads…`);
  const r = await runFuzzBench({ influxUrl, durationMs, stageRuns: quick ? 5000 : 50_000 });
  const md = `# Fuzz run — ${new Date().toISOString().slice(0, 10)}\n\n| what | count |\n|---|---|\n${Object.entries(r)
    .map(([k, v]) => `| ${k} | ${typeof v === 'number' ? fmt(v) : JSON.stringify(v)} |`)
    .join('\n')}\n`;
  save('fuzz', { fuzz: r, durationMs }, md);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-bench-'));
  const influxd = await startLocalInfluxd({ dir: join(dir, 'influxd') });
  try {
    const o: IngestBenchOptions = { influxUrl: influxd.url, registry: loadRegistry(), dataDir: join(dir, 'data'), perStation: quick ? 200 : 1500, windowPerLane: 200, log };
    if (args.has('--cluster')) {
      await clusterBench(o);
      return;
    }
    if (wants('ingest')) await ingestBench(o);
    if (wants('one-at-a-time')) await oneAtATimeBench(o);
    if (wants('api')) await apiBench(influxd.url);
    if (wants('alerts')) {
      const { benchAlertLatency } = await import('./alerts.ts');
      const rateArg = process.argv.find((a) => a.startsWith('--rate='))?.slice(7);
      if (rateArg !== undefined && !(Number.isInteger(Number(rateArg)) && Number(rateArg) >= 1)) throw new Error(`--rate=${rateArg}: readings per second, a whole number ≥ 1`);
      const out = await benchAlertLatency({ influxUrl: influxd.url, registry: o.registry, quick, log, ...(rateArg ? { loadRatePerS: Number(rateArg) } : {}) });
      save('alerts', out.result, out.markdown);
    }
    if (wants('reports')) await reportsBench(influxd.url);
    if (wants('fuzz')) await fuzzBench(influxd.url);
    if (wants('rollups')) {
      const { benchRollups } = await import('./rollups.ts');
      const stationsArg = process.argv.find((a) => a.startsWith('--stations='))?.slice(11);
      if (stationsArg !== undefined && !(Number.isInteger(Number(stationsArg)) && Number(stationsArg) >= 1)) throw new Error(`--stations=${stationsArg}: a whole number of stations ≥ 1`);
      const out = await benchRollups({ influxUrl: influxd.url, quick, log, stations: stationsArg ? Number(stationsArg) : undefined });
      save('rollups', out.result, out.markdown);
    }
  } finally {
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
