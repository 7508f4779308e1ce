// Load mode for benchmarks: readings at a target rate over real gateway connections, with a
// bounded window of unacknowledged QoS 1 publishes. Counts, never judges: speed is the bench's call.
import mqtt, { type MqttClient } from 'mqtt';
import type { Station } from '../contracts/stations.ts';
import { stationReadingTopic } from '../contracts/topics.ts';
import { stationValues } from './signals/index.ts';
import { toHanoiIso } from './signals/clock.ts';
import type { SignalContext } from './scenarios.ts';

export interface LoadOptions {
  readonly url: string;
  readonly stations: readonly Station[];
  /** Target readings per second, all connections together. */
  readonly ratePerS: number;
  readonly durationS: number;
  /** Most unacknowledged QoS 1 publishes at any time (default 1000). */
  readonly inflight?: number;
  /** Gateway connections to use (default: one per gateway of the stations); capped at that count. */
  readonly connections?: number;
  readonly credentials?: Readonly<Record<string, string>>;
  readonly seed?: number;
  /** Called about twice a second, and once at the end. */
  readonly onProgress?: (p: LoadProgress) => void;
}

export interface LoadProgress {
  readonly published: number;
  readonly acked: number;
  readonly failed: number;
  readonly inflight: number;
  readonly elapsedMs: number;
  /** Acknowledged readings per second so far. */
  readonly ackedPerS: number;
}

export interface LoadResult {
  readonly published: number;
  readonly acked: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly connections: number;
}

function connect(url: string, gatewayId: string, password: string | undefined): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: gatewayId,
      ...(password === undefined ? {} : { username: gatewayId, password }),
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(new Error(`gateway ${gatewayId} could not connect: ${err.message}`, { cause: err }));
    });
  });
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const inflightMax = opts.inflight ?? 1000;
  const byGateway = new Map<string, Station[]>();
  for (const s of opts.stations) byGateway.set(s.gatewayId, [...(byGateway.get(s.gatewayId) ?? []), s]);
  const gatewayIds = [...byGateway.keys()].slice(0, opts.connections ?? byGateway.size);
  const clients = await Promise.all(gatewayIds.map((id) => connect(opts.url, id, opts.credentials?.[id])));
  const lanes = gatewayIds.map((id, i) => ({ client: clients[i]!, stations: byGateway.get(id)! }));
  const ctx: SignalContext = { seed: opts.seed ?? 7, scenario: 'normal', originMs: Date.now() };
  // seq per station: a counter from the start time in ms, so reruns keep increasing.
  const seqBase = Date.now();
  const seqs = new Map<string, number>();
  let published = 0;
  let acked = 0;
  let failed = 0;
  let cursor = 0;
  const startMs = Date.now();
  const progress = (): LoadProgress => {
    const elapsedMs = Date.now() - startMs;
    return { published, acked, failed, inflight: published - acked - failed, elapsedMs, ackedPerS: elapsedMs > 0 ? (acked * 1000) / elapsedMs : 0 };
  };

  const publishOne = (): void => {
    const lane = lanes[cursor % lanes.length]!;
    const station = lane.stations[Math.floor(cursor / lanes.length) % lane.stations.length]!;
    cursor++;
    const seq = (seqs.get(station.id) ?? seqBase) + 1;
    seqs.set(station.id, seq);
    const now = Date.now();
    const payload = JSON.stringify({ ts: toHanoiIso(now), seq, values: stationValues(ctx, station, now) });
    published++;
    lane.client.publish(stationReadingTopic(station.id), payload, { qos: 1 }, (err) => {
      if (err) failed++;
      else acked++;
    });
  };

  await new Promise<void>((resolve) => {
    const endMs = startMs + opts.durationS * 1000;
    const pump = setInterval(() => {
      const now = Date.now();
      const due = Math.floor((Math.min(now, endMs) - startMs) * (opts.ratePerS / 1000)) - published;
      const room = inflightMax - (published - acked - failed);
      for (let i = 0; i < Math.min(due, room); i++) publishOne();
      if (now >= endMs) {
        clearInterval(pump);
        clearInterval(reporter);
        resolve();
      }
    }, 5);
    const reporter = setInterval(() => opts.onProgress?.(progress()), 500);
  });
  // Wait (bounded) for the last acknowledgements, then close.
  const drainDeadline = Date.now() + 10_000;
  while (published - acked - failed > 0 && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  const elapsedMs = Date.now() - startMs;
  opts.onProgress?.(progress());
  await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
  return { published, acked, failed, elapsedMs, connections: clients.length };
}
