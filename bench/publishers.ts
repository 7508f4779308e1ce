// The benchmark's publishers: real mqtt.js clients over TCP, one per gateway, publishing
// sequenced QoS 1 readings prepared before the clock starts (a gateway does not compute its
// readings at send time either), each with a bounded window of unacknowledged publishes.
import mqtt, { type MqttClient } from 'mqtt';
import type { Registry } from '../contracts/stations.ts';
import { stationReadingTopic } from '../contracts/topics.ts';
import { stationValues } from '../sensors-sim/signals/index.ts';

interface LaneItem {
  readonly topic: string;
  readonly seq: number;
  /** Measurement time: the station's own reporting interval apart, ending before now. */
  readonly ts: number;
  readonly values: Record<string, number>;
}

export interface PreparedLoad {
  /** Per gateway: readings in publish order (serialised at send time, ~1 µs each). */
  readonly lanes: readonly { gatewayId: string; items: LaneItem[] }[];
  readonly perStation: number;
  readonly baseMs: number;
  readonly total: number;
}

/**
 * `perStation` sequenced readings for every station: the simulator's signals (normal scenario) at
 * the station's own reporting interval, the series ending before now — a plausible past stretch
 * of the city, so that quality checks and alert rules see realistic data.
 */
export function prepareLoad(registry: Registry, perStation: number, baseMs: number): PreparedLoad {
  const maxIntervalMs = Math.max(...registry.stations.map((s) => s.intervalS)) * 1000;
  const start = Math.min(baseMs, Date.now() - (perStation + 1) * maxIntervalMs);
  const ctx = { seed: 7, scenario: 'normal' as const, originMs: start };
  const byGateway = new Map<string, { gatewayId: string; items: LaneItem[] }>();
  for (let seq = 0; seq < perStation; seq++) {
    for (const s of registry.stations) {
      let lane = byGateway.get(s.gatewayId);
      if (!lane) byGateway.set(s.gatewayId, (lane = { gatewayId: s.gatewayId, items: [] }));
      const ts = start + seq * s.intervalS * 1000;
      lane.items.push({ topic: stationReadingTopic(s.id), seq, ts, values: stationValues(ctx, s, ts) });
    }
  }
  const lanes = [...byGateway.values()];
  return { lanes, perStation, baseMs: start, total: lanes.reduce((n, l) => n + l.items.length, 0) };
}

export interface PublishResult {
  readonly acked: number;
  readonly failed: number;
  readonly elapsedMs: number;
}

/**
 * Publishes every prepared reading, each lane keeping at most `windowPerLane` unacknowledged.
 * `ratePerS` (optional) paces the total; without it the lanes go as fast as acknowledgements allow.
 * With `cycles` > 1 (the soak) the readings repeat with seq continuing, stamped at send time.
 */
export async function publishLoad(
  url: string,
  load: PreparedLoad,
  opts: { windowPerLane: number; credentials?: Record<string, string>; ratePerS?: number; cycles?: number; onProgress?: (acked: number, elapsedMs: number) => void },
): Promise<PublishResult> {
  const clients: MqttClient[] = await Promise.all(
    load.lanes.map((l) =>
      mqtt.connectAsync(url, {
        clientId: l.gatewayId,
        ...(opts.credentials ? { username: l.gatewayId, password: opts.credentials[l.gatewayId] } : {}),
        protocolVersion: 4,
        reconnectPeriod: 0,
      }),
    ),
  );
  let acked = 0;
  let failed = 0;
  let sent = 0;
  const started = performance.now();
  const progress = opts.onProgress ? setInterval(() => opts.onProgress!(acked, performance.now() - started), 2000) : undefined;
  const allowed = () => (opts.ratePerS ? ((performance.now() - started) / 1000) * opts.ratePerS : Infinity);
  await Promise.all(
    load.lanes.map(
      (lane, i) =>
        new Promise<void>((resolve) => {
          const client = clients[i]!;
          const count = lane.items.length * (opts.cycles ?? 1);
          let next = 0;
          let outstanding = 0;
          let timer: NodeJS.Timeout | undefined;
          const pump = () => {
            timer = undefined;
            while (outstanding < opts.windowPerLane && next < count) {
              if (sent >= allowed()) {
                timer ??= setTimeout(pump, 5);
                return;
              }
              const cycle = Math.floor(next / lane.items.length);
              const item = lane.items[next % lane.items.length]!;
              next++;
              outstanding++;
              sent++;
              const seq = cycle * load.perStation + item.seq;
              const ts = (opts.cycles ?? 1) > 1 ? Date.now() : item.ts;
              const payload = JSON.stringify({ ts, seq, values: item.values });
              client.publish(item.topic, payload, { qos: 1 }, (err) => {
                outstanding--;
                if (err) failed++;
                else acked++;
                if (next >= count && outstanding === 0) resolve();
                else pump();
              });
            }
          };
          pump();
        }),
    ),
  );
  const elapsedMs = performance.now() - started;
  if (progress) clearInterval(progress);
  await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
  return { acked, failed, elapsedMs };
}
