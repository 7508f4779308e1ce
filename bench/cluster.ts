// `npm run bench -- --cluster`: the local cluster (HAProxy → 2 edges → JetStream R3 on 3
// nats-server → 2 writers → InfluxDB, 2 alert evaluators, all on this machine) beside the embedded
// pipeline and the bare broker, with the same publishers and readings in the same run:
// acknowledged readings/s, stored readings/s (confirmed by InfluxDB, counted by the writers), and
// the alert latency in cluster mode — from the MQTT publish of a reading that opens or clears a
// flood alert to its event in the replicated alert history (QUANTRAC_ALERTS), after the load.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { ensureSimulatorCredentials } from '../broker/ensure-credentials.ts';
import { kvCredentialUpdater, openCredentialsBucket, readKvCredentials } from '../broker/kv-credentials.ts';
import type { AlertEvent } from '../contracts/alerts.ts';
import { ALERT_SUBJECT_PREFIX, ensureAlertStream } from '../ingest/alerts/event-stream.ts';
import { ensureJetStreamLog } from '../ingest/log/jetstream-log.ts';
import { freePort } from '../ops/local-influxd.ts';
import { startLocalHaproxy } from '../ops/local-haproxy.ts';
import { startLocalNatsCluster } from '../ops/local-nats.ts';
import { stopChild } from '../ops/stop-child.ts';
import type { IngestBenchOptions, RateResult } from './ingest.ts';
import { prepareLoad, publishLoad } from './publishers.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const PROBE_GATEWAY = 'gw-river';
const PROBE_STATION = 'flood-longbien';
const PROBE_RULE = 'flood-river-level';

export interface ClusterBenchResult {
  readonly edges: number;
  readonly writers: number;
  readonly acked: RateResult;
  /** From the first publish until the writers confirmed every acknowledged reading. */
  readonly stored: RateResult;
  readonly alertLatency: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
}

interface Member {
  readonly child: ChildProcess;
  readonly http: string;
}

async function startMember(role: string, name: string, env: NodeJS.ProcessEnv): Promise<Member> {
  const child = fork(join(here, '../server/main.ts'), [], { env: { ...env, QUANTRAC_ROLE: role, QUANTRAC_NAME: name, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ http: string }>((ok, fail) => {
    child.once('message', (m) => ok(m as { http: string }));
    child.once('exit', (c) => fail(new Error(`${name} exited (${c})`)));
  });
  return { child, http: ready.http };
}

async function healthField(m: Member, field: string): Promise<number> {
  try {
    const res = await fetch(`${m.http}/healthz`, { signal: AbortSignal.timeout(2000) });
    return Number(((await res.json()) as Record<string, unknown>)[field] ?? 0);
  } catch {
    return 0;
  }
}

const percentiles = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  return { samples: s.length, p50Ms: at(50), p99Ms: at(99), maxMs: s.at(-1) ?? NaN };
};

/** Opens (10.6 m) and clears (9.0 m, then 9.0 m 31 min later) the probe station's flood alert; times publish → stored event. */
async function alertLatency(nc: NatsConnection, mqttUrl: string, password: string, samples: number): Promise<number[]> {
  let waiting: { type: string; resolve: (at: number) => void } | undefined;
  const sub = nc.subscribe(`${ALERT_SUBJECT_PREFIX}.*`, {
    callback: (_err, m) => {
      const e = JSON.parse(m.string()) as AlertEvent;
      if (e.alert.stationId === PROBE_STATION && e.alert.ruleId === PROBE_RULE && e.type === waiting?.type) waiting.resolve(performance.now());
    },
  });
  const client = await mqtt.connectAsync(mqttUrl, { clientId: PROBE_GATEWAY, username: PROBE_GATEWAY, password, protocolVersion: 4 });
  let tsMs = Date.now() - 20 * 86_400_000;
  let seq = 0;
  const send = (levelM: number) => client.publishAsync(`sensors/${PROBE_STATION}/reading`, JSON.stringify({ ts: tsMs, seq: ++seq, values: { level_m: levelM } }), { qos: 1 });
  const out: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      tsMs += 60_000;
      if (i % 2 === 1) {
        await send(9.0);
        tsMs += 31 * 60_000;
      }
      const type = i % 2 === 0 ? 'opened' : 'cleared';
      const seen = new Promise<number>((resolve, reject) => {
        waiting = { type, resolve };
        setTimeout(() => reject(new Error(`no ${type} event within 10 s`)), 10_000).unref();
      });
      const t0 = performance.now();
      await send(i % 2 === 0 ? 10.6 : 9.0);
      out.push((await seen) - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    sub.unsubscribe();
    await client.endAsync(true);
  }
  return out;
}

export async function benchCluster(o: IngestBenchOptions, opts: { edges?: number; writers?: number; alertSamples?: number } = {}): Promise<ClusterBenchResult> {
  const edgeCount = opts.edges ?? 2;
  const writerCount = opts.writers ?? 2;
  const dir = join(o.dataDir, 'cluster');
  mkdirSync(dir, { recursive: true });
  const nats = await startLocalNatsCluster({ dir: join(dir, 'nats') });
  const members: Member[] = [];
  let haproxy: Awaited<ReturnType<typeof startLocalHaproxy>> | undefined;
  const nc = await connect({ servers: [...nats.urls] });
  try {
    await ensureJetStreamLog(nc);
    await ensureAlertStream(nc);
    const kv = await openCredentialsBucket(nc);
    const gatewayIds = [...new Set(o.registry.stations.map((s) => s.gatewayId))];
    const { passwords } = await ensureSimulatorCredentials(join(dir, 'gateways.json'), gatewayIds, {
      store: { read: () => readKvCredentials(kv), update: kvCredentialUpdater(kv) },
    });
    const env = { ...process.env, NATS_URL: nats.urls.join(','), INFLUX_URL: o.influxUrl, INFLUX_DATABASE: `bench_cluster_${Date.now()}`, DATA_DIR: dir };
    const ports: number[] = [];
    for (let i = 1; i <= edgeCount; i++) {
      const port = await freePort();
      ports.push(port);
      members.push(await startMember('edge', `edge-${i}`, { ...env, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(port), MQTT_PROXY_PROTOCOL: 'true' }));
    }
    const writers: Member[] = [];
    for (let i = 1; i <= writerCount; i++) writers.push(await startMember('writer', `writer-${i}`, { ...env, WRITER_MAX_PARTITIONS: String(Math.ceil(16 / writerCount)) }));
    members.push(...writers);
    for (let i = 1; i <= 2; i++) members.push(await startMember('alerts', `alerts-${i}`, env));
    haproxy = await startLocalHaproxy({ dir, bindHost: '127.0.0.1', port: await freePort(), edges: ports.map((port, i) => ({ name: `e${i + 1}`, host: '127.0.0.1', port })) });
    const url = `mqtt://127.0.0.1:${haproxy.port}`;

    const stored = async () => (await Promise.all(writers.map((w) => healthField(w, 'pointsWritten')))).reduce((a, b) => a + b, 0);
    // The probe station's readings walk from 20 days ago after the load: leave its gateway out of
    // the load, or the probe's readings would be older than the load's and never open an alert.
    const loaded = { ...o.registry, stations: o.registry.stations.filter((s) => s.gatewayId !== PROBE_GATEWAY) } as typeof o.registry;
    const load = prepareLoad(loaded, o.perStation, Date.now() - 60_000);
    const started = performance.now();
    const r = await publishLoad(url, load, {
      windowPerLane: o.windowPerLane,
      credentials: passwords,
      onProgress: (acked, ms) => o.log(`  ${(ms / 1000).toFixed(0)} s: ${acked} acknowledged (cluster)`),
    });
    const deadline = Date.now() + 180_000;
    let written = await stored();
    while (written < r.acked && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
      written = await stored();
    }
    const seconds = (performance.now() - started) / 1000;
    if (written < r.acked) o.log(`WARNING: only ${written} of ${r.acked} acknowledged readings confirmed by InfluxDB within 180 s`);
    o.log(`  cluster: alert latency probe (${opts.alertSamples ?? 200} samples)…`);
    const latency = await alertLatency(nc, url, passwords[PROBE_GATEWAY]!, opts.alertSamples ?? 200);
    return {
      edges: edgeCount,
      writers: writerCount,
      acked: { readings: r.acked, seconds: r.elapsedMs / 1000, perS: r.acked / (r.elapsedMs / 1000) },
      stored: { readings: written, seconds, perS: written / seconds },
      alertLatency: percentiles(latency),
    };
  } finally {
    await nc.close();
    await haproxy?.stop();
    await Promise.all(members.map((m) => stopChild(m.child, 10_000)));
    await nats.stop();
  }
}
