// One simulated field gateway: one MQTT 3.1.1 connection (clientId = username = gatewayId), QoS 1
// publishes, a retained last will on its status topic, its own reconnect backoff (mqtt.js retries
// at a fixed period, so its reconnectPeriod is 0 here), and a bounded buffer while offline.
import mqtt, { type MqttClient } from 'mqtt';
import { gatewayStatusTopic } from '../contracts/topics.ts';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { toHanoiIso } from './signals/clock.ts';
import { batchMessages, singleMessage, type OutMessage, type WireItem } from './wire.ts';

export interface GatewayOptions {
  readonly url: string;
  readonly gatewayId: string;
  /** Absent: connect without username/password. */
  readonly password?: string | undefined;
  /** Publish on gateways/{id}/readings as JSON arrays instead of one message per reading. */
  readonly batch: boolean;
  readonly maxBatchItems?: number;
  /** Wire items kept while offline; the oldest are dropped (and counted) beyond this. */
  readonly maxBufferedItems?: number;
  readonly backoff?: BackoffOptions;
  readonly onEvent?: (event: GatewayEvent) => void;
}

export type GatewayEvent =
  | { readonly type: 'connected'; readonly gatewayId: string; readonly flushed: number }
  | { readonly type: 'disconnected'; readonly gatewayId: string; readonly retryInMs: number }
  | { readonly type: 'error'; readonly gatewayId: string; readonly error: Error };

export interface GatewayStats {
  /** Wire items handed to MQTT (a batch counts its elements). */
  itemsPublished: number;
  itemsAcked: number;
  itemsFailed: number;
  itemsBuffered: number;
  itemsDropped: number;
  connects: number;
  disconnects: number;
}

export interface Gateway {
  readonly id: string;
  readonly stats: Readonly<GatewayStats>;
  readonly connected: boolean;
  start(): void;
  send(items: readonly WireItem[]): void;
  /** Fault: cut the TCP connection without DISCONNECT (the broker then publishes the last will) and stay offline `offlineMs`. */
  drop(offlineMs: number): void;
  /** Flushes nothing more: publishes "offline" on the status topic and disconnects cleanly. */
  stop(): Promise<void>;
}

const status = (state: 'online' | 'offline', reason?: string): string =>
  JSON.stringify({ status: state, ts: toHanoiIso(Date.now()), ...(reason ? { reason } : {}) });

export function createGateway(opts: GatewayOptions): Gateway {
  const id = opts.gatewayId;
  const maxBuffered = opts.maxBufferedItems ?? 10_000;
  const stats: GatewayStats = { itemsPublished: 0, itemsAcked: 0, itemsFailed: 0, itemsBuffered: 0, itemsDropped: 0, connects: 0, disconnects: 0 };
  const buffer: WireItem[] = [];
  let client: MqttClient | undefined;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let offlineUntilMs = 0;
  let stopping = false;

  const publish = (m: OutMessage): void => {
    if (!client) return;
    stats.itemsPublished += m.items;
    client.publish(m.topic, m.payload, { qos: 1 }, (err) => {
      if (err) stats.itemsFailed += m.items;
      else stats.itemsAcked += m.items;
    });
  };
  const publishItems = (items: readonly WireItem[]): void => {
    const messages = opts.batch ? batchMessages(id, items, opts.maxBatchItems) : items.map(singleMessage);
    for (const m of messages) publish(m);
  };

  const onConnect = (): void => {
    attempt = 0;
    stats.connects++;
    client?.publish(gatewayStatusTopic(id), status('online'), { qos: 1, retain: true });
    // The burst after a reconnect: everything buffered goes out at once, oldest first.
    const backlog = buffer.splice(0);
    stats.itemsBuffered = 0;
    publishItems(backlog);
    opts.onEvent?.({ type: 'connected', gatewayId: id, flushed: backlog.length });
  };

  const onClose = (): void => {
    if (stopping || retryTimer) return;
    stats.disconnects++;
    const retryInMs = Math.max(backoffDelayMs(attempt++, opts.backoff ?? DEFAULT_BACKOFF), offlineUntilMs - Date.now());
    opts.onEvent?.({ type: 'disconnected', gatewayId: id, retryInMs });
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (!stopping) client?.reconnect();
    }, retryInMs);
  };

  return {
    id,
    stats,
    get connected() {
      return client?.connected === true;
    },
    start() {
      if (client) return;
      client = mqtt.connect(opts.url, {
        clientId: id,
        ...(opts.password === undefined ? {} : { username: id, password: opts.password }),
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        will: { topic: gatewayStatusTopic(id), payload: Buffer.from(status('offline', 'connection lost')), qos: 1, retain: true },
      });
      client.on('connect', onConnect);
      client.on('close', onClose);
      client.on('error', (error) => opts.onEvent?.({ type: 'error', gatewayId: id, error }));
    },
    send(items) {
      if (items.length === 0) return;
      if (client?.connected) {
        publishItems(items);
        return;
      }
      buffer.push(...items);
      const excess = buffer.length - maxBuffered;
      if (excess > 0) {
        buffer.splice(0, excess);
        stats.itemsDropped += excess;
      }
      stats.itemsBuffered = buffer.length;
    },
    drop(offlineMs) {
      offlineUntilMs = Date.now() + offlineMs;
      client?.stream.destroy();
    },
    async stop() {
      stopping = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      const c = client;
      if (!c) return;
      if (c.connected) {
        await Promise.race([
          c.publishAsync(gatewayStatusTopic(id), status('offline', 'stopped'), { qos: 1, retain: true }).catch(() => undefined),
          new Promise((r) => setTimeout(r, 2000)),
        ]);
        await c.endAsync().catch(() => undefined);
      } else {
        await c.endAsync(true).catch(() => undefined);
      }
    },
  };
}
