// Fans durable readings out to /ws/live clients, each message serialised once. Clients may narrow
// their stream with subscribe/unsubscribe messages (contracts/api.ts). Memory per client is
// bounded: above `coalesceBytes` of socket buffer a client gets only the latest reading per
// station; above `maxBufferedBytes` held (socket buffer + coalesced), or coalesced for longer than
// `maxStallMs`, it is disconnected; a client
// that misses a heartbeat pong is terminated (RFC 6455 §5.5.2–5.5.3).
import type { RawData, WebSocket } from 'ws';
import { WsClientMessageSchema, type WsClientMessage } from '../contracts/api.ts';
import type { StationKind } from '../contracts/parameters.ts';
import { toLiveReading, type Reading } from '../contracts/reading.ts';
import type { Registry } from '../contracts/stations.ts';

export interface LiveHubStats {
  readonly clients: number;
  /** Clients currently receiving coalesced (latest-per-station) updates. */
  readonly coalescing: number;
  /** Highest bytes held for one client (socket buffer + coalesced messages) since start. */
  readonly peakHeldBytes: number;
  readonly disconnectedSlow: number;
  readonly terminatedDead: number;
}

export interface LiveHub {
  add(ws: WebSocket): void;
  broadcast(readings: readonly Reading[]): void;
  size(): number;
  stats(): LiveHubStats;
  close(): void;
}

export interface LiveHubOptions {
  readonly registry: Registry;
  /** Socket buffer above which updates are coalesced to the latest per station, bytes. */
  readonly coalesceBytes: number;
  /** Bytes held for one client above which it is disconnected. */
  readonly maxBufferedBytes: number;
  /** How long a client may stay in coalescing mode (not reading) before it is disconnected, ms. */
  readonly maxStallMs: number;
  /** Ping interval; a client that has not answered the previous ping is terminated, ms. */
  readonly heartbeatMs: number;
  readonly onCount?: (n: number) => void;
}

const MAX_SUBSCRIPTION_ENTRIES = 1000;
const FLUSH_INTERVAL_MS = 50;

interface Filter {
  kinds: Set<StationKind>;
  stations: Set<string>;
  wards: Set<string>;
  districts: Set<string>;
}

interface Client {
  readonly ws: WebSocket;
  /** null: never subscribed, receives everything. */
  filter: Filter | null;
  readonly pending: Map<string, string>;
  pendingBytes: number;
  /** Epoch ms since when updates have been coalesced; 0 when not coalescing. */
  coalescingSince: number;
  alive: boolean;
}

export function createLiveHub(opts: LiveHubOptions): LiveHub {
  const clients = new Set<Client>();
  const coalescing = new Set<Client>();
  const counts = { peakHeldBytes: 0, disconnectedSlow: 0, terminatedDead: 0 };
  const report = () => opts.onCount?.(clients.size);

  const drop = (c: Client) => {
    clients.delete(c);
    coalescing.delete(c);
    c.pending.clear();
    c.pendingBytes = 0;
  };
  const disconnectSlow = (c: Client) => {
    counts.disconnectedSlow++;
    c.ws.close(1008, 'client not reading');
    c.ws.terminate();
    drop(c);
  };
  const held = (c: Client) => c.ws.bufferedAmount + c.pendingBytes;
  const note = (c: Client) => {
    const h = held(c);
    if (h > counts.peakHeldBytes) counts.peakHeldBytes = h;
  };

  const flusher = setInterval(() => {
    const now = Date.now();
    for (const c of coalescing) {
      if (held(c) > opts.maxBufferedBytes || now - c.coalescingSince > opts.maxStallMs) disconnectSlow(c);
      else if (c.ws.bufferedAmount <= opts.coalesceBytes) {
        for (const text of c.pending.values()) c.ws.send(text);
        c.pending.clear();
        c.pendingBytes = 0;
        coalescing.delete(c);
        c.coalescingSince = 0;
        note(c);
      }
    }
  }, FLUSH_INTERVAL_MS);
  flusher.unref();

  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        counts.terminatedDead++;
        c.ws.terminate();
        drop(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
    report();
  }, opts.heartbeatMs);
  heartbeat.unref();

  const deliver = (c: Client, station: string, text: string) => {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.pending.size > 0 || c.ws.bufferedAmount > opts.coalesceBytes) {
      const old = c.pending.get(station);
      c.pending.delete(station); // re-insert: the newest goes last
      c.pending.set(station, text);
      c.pendingBytes += text.length - (old?.length ?? 0);
      if (c.coalescingSince === 0) c.coalescingSince = Date.now();
      coalescing.add(c);
      note(c);
      if (held(c) > opts.maxBufferedBytes) disconnectSlow(c);
      return;
    }
    c.ws.send(text);
    note(c);
  };

  const matches = (f: Filter | null, r: Reading) => {
    if (!f) return true;
    if (f.kinds.has(r.kind) || f.stations.has(r.stationId)) return true;
    const s = opts.registry.get(r.stationId);
    return s !== undefined && (f.wards.has(s.ward) || f.districts.has(s.formerDistrict));
  };

  const sendControl = (c: Client, msg: object) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  };

  const onMessage = (c: Client, data: RawData) => {
    let msg: WsClientMessage;
    try {
      const parsed = WsClientMessageSchema.safeParse(JSON.parse(String(data)));
      if (!parsed.success) {
        sendControl(c, { type: 'error', error: 'BAD_MESSAGE', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ') });
        return;
      }
      msg = parsed.data;
    } catch {
      sendControl(c, { type: 'error', error: 'BAD_MESSAGE', message: 'messages are JSON objects' });
      return;
    }
    const f = (c.filter ??= { kinds: new Set(), stations: new Set(), wards: new Set(), districts: new Set() });
    const lists = [
      [f.kinds, msg.kinds],
      [f.stations, msg.stations],
      [f.wards, msg.wards],
      [f.districts, msg.districts],
    ] as const;
    for (const [set, items] of lists) for (const i of items ?? []) (msg.type === 'subscribe' ? (set as Set<string>).add(i) : set.delete(i as never));
    if (lists.some(([set]) => set.size > MAX_SUBSCRIPTION_ENTRIES)) {
      c.filter = null;
      sendControl(c, { type: 'error', error: 'TOO_MANY_SUBSCRIPTIONS', message: `at most ${MAX_SUBSCRIPTION_ENTRIES} entries per list; subscription reset to everything` });
      return;
    }
    sendControl(c, { type: 'subscribed', kinds: [...f.kinds], stations: [...f.stations], wards: [...f.wards], districts: [...f.districts] });
  };

  return {
    add(ws) {
      const c: Client = { ws, filter: null, pending: new Map(), pendingBytes: 0, coalescingSince: 0, alive: true };
      clients.add(c);
      report();
      ws.on('pong', () => (c.alive = true));
      ws.on('message', (data) => onMessage(c, data));
      ws.on('close', () => {
        drop(c);
        report();
      });
      ws.on('error', () => ws.terminate());
    },
    broadcast(readings) {
      if (clients.size === 0) return;
      for (const r of readings) {
        const text = JSON.stringify(toLiveReading(r));
        for (const c of clients) if (matches(c.filter, r)) deliver(c, r.stationId, text);
      }
      report();
    },
    size: () => clients.size,
    stats: () => ({ clients: clients.size, coalescing: coalescing.size, ...counts }),
    close() {
      clearInterval(flusher);
      clearInterval(heartbeat);
      for (const c of clients) c.ws.close(1001, 'server shutting down');
      clients.clear();
      coalescing.clear();
    },
  };
}
