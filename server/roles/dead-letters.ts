// Dead letters in cluster mode: the writer owning a partition judges its readings, but gateways
// are connected to the edges. The writer publishes each dead letter once on the core NATS subject
// quantrac.deadletters; every edge relays it to `gateways/{gatewayId}/deadletter` on its own
// broker, where only the gateway's subscribers connected to that edge get it — so a subscriber
// receives it once, at QoS 0 like the embedded server's (not stored: a gateway not connected
// misses it, as with one process; the counter is the durable record).
//
//   writer (store lane: rejection) ─NATS quantrac.deadletters─▶ edge × N ─MQTT QoS 0─▶ gateways/{id}/deadletter
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { gatewayDeadLetterTopic } from '../../contracts/topics.ts';

export const DEAD_LETTER_SUBJECT = 'quantrac.deadletters';

interface RelayedLetter {
  readonly gatewayId: string;
  /** The dead letter as the gateway receives it (contracts/reading.ts DeadLetterSchema). */
  readonly letter: unknown;
}

/** Publishes one dead letter for the edges to relay (fire and forget, like a QoS 0 publish). */
export function publishDeadLetter(nc: NatsConnection, gatewayId: string, letter: unknown): void {
  nc.publish(DEAD_LETTER_SUBJECT, JSON.stringify({ gatewayId, letter } satisfies RelayedLetter));
}

/** Relays the writers' dead letters to this edge's MQTT subscribers until the subscription ends. */
export function relayDeadLetters(nc: NatsConnection, publish: (topic: string, payload: string, qos: 0 | 1) => void, log: Logger): { stop(): void } {
  const sub = nc.subscribe(DEAD_LETTER_SUBJECT, {
    callback: (err, msg) => {
      if (err) return log.warn({ err: err.message }, 'dead-letter relay subscription failed');
      try {
        const { gatewayId, letter } = msg.json<RelayedLetter>();
        if (typeof gatewayId === 'string' && gatewayId !== '') publish(gatewayDeadLetterTopic(gatewayId), JSON.stringify(letter), 0);
      } catch {
        log.warn({ bytes: msg.data.length }, 'unreadable dead letter on the relay subject: dropped');
      }
    },
  });
  return { stop: () => sub.unsubscribe() };
}
