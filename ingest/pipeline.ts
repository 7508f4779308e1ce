// The ingest side of the broker thread: the broker's authorizePublish hook (after auth, the topic
// ACL and the limits) hands every publish here, and nothing but the append to the durable log runs
// before its PUBACK [MQTT-4.3.2]: the returned promise settles once the raw publish is durable
// (group commit, fdatasync). Decoding, validation, quality, alerts, the writer and the live stream
// are consumers of the log on the services thread (server/create-services.ts).
//
//   MQTT publish ──▶ append raw publish to the log (fsync) ──▶ PUBACK
//                                 │
//                                 ▼ (services thread, ingest/consumers/)
//        now lane:   decode ─▶ validate ─▶ quality ─▶ dead letters, alerts, live stream
//        store lane: decode ─▶ validate ─▶ quality ─▶ line protocol ─▶ writer ─▶ InfluxDB
import type { Logger } from 'pino';
import { parseGatewayStatusTopic, parseReadingTopic } from '../contracts/topics.ts';
import type { LogAppender } from './log/types.ts';
import type { Metrics } from './metrics.ts';

export interface PublishInput {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  /** The authenticated gateway of the publishing client (undefined when anonymous). */
  readonly gatewayId?: string | undefined;
  readonly clientId?: string | undefined;
}

export interface IngestDeps {
  readonly log: LogAppender;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface Ingest {
  /**
   * Settles when the publish may be acknowledged. Never rejects for bad input; rejects when the log
   * could not store it (a full disk, a write error): no PUBACK, Aedes closes the connection and the
   * gateway sends the publish again.
   */
  onPublish(input: PublishInput): Promise<void>;
  /** Resolves when no publish is between the hook and its durable append. */
  idle(): Promise<void>;
}

/**
 * Topics whose publishes go into the log (the ACL has already allowed them): readings, and the
 * gateways' station-status reports, which must be applied in log order with the readings.
 */
export const isIngestTopic = (topic: string): boolean =>
  parseReadingTopic(topic) !== undefined || parseGatewayStatusTopic(topic) !== undefined;

export function createIngest(deps: IngestDeps): Ingest {
  const { log, metrics, logger } = deps;
  const now = deps.now ?? Date.now;
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  let wasFull = false;
  let appendFailures = 0;

  async function onPublish(input: PublishInput): Promise<void> {
    if (!isIngestTopic(input.topic)) return;
    inFlight++;
    try {
      if (log.isFull()) {
        // Backpressure: hold the acknowledgement (the gateway keeps its readings) until space frees.
        metrics.acksHeld.inc();
        if (!wasFull) logger.warn('log full: holding acknowledgements until its consumers catch up');
        wasFull = true;
        await log.waitForSpace();
        if (wasFull) logger.info('log below its bound again: acknowledging');
        wasFull = false;
      }
      const durable = log.append({
        topic: input.topic,
        payload: input.payload,
        qos: input.qos === 0 ? 0 : 1,
        gatewayId: input.gatewayId,
        clientId: input.clientId,
        receivedAt: now(),
      });
      if (input.qos === 0) {
        // QoS 0 is at most once: the publisher expects no acknowledgement, so nothing waits.
        durable.catch((err: unknown) => logger.error({ err }, 'QoS 0 publish not appended to the log'));
        return;
      }
      await durable.catch((err: unknown) => {
        // The broker only closes the connection (its client errors are debug lines): said here,
        // once per 1000 failures, as a full disk fails every publish of every gateway.
        if (appendFailures++ % 1000 === 0) logger.error({ err, failures: appendFailures }, 'publish not appended to the log: not acknowledged');
        throw err;
      });
    } finally {
      if (--inFlight === 0) for (const w of idleWaiters.splice(0)) w();
    }
  }

  return {
    onPublish,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r))),
  };
}
