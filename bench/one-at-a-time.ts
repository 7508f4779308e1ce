// One gateway that publishes a QoS 1 reading and waits for its PUBACK before the next — what small
// field gateways do, and what mqtt.js does when it resends stored readings after a reconnect.
// Acknowledgements per second and the median round trip, quantrac beside the bare embedded broker.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { prepareLoad } from './publishers.ts';
import { startPipeline, stopChild, type IngestBenchOptions } from './ingest.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

export interface OneAtATimeResult {
  readonly acked: number;
  readonly seconds: number;
  readonly ackedPerS: number;
  readonly medianRoundTripMs: number;
  readonly p99RoundTripMs: number;
}

/** `count` readings of one gateway's stations, each published once the previous PUBACK arrived. */
async function publishOneAtATime(url: string, items: readonly { topic: string; payload: string }[], auth: { gatewayId: string; password?: string | undefined }): Promise<OneAtATimeResult> {
  const client = await mqtt.connectAsync(url, {
    clientId: auth.gatewayId,
    ...(auth.password ? { username: auth.gatewayId, password: auth.password } : {}),
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const roundTrips: number[] = [];
  const started = performance.now();
  for (const item of items) {
    const t0 = performance.now();
    await client.publishAsync(item.topic, item.payload, { qos: 1 });
    roundTrips.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  await client.endAsync();
  roundTrips.sort((a, b) => a - b);
  const at = (q: number) => roundTrips[Math.min(roundTrips.length - 1, Math.floor(q * roundTrips.length))]!;
  return { acked: roundTrips.length, seconds, ackedPerS: roundTrips.length / seconds, medianRoundTripMs: at(0.5), p99RoundTripMs: at(0.99) };
}

export async function benchOneAtATime(o: IngestBenchOptions, count: number): Promise<{ bare: OneAtATimeResult; pipeline: OneAtATimeResult; gatewayId: string }> {
  // The first gateway's stations, in the simulator's values, seq continuing per station.
  const gatewayId = o.registry.stations[0]!.gatewayId;
  const stations = o.registry.stations.filter((s) => s.gatewayId === gatewayId);
  const lane = prepareLoad({ ...o.registry, stations }, Math.ceil(count / stations.length), Date.now()).lanes[0]!;
  const items = lane.items.slice(0, count).map((i) => ({ topic: i.topic, payload: JSON.stringify({ ts: i.ts, seq: i.seq, values: i.values }) }));

  o.log(`one-at-a-time: bare broker reference (${items.length} readings)…`);
  const bareChild = spawn(process.execPath, [join(here, 'bare-broker.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let bare: OneAtATimeResult;
  try {
    const line = await new Promise<string>((resolve) => createInterface({ input: bareChild.stdout! }).once('line', resolve));
    const { port } = JSON.parse(line) as { port: number };
    bare = await publishOneAtATime(`mqtt://127.0.0.1:${port}`, items, { gatewayId });
  } finally {
    await stopChild(bareChild);
  }

  o.log(`one-at-a-time: quantrac pipeline, fsync on (${items.length} readings)…`);
  const p = await startPipeline({ ...o, dataDir: join(o.dataDir, 'one-at-a-time') }, `bench_one_${Date.now()}`);
  try {
    const pipeline = await publishOneAtATime(p.mqtt, items, { gatewayId, password: p.credentials[gatewayId] });
    return { bare, pipeline, gatewayId };
  } finally {
    await stopChild(p.child);
  }
}
