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
 * `ratePerS` (optional) paces the total smoothly: one 1 ms ticker hands the allowance out round
 * robin over the lanes, so the load arrives as a steady stream from every gateway rather than in
 * bursts from one. Without it the lanes go as fast as acknowledgements allow.
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
  const cycles = opts.cycles ?? 1;
  const lanes = load.lanes.map((lane, i) => ({ lane, client: clients[i]!, count: lane.items.length * cycles, next: 0, outstanding: 0 }));
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let open = lanes.filter((l) => l.count > 0).length;
  if (open === 0) finish();

  type Lane = (typeof lanes)[number];
  const canSend = (l: Lane) => l.outstanding < opts.windowPerLane && l.next < l.count;
  function sendOne(l: Lane): void {
    const cycle = Math.floor(l.next / l.lane.items.length);
    const item = l.lane.items[l.next % l.lane.items.length]!;
    l.next++;
    l.outstanding++;
    sent++;
    const seq = cycle * load.perStation + item.seq;
    const ts = cycles > 1 ? Date.now() : item.ts;
    l.client.publish(item.topic, JSON.stringify({ ts, seq, values: item.values }), { qos: 1 }, (err) => {
      l.outstanding--;
      if (err) failed++;
      else acked++;
      if (l.next >= l.count && l.outstanding === 0 && --open === 0) finish();
      else if (!opts.ratePerS) pumpLane(l);
    });
  }
  // Unpaced: each lane refills its window as acknowledgements come back.
  const pumpLane = (l: Lane) => {
    while (canSend(l)) sendOne(l);
  };
  let ticker: NodeJS.Timeout | undefined;
  if (opts.ratePerS) {
    const rate = opts.ratePerS;
    let cursor = 0;
    ticker = setInterval(() => {
      let allowance = Math.floor(((performance.now() - started) / 1000) * rate) - sent;
      let blocked = 0;
      while (allowance > 0 && blocked < lanes.length) {
        const l = lanes[cursor]!;
        cursor = (cursor + 1) % lanes.length;
        if (!canSend(l)) {
          blocked++;
          continue;
        }
        blocked = 0;
        sendOne(l);
        allowance--;
      }
      if (lanes.every((l) => l.next >= l.count)) clearInterval(ticker);
    }, 1);
  } else {
    lanes.forEach(pumpLane);
  }
  await finished;
  if (ticker) clearInterval(ticker);
  const elapsedMs = performance.now() - started;
  if (progress) clearInterval(progress);
  await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
  return { acked, failed, elapsedMs };
}
