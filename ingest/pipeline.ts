// Wires the ingest pipeline. The broker calls onPublish() from its authorizePublish hook, which
// runs before the PUBACK [MQTT-4.3.2]: the returned promise settles once every valid reading of
// the publish is durable in the spool, so an acknowledged QoS 1 reading is never lost.
//
//   MQTT publish ──▶ decode ──▶ validate ──▶ quality ──▶ hot-path observers (alerts)
//                      │           │                          │
//                      └─ rejected ┴──▶ dead letter + count    ▼
//                                                    line protocol ──▶ spool (group commit, fsync)
//                                                                        │   └──▶ PUBACK, live stream
//                                                                        ▼
//                                                     influx-writer ──▶ InfluxDB (batches, retries)
import type { Logger } from 'pino';
import type { DeadLetter, Reading, Rejection } from '../contracts/reading.ts';
import type { Registry } from '../contracts/stations.ts';
import { parseGatewayStatusTopic, parseReadingTopic } from '../contracts/topics.ts';
import type { Metrics } from './metrics.ts';
import { createLineEncoder } from './sink/line-protocol.ts';
import type { Spool } from './sink/spool.ts';
import { decodePayload, type DecodeLimits } from './stages/decode.ts';
import type { QcConfig } from './quality/config.ts';
import { applyGatewayStatus } from './quality/station-status.ts';
import { createQualityChecker } from './stages/quality.ts';
import { validateReading } from './stages/validate.ts';

export interface IngestOptions extends DecodeLimits {
  readonly maxFutureMs: number;
  readonly maxAgeMs: number;
  /** QARTOD thresholds (ingest/quality/config.ts). */
  readonly quality: QcConfig;
}

export interface PublishInput {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  /** The authenticated gateway of the publishing client (undefined when anonymous). */
  readonly gatewayId?: string | undefined;
  readonly clientId?: string | undefined;
}

export interface IngestDeps {
  readonly registry: Registry;
  readonly spool: Spool;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly options: IngestOptions;
  readonly now?: () => number;
  /**
   * Called for each accepted reading before it is spooled (alert evaluation); must be fast. A
   * returned promise (e.g. alert events being journalled) is awaited before the acknowledgement.
   */
  readonly hotPath?: readonly ((reading: Reading) => Promise<void> | void)[];
  /** Publishes a dead letter to the gateway's dead-letter topic. */
  readonly deadLetter: (gatewayId: string, letter: DeadLetter) => void;
}

export interface Ingest {
  /** Settles when the publish may be acknowledged. Never rejects for bad input. */
  onPublish(input: PublishInput): Promise<void>;
  /** Listens to readings once they are durable (the live stream). */
  onDurable(listener: (readings: readonly Reading[]) => void): void;
  /** Resolves when no publish is between decode and its spool commit. */
  idle(): Promise<void>;
}

const MAX_LETTER_PAYLOAD = 1024;

/** Calls `inc` once per kind with its count: one metric update per publish, not per reading. */
function countByKind(readings: readonly Reading[], inc: (kind: string, n: number) => void): void {
  if (readings.length === 1) return inc(readings[0]!.kind, 1);
  const counts = new Map<string, number>();
  for (const r of readings) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
  for (const [kind, n] of counts) inc(kind, n);
}

export function createIngest(deps: IngestDeps): Ingest {
  const { registry, spool, metrics, log, options } = deps;
  const now = deps.now ?? Date.now;
  const quality = createQualityChecker({ config: options.quality, registry });
  const encode = createLineEncoder(registry);
  const durableListeners: ((readings: readonly Reading[]) => void)[] = [];
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  let wasFull = false;

  function reject(input: PublishInput, rejection: Rejection, raw: unknown, seq?: unknown): void {
    const station = rejection.stationId ? registry.get(rejection.stationId) : undefined;
    metrics.readingsRejected.inc({ reason: rejection.reason, kind: station?.kind ?? 'unknown' });
    const topicInfo = parseReadingTopic(input.topic);
    const gatewayId =
      (topicInfo?.type === 'batch' ? topicInfo.gatewayId : undefined) ?? input.gatewayId ?? station?.gatewayId ?? input.clientId;
    if (!gatewayId) return;
    const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : JSON.stringify(raw) ?? String(raw);
    deps.deadLetter(gatewayId, {
      reason: rejection.reason,
      detail: rejection.detail,
      topic: input.topic,
      ...(rejection.stationId ? { station: rejection.stationId } : {}),
      ...(rejection.parameter ? { parameter: rejection.parameter } : {}),
      ...(typeof seq === 'number' ? { seq } : {}),
      payload: text.length > MAX_LETTER_PAYLOAD ? `${text.slice(0, MAX_LETTER_PAYLOAD)}…` : text,
      rejectedAt: new Date(now()).toISOString(),
    });
    metrics.deadLetters.inc();
  }

  async function admit(lines: string[], accepted: Reading[], qos: number, sideEffects: Promise<void>[]): Promise<void> {
    if (spool.isFull()) {
      // Backpressure: hold the acknowledgement (the gateway keeps its readings) until space frees.
      metrics.acksHeld.inc();
      if (!wasFull) log.warn({ spool: spool.stats() }, 'spool full: holding acknowledgements until InfluxDB catches up');
      wasFull = true;
      await spool.waitForSpace();
      if (wasFull) log.info('spool below its bound again: acknowledging');
      wasFull = false;
    }
    const durable = spool.append(lines);
    const announce = () => {
      countByKind(accepted, (kind, n) => metrics.readingsAccepted.inc({ kind, qos: String(qos) }, n));
      for (const l of durableListeners) l(accepted);
    };
    if (qos === 0) {
      // QoS 0 is at most once: the publisher expects no acknowledgement, so nothing waits.
      durable.then(announce, (err: unknown) => log.error({ err }, 'QoS 0 readings not spooled'));
      return;
    }
    await durable;
    if (sideEffects.length > 0) await Promise.all(sideEffects);
    announce();
  }

  async function onPublish(input: PublishInput): Promise<void> {
    const topic = parseReadingTopic(input.topic);
    const statusOf = topic ? undefined : parseGatewayStatusTopic(input.topic);
    if (statusOf) return applyGatewayStatus(statusOf, input.payload, { registry, quality, decodeLimits: options, reject: (r) => reject(input, r, input.payload) });
    if (!topic) return;
    inFlight++;
    try {
      const decoded = decodePayload(input.payload, topic.type === 'batch', options);
      if (!decoded.ok) {
        metrics.readingsReceived.inc({ kind: 'unknown' });
        reject(input, { ...decoded.rejection, ...(topic.type === 'station' ? { stationId: topic.stationId } : {}) }, input.payload);
        return;
      }
      const lines: string[] = [];
      const accepted: Reading[] = [];
      const sideEffects: Promise<void>[] = [];
      const nowMs = now();
      for (const item of decoded.items) {
        const result = validateReading(item, {
          registry,
          nowMs,
          maxFutureMs: options.maxFutureMs,
          maxAgeMs: options.maxAgeMs,
          topicStationId: topic.type === 'station' ? topic.stationId : undefined,
          gatewayId: topic.type === 'batch' ? topic.gatewayId : input.gatewayId,
        });
        if (!result.ok) {
          const kind = result.rejection.stationId ? registry.get(result.rejection.stationId)?.kind : undefined;
          metrics.readingsReceived.inc({ kind: kind ?? 'unknown' });
          reject(input, result.rejection, item, (item as { seq?: unknown } | null)?.seq);
          continue;
        }
        const checked = quality.check(result.reading);
        const reading = checked.duplicate ? result.reading : checked.reading;
        if (checked.duplicate) metrics.readingsDuplicate.inc({ kind: reading.kind });
        else {
          for (const p in reading.quality) for (const test in reading.quality[p]!.tests) metrics.readingsFlagged.inc({ flag: test, kind: reading.kind });
          for (const rev of checked.revisions) {
            for (const s of rev.settled) metrics.readingsFlagged.inc({ flag: s.test, kind: rev.kind });
            lines.push(encode.revision(rev));
          }
        }
        if (deps.hotPath && !checked.duplicate) {
          for (const observe of deps.hotPath) {
            const pending = observe(reading);
            if (pending) sideEffects.push(pending);
          }
        }
        lines.push(encode(reading));
        accepted.push(reading);
      }
      countByKind(accepted, (kind, n) => metrics.readingsReceived.inc({ kind }, n));
      if (lines.length > 0) await admit(lines, accepted, input.qos, sideEffects);
    } finally {
      if (--inFlight === 0) for (const w of idleWaiters.splice(0)) w();
    }
  }

  return {
    onPublish,
    onDurable: (listener) => void durableListeners.push(listener),
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r))),
  };
}
