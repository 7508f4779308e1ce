// A test publisher: real MQTT gateways publishing sequenced QoS 1 readings, recording exactly
// which (station, seq) the broker acknowledged. Stops by itself after `count` readings per station.
import mqtt, { type MqttClient } from 'mqtt';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';

export interface PublisherGateway {
  readonly gatewayId: string;
  readonly password: string;
  readonly stations: readonly { id: string; values: (seq: number) => Record<string, number> }[];
}

export interface Publisher {
  /** `station#seq` of every acknowledged reading. */
  readonly acked: Set<string>;
  readonly sent: () => number;
  /** Resolves when every reading was acknowledged or `stop()` was called. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export function startPublisher(opts: {
  url: string;
  gateways: readonly PublisherGateway[];
  countPerStation: number;
  /** Unacknowledged publishes per gateway. */
  inflight?: number;
  /** Base time of seq 0; seq n is stamped baseMs + n × stepMs. */
  baseMs: number;
  stepMs?: number;
  /** Wait after each publish of a worker, ms (paces the stream, e.g. for a crash in its middle). Default 0. */
  pauseMs?: number;
}): Publisher {
  const acked = new Set<string>();
  let sent = 0;
  let stopped = false;
  const clients: MqttClient[] = [];
  const step = opts.stepMs ?? 1000;
  const runGateway = async (gw: PublisherGateway) => {
    const client = mqtt.connect(opts.url, {
      clientId: gw.gatewayId,
      username: gw.gatewayId,
      password: gw.password,
      protocolVersion: 4,
      reconnectPeriod: 200,
      connectTimeout: 2000,
      clean: false,
    });
    clients.push(client);
    const queue: { station: string; seq: number; values: Record<string, number> }[] = [];
    for (let seq = 0; seq < opts.countPerStation; seq++) {
      for (const s of gw.stations) queue.push({ station: s.id, seq, values: s.values(seq) });
    }
    const inflight = opts.inflight ?? 50;
    let next = 0;
    const worker = async () => {
      while (!stopped && next < queue.length) {
        const r = queue[next++]!;
        sent++;
        const payload = JSON.stringify({ ts: opts.baseMs + r.seq * step, seq: r.seq, values: r.values });
        // mqtt.js keeps an unacknowledged QoS 1 publish and resends it after a reconnect.
        await client.publishAsync(`sensors/${r.station}/reading`, payload, { qos: 1 }).then(
          () => void acked.add(`${r.station}#${r.seq}`),
          () => undefined,
        );
        if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
    };
    await Promise.all(Array.from({ length: inflight }, worker));
  };
  const done = Promise.all(opts.gateways.map(runGateway)).then(() => undefined);
  return {
    acked,
    sent: () => sent,
    done,
    async stop() {
      stopped = true;
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    },
  };
}

/** Counts rows per `station#seq` in InfluxDB for the given stations of one measurement. */
export async function storedCounts(query: (q: string) => Promise<Record<string, unknown>[]>, measurement: string, stations: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const filter = stations.map((s) => `"station" = '${s}'`).join(' OR ');
  const rows = await query(`SELECT "seq", "station" FROM "${measurement}" WHERE ${filter}`);
  for (const r of rows) {
    const key = `${String(r.station)}#${String(r.seq)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Gateways with fresh credentials in `credentialsPath`, each publishing air readings for its stations. */
export async function fleetGateways(credentialsPath: string, fleet: Record<string, readonly string[]>): Promise<PublisherGateway[]> {
  return Promise.all(
    Object.entries(fleet).map(async ([gatewayId, ids]) => ({
      gatewayId,
      password: await setGatewayPassword(credentialsPath, gatewayId),
      stations: ids.map((id) => ({ id, values: (seq: number) => ({ pm25: 20 + (seq % 50), pm10: 40 + (seq % 70) }) })),
    })),
  );
}
