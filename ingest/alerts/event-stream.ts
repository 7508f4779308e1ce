// The cluster's alert history: every alert event the owner of a partition emits goes to the
// replicated stream QUANTRAC_ALERTS (R3), with a Nats-Msg-Id naming the transition, so a new owner
// that replays the records between the last checkpoint and its predecessor's crash re-emits the
// same transitions and the stream stores each once (no duplicate transition). API processes follow
// the stream for the alert views and the officers' WebSocket.
//
//   alerts owner p{n} ─ event ─▶ QUANTRAC_ALERTS (quantrac.alerts.p.{n}, dedupe by transition) ─▶ api × N
import type { NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { AlertEvent } from '../../contracts/alerts.ts';
import { createJetStreamReader, followReader } from '../log/jetstream-reader.ts';

export const ALERT_STREAM = 'QUANTRAC_ALERTS';
export const ALERT_SUBJECT_PREFIX = 'quantrac.alerts.p';

/** The transition an event records: the same on every replay of the same records. */
export function alertEventId(e: AlertEvent): string {
  return `${e.alert.id}|${e.type}|${e.at}|${e.alert.level.key}|${e.alert.value}`;
}

export async function ensureAlertStream(nc: NatsConnection, replicas = 3): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await jsm.streams.info(ALERT_STREAM);
      return;
    } catch (err) {
      try {
        if (err instanceof JetStreamApiError && err.code === 10059) {
          await jsm.streams.add({
            name: ALERT_STREAM,
            subjects: [`${ALERT_SUBJECT_PREFIX}.*`],
            retention: RetentionPolicy.Limits,
            storage: StorageType.File,
            num_replicas: replicas,
            discard: DiscardPolicy.Old,
            max_bytes: 256 * 1024 * 1024,
            duplicate_window: 10 * 60 * 1_000_000_000,
          });
          return;
        }
        throw err;
      } catch (again) {
        if (Date.now() > deadline) throw again;
        await new Promise((r) => setTimeout(r, 250)); // the cluster is electing
      }
    }
  }
}

export interface AlertEventPublisher {
  /** Queues events in order; each is retried until the stream acknowledged it. */
  publish(events: readonly AlertEvent[]): void;
  /** Resolves once everything queued is acknowledged. */
  flushed(): Promise<void>;
  /** Stops retrying (the partition was handed over: its new owner re-emits). */
  abandon(): void;
}

export function createAlertEventPublisher(nc: NatsConnection, partition: number, onRetry: (err: Error) => void): AlertEventPublisher {
  const js = jetstream(nc);
  let chain: Promise<void> = Promise.resolve();
  let abandoned = false;
  const send = async (e: AlertEvent) => {
    for (let delay = 100; !abandoned; delay = Math.min(delay * 2, 2000)) {
      try {
        await js.publish(`${ALERT_SUBJECT_PREFIX}.${partition}`, JSON.stringify(e), { msgID: alertEventId(e), timeout: 2000 });
        return;
      } catch (err) {
        onRetry(err as Error);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  return {
    publish(events) {
      const batch = [...events];
      chain = chain.then(async () => {
        for (const e of batch) await send(e);
      });
    },
    flushed: () => chain,
    abandon: () => void (abandoned = true),
  };
}

/**
 * Follows the whole alert history from its start; `onEvent` sees each stored transition once, in
 * order per partition. Read through the log's JetStream reader, whose watchdog restarts a consumer
 * that stopped delivering after its server died (a bare ordered consumer stalled there for good:
 * seen after SIGKILL of a nats-server, the views stopped at the events before it).
 */
export async function followAlertEvents(nc: NatsConnection, onEvent: (e: AlertEvent, seq: number) => void): Promise<{ caughtUp(): Promise<void>; stop(): Promise<void> }> {
  const reader = await createJetStreamReader(nc, { stream: ALERT_STREAM });
  const info = await (await jetstreamManager(nc)).streams.info(ALERT_STREAM);
  const target = info.state.last_seq;
  let at = 0;
  let wake: (() => void) | undefined;
  const following = followReader(reader, reader.start(), (entries) => {
    for (const e of entries) {
      at = e.position;
      try {
        onEvent(JSON.parse(e.body.toString('utf8')) as AlertEvent, e.position);
      } catch {
        // not an event (foreign message): skipped
      }
    }
    if (at >= target) wake?.();
  });
  return {
    caughtUp: () => (at >= target ? Promise.resolve() : new Promise<void>((r) => (wake = r))),
    stop: following.stop,
  };
}
