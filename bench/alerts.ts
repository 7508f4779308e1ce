// Alert latency: from the MQTT publish (QoS 1) of a reading that opens or clears a flood alert to
// the event on an officer's /ws/officer, while the pipeline carries a background load (default
// 20,000 readings/s). Reference, same load and probe: the bare embedded broker's publish →
// subscriber latency (the MQTT hop alone). The server runs as its own process, as npm start runs it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { setUser } from '../api/auth.ts';
import type { Registry } from '../contracts/stations.ts';
import { createRegistry } from '../contracts/stations.ts';
import { startPipeline, stopChild } from './ingest.ts';
import { prepareLoad, publishLoad, type PublishResult } from './publishers.ts';

const PROBE_GATEWAY = 'gw-river';
const PROBE_STATION = 'flood-longbien';
const RULE = 'flood-river-level';
const here = fileURLToPath(new URL('.', import.meta.url));

export interface AlertLatencyOptions {
  readonly influxUrl: string;
  readonly registry: Registry;
  readonly quick?: boolean;
  /** Background readings per second (default 20,000; quick 5,000). */
  readonly loadRatePerS?: number;
  readonly samples?: number;
  readonly log?: (line: string) => void;
}

interface Percentiles {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const summarise = (xs: readonly number[]): Percentiles => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  return { samples: s.length, p50Ms: at(50), p99Ms: at(99), maxMs: s.at(-1) ?? NaN };
};

/** Background load on every station but the probe's, stamped at send time, for `durationS`. */
function backgroundLoad(url: string, registry: Registry, ratePerS: number, durationS: number, credentials?: Record<string, string>): Promise<PublishResult> {
  const stations = registry.stations.filter((s) => s.gatewayId !== PROBE_GATEWAY);
  const sub = createRegistry({ version: registry.version, updated: '2026-01-01', stations: [...stations] });
  const load = prepareLoad(sub, 50, Date.now());
  const cycles = Math.ceil((ratePerS * durationS) / load.total);
  return publishLoad(url, load, { windowPerLane: 200, ratePerS, cycles, ...(credentials ? { credentials } : {}) });
}

/** Times `samples` probe publishes until `seen` reports them; stops early when `stop()` says so. */
async function probe(samples: number, send: (i: number) => Promise<unknown>, seen: (i: number) => Promise<number>, stop: () => boolean): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples && !stop(); i++) {
    const arrived = seen(i);
    const t0 = performance.now();
    await send(i);
    out.push((await arrived) - t0);
  }
  return out;
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref())]);

async function referenceBareBroker(o: AlertLatencyOptions, ratePerS: number, samples: number, durationS: number): Promise<Percentiles> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'bare-broker.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const url = `mqtt://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
  let done = false;
  const load = backgroundLoad(url, o.registry, ratePerS, durationS).finally(() => (done = true));
  const pub = await mqtt.connectAsync(url, { clientId: 'probe-pub', protocolVersion: 4 });
  const sub = await mqtt.connectAsync(url, { clientId: 'probe-sub', protocolVersion: 4 });
  await sub.subscribeAsync(`sensors/${PROBE_STATION}/reading`, { qos: 1 });
  let waiting: ((at: number) => void) | undefined;
  sub.on('message', () => waiting?.(performance.now()));
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const times = await probe(
      samples,
      (i) => pub.publishAsync(`sensors/${PROBE_STATION}/reading`, JSON.stringify({ ts: Date.now(), seq: i, values: { level_m: 9 } }), { qos: 1 }),
      () => within(new Promise<number>((r) => (waiting = r)), 10_000, 'delivery'),
      () => done,
    );
    return summarise(times);
  } finally {
    await Promise.all([pub.endAsync(true), sub.endAsync(true)]);
    await load.catch(() => undefined);
    await stopChild(child);
  }
}

async function measurePipeline(o: AlertLatencyOptions, ratePerS: number, samples: number, durationS: number): Promise<{ latency: Percentiles; load: PublishResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-bench-alerts-'));
  const dataDir = join(dir, 'data');
  const p = await startPipeline({ influxUrl: o.influxUrl, registry: o.registry, dataDir }, `bench_alerts_${Date.now()}`);
  let probeClient: MqttClient | undefined;
  let ws: WebSocket | undefined;
  try {
    await setUser(join(dataDir, 'users.json'), 'bench-officer', 'officer', 'bench-password');
    const login = await fetch(`${p.http}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench-officer', password: 'bench-password' }) });
    const { token } = (await login.json()) as { token: string };
    ws = new WebSocket(`${p.http.replace('http', 'ws')}/ws/officer?token=${encodeURIComponent(token)}`);
    let waiting: { type: string; resolve: (at: number) => void } | undefined;
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; event?: { type: string; alert: { ruleId: string; stationId: string } } };
      if (m.type === 'event' && m.event?.alert.ruleId === RULE && m.event.alert.stationId === PROBE_STATION && m.event.type === waiting?.type) waiting.resolve(performance.now());
    });
    await new Promise((resolve, reject) => ws!.once('open', resolve).once('error', reject));
    probeClient = await mqtt.connectAsync(p.mqtt, { clientId: PROBE_GATEWAY, username: PROBE_GATEWAY, password: p.credentials[PROBE_GATEWAY], protocolVersion: 4 });

    let done = false;
    const loadCredentials = { ...p.credentials };
    const load = backgroundLoad(p.mqtt, o.registry, ratePerS, durationS, loadCredentials).finally(() => (done = true));
    await new Promise((r) => setTimeout(r, 2000)); // let the load reach its rate
    // Reading time walks forward from 20 days ago: each pair opens (10.6 m, level II) and then,
    // after 31 minutes at 9.0 m (the rule's clear delay), clears the alert.
    let tsMs = Date.now() - 20 * 86_400_000;
    let seq = 0;
    const send = (levelM: number) =>
      probeClient!.publishAsync(`sensors/${PROBE_STATION}/reading`, JSON.stringify({ ts: tsMs, seq: ++seq, values: { level_m: levelM } }), { qos: 1 });
    const times = await probe(
      samples,
      async (i) => {
        tsMs += 60_000; // a new timestamp each time: a repeated one is a duplicate, not a reading
        if (i % 2 === 0) return send(10.6);
        tsMs += 60_000;
        await send(9.0);
        tsMs += 31 * 60_000;
        return send(9.0);
      },
      (i) => within(new Promise<number>((resolve) => (waiting = { type: i % 2 === 0 ? 'opened' : 'cleared', resolve })), 10_000, 'alert event'),
      () => done,
    );
    return { latency: summarise(times), load: await load };
  } finally {
    ws?.close();
    await probeClient?.endAsync(true);
    await stopChild(p.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchAlertLatency(o: AlertLatencyOptions): Promise<{ result: object; markdown: string }> {
  const log = o.log ?? (() => undefined);
  const ratePerS = o.loadRatePerS ?? (o.quick ? 5000 : 20_000);
  const samples = o.samples ?? (o.quick ? 20 : 100);
  const durationS = o.quick ? 20 : 60;
  log(`alerts: reference — bare broker publish→subscriber under ${ratePerS} readings/s…`);
  const reference = await referenceBareBroker(o, ratePerS, samples, durationS);
  log(`alerts: pipeline — publish→officer WebSocket under ${ratePerS} readings/s…`);
  const { latency, load } = await measurePipeline(o, ratePerS, samples, durationS);
  const achieved = load.acked / (load.elapsedMs / 1000);
  const row = (name: string, l: Percentiles) => `| ${name} | ${l.samples} | ${l.p50Ms.toFixed(1)} | ${l.p99Ms.toFixed(1)} | ${l.maxMs.toFixed(1)} |`;
  const markdown = [
    `# Alert latency — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `MQTT publish (QoS 1) of a Long Biên gauge reading that opens or clears its flood alert → the event on an officer's /ws/officer, while other gateways publish a background load (target ${ratePerS.toLocaleString('en-US')} readings/s, achieved ${Math.round(achieved).toLocaleString('en-US')}/s). The server runs as its own process. Reference: the same probe through the bare embedded broker (publish → a subscriber) under the same load.`,
    '',
    '| path | samples | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|',
    row('bare broker publish → subscriber (reference)', reference),
    row('**quantrac publish → alert on /ws/officer**', latency),
    '',
    `p99 ratio pipeline / bare broker: ${(latency.p99Ms / reference.p99Ms).toFixed(1)}. Target on this machine: p99 under 20 ms.`,
  ].join('\n');
  log(`alerts: p50 ${latency.p50Ms.toFixed(1)} ms, p99 ${latency.p99Ms.toFixed(1)} ms (bare broker p99 ${reference.p99Ms.toFixed(1)} ms)`);
  return { result: { loadTargetPerS: ratePerS, loadAchievedPerS: achieved, reference, pipeline: latency }, markdown };
}
