// Alert latency benchmark (issue #4): time from an MQTT publish that crosses a flood level to the
// alert event on an officer's /ws/officer socket, p50/p99, while sensors-sim's runLoad keeps a
// background load of readings on the same pipeline. Server and load share this process.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import WebSocket from 'ws';
import { setUser } from '../api/auth.ts';
import { setGatewayPassword } from '../broker/gateway-credentials.ts';
import type { OfficerMessage } from '../contracts/alerts-api.ts';
import { runLoad, type LoadResult } from '../sensors-sim/index.ts';
import { parseConfig } from '../server/config.ts';
import { startQuantrac } from '../server/create-quantrac.ts';

export interface AlertLatencyOptions {
  readonly influxUrl: string;
  /** Shorter run (CI): fewer samples, lower load. */
  readonly quick?: boolean;
  readonly log?: (line: string) => void;
  /** Background readings per second (default 2000, quick 500). */
  readonly loadRatePerS?: number;
  /** Alert transitions to time (default 100, quick 20), fewer if the load (60 s, quick 15 s) ends first; each cycle times one open and one clear. */
  readonly samples?: number;
}

export interface AlertLatencyResult {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly loadRatePerS: number;
  readonly load: LoadResult;
}

const PROBE_STATION = 'flood-longbien';
const PROBE_GATEWAY = 'gw-river';
const RULE = 'flood-river-level';

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

export async function benchAlertLatency(o: AlertLatencyOptions): Promise<{ result: AlertLatencyResult; markdown: string }> {
  const log = o.log ?? (() => undefined);
  const samples = o.samples ?? (o.quick ? 20 : 100);
  const ratePerS = o.loadRatePerS ?? (o.quick ? 500 : 2000);
  const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-bench-alerts-'));
  const config = parseConfig({
    INFLUX_URL: o.influxUrl, INFLUX_DATABASE: `bench_alerts_${randomBytes(3).toString('hex')}`,
    MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent',
  });
  const q = await startQuantrac(config, pino({ level: 'silent' }));
  try {
    const { mqtt: mqttUrl, http } = q.urls();
    // The probe gateway publishes alone; every other gateway carries the background load.
    const loadStations = q.registry.stations.filter((s) => s.gatewayId !== PROBE_GATEWAY);
    const credentials: Record<string, string> = {};
    for (const gw of new Set(loadStations.map((s) => s.gatewayId))) credentials[gw] = await setGatewayPassword(config.credentialsPath, gw);
    const probe = await mqtt.connectAsync(mqttUrl, { clientId: PROBE_GATEWAY, username: PROBE_GATEWAY, password: await setGatewayPassword(config.credentialsPath, PROBE_GATEWAY), protocolVersion: 4, reconnectPeriod: 0 });

    await setUser(config.apiUsersPath, 'bench-officer', 'officer', 'bench-password');
    const login = await fetch(`${http}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench-officer', password: 'bench-password' }) });
    const { token } = (await login.json()) as { token: string };
    const ws = new WebSocket(`${http.replace('http', 'ws')}/ws/officer?token=${encodeURIComponent(token)}`);
    let waiter: { type: string; resolve: (atMs: number) => void } | undefined;
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as OfficerMessage;
      if (m.type === 'event' && m.event.alert.ruleId === RULE && m.event.alert.stationId === PROBE_STATION && m.event.type === waiter?.type) waiter.resolve(performance.now());
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

    log(`alerts: background load ${ratePerS} readings/s on ${loadStations.length} stations; timing ${samples} alert transitions…`);
    let loadDone = false;
    const durationS = o.quick ? 15 : 60;
    const load = runLoad({ url: mqttUrl, stations: loadStations, ratePerS, durationS, credentials }).finally(() => (loadDone = true));
    await new Promise((r) => setTimeout(r, 2000)); // let the load reach its rate

    // Reading time walks forward from 20 days ago: each cycle opens (10.6 m) and clears (30 min at 9.0 m).
    let tsMs = Date.now() - 20 * 86_400_000;
    let seq = 0;
    const send = (levelM: number) => probe.publishAsync(`sensors/${PROBE_STATION}/reading`, JSON.stringify({ ts: new Date(tsMs).toISOString(), seq: ++seq, values: { level_m: levelM } }), { qos: 1 });
    const timed = async (type: string, levelM: number): Promise<number> => {
      const seen = new Promise<number>((resolve, reject) => {
        waiter = { type, resolve };
        setTimeout(() => reject(new Error(`no ${type} alert within 10 s`)), 10_000).unref();
      });
      const t0 = performance.now();
      await send(levelM);
      return (await seen) - t0;
    };
    const latencies: number[] = [];
    while (latencies.length < samples && !loadDone) {
      latencies.push(await timed('opened', 10.6));
      tsMs += 60_000;
      await send(9.0);
      tsMs += 31 * 60_000;
      latencies.push(await timed('cleared', 9.0));
      tsMs += 60_000;
    }
    ws.close();
    await probe.endAsync();
    const loadResult = await load; // its duration is fixed: the timed transitions fall inside it
    const sorted = [...latencies].sort((a, b) => a - b);
    const result: AlertLatencyResult = {
      samples: sorted.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? NaN,
      loadRatePerS: ratePerS,
      load: loadResult,
    };
    const markdown = `# Alert latency — ${new Date().toISOString().slice(0, 10)}\n\nMQTT publish (QoS 1) of a reading that opens or clears a flood alert → the event on /ws/officer, with ${ratePerS} background readings/s (sensors-sim runLoad) on the same in-process server.\n\n| samples | p50 ms | p99 ms | max ms |\n|---|---|---|---|\n| ${result.samples} | ${result.p50Ms.toFixed(1)} | ${result.p99Ms.toFixed(1)} | ${result.maxMs.toFixed(1)} |\n\nBackground load: ${loadResult.acked} readings acknowledged of ${loadResult.published} published in ${(loadResult.elapsedMs / 1000).toFixed(1)} s over ${loadResult.connections} gateway connections.\n`;
    log(`alerts: p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms over ${result.samples} transitions`);
    return { result, markdown };
  } finally {
    await q.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
