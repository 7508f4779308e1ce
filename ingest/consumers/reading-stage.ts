// The reading stage, the first step of every consumer lane: one raw publish from the log becomes
// accepted readings (quality-checked) and rejections with their reasons. Synchronous, and a
// function of the record and the quality state alone — the receive time in the record stands in
// for "now" — so a lane that replays the log from a state snapshot reaches the same readings and
// flags as the first pass did.
//
//   raw publish ──▶ decode ──▶ validate ──▶ quality ──▶ accepted readings (+ revisions of earlier ones)
//                     └──────────┴──▶ rejections (reason, detail, the gateway to tell)
//
// A gateway's station-status report (gateways/{id}/status) goes through the log too, so that it
// marks exactly the readings that follow it, on the first pass and on every replay.
import type { DeadLetter, Reading, Rejection } from '../../contracts/reading.ts';
import type { Registry } from '../../contracts/stations.ts';
import { parseGatewayStatusTopic, parseReadingTopic } from '../../contracts/topics.ts';
import type { RawPublish } from '../log/types.ts';
import { applyGatewayStatus } from '../quality/station-status.ts';
import { decodePayload, type DecodeLimits } from '../stages/decode.ts';
import { createQualityChecker, type QualityChecker, type QualityOptions, type QualityRevision } from '../stages/quality.ts';
import { validateReading } from '../stages/validate.ts';

export interface ReadingStageOptions extends DecodeLimits {
  readonly maxFutureMs: number;
  readonly maxAgeMs: number;
  readonly quality: QualityOptions;
}

export interface StagedRejection {
  readonly rejection: Rejection;
  /** The kind of the station named, for the metric label ('unknown' when none). */
  readonly kind: string;
  /** The gateway to send the dead letter to, when one can be named. */
  readonly gatewayId: string | undefined;
  readonly letter: DeadLetter;
}

export interface StagedPublish {
  /** Accepted readings, quality flags set: all of them are stored. */
  readonly accepted: Reading[];
  /**
   * The accepted readings that do not repeat their station's last timestamp: these are judged by
   * the alert engine (a retransmission is stored again, idempotently, but not judged twice).
   */
  readonly fresh: Reading[];
  /**
   * Earlier readings whose flags this publish settled (a spike is judged one value later): written
   * again as the same point with the final flags, before this publish's readings.
   */
  readonly revisions: QualityRevision[];
  readonly rejected: StagedRejection[];
  /** Readings counted as received, per kind. */
  readonly received: Map<string, number>;
}

export interface ReadingStage {
  /** Undefined for a topic that carries neither readings nor station status. */
  process(publish: RawPublish): StagedPublish | undefined;
  /** The quality state, for a lane's snapshot. */
  snapshot(): unknown;
  restore(state: unknown): void;
}

const MAX_LETTER_PAYLOAD = 1024;

export function createReadingStage(registry: Registry, options: ReadingStageOptions): ReadingStage {
  let quality: QualityChecker = createQualityChecker(options.quality);
  const empty = (): StagedPublish => ({ accepted: [], fresh: [], revisions: [], rejected: [], received: new Map() });

  function rejected(publish: RawPublish, rejection: Rejection, raw: unknown, seq: unknown, batchGateway: string | undefined): StagedRejection {
    const station = rejection.stationId ? registry.get(rejection.stationId) : undefined;
    const gatewayId = batchGateway ?? publish.gatewayId ?? station?.gatewayId ?? publish.clientId;
    const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : (JSON.stringify(raw) ?? String(raw));
    return {
      rejection,
      kind: station?.kind ?? 'unknown',
      gatewayId,
      letter: {
        reason: rejection.reason,
        detail: rejection.detail,
        topic: publish.topic,
        ...(rejection.stationId ? { station: rejection.stationId } : {}),
        ...(rejection.parameter ? { parameter: rejection.parameter } : {}),
        ...(typeof seq === 'number' ? { seq } : {}),
        payload: text.length > MAX_LETTER_PAYLOAD ? `${text.slice(0, MAX_LETTER_PAYLOAD)}…` : text,
        rejectedAt: new Date(publish.receivedAt).toISOString(),
      },
    };
  }

  return {
    process(publish) {
      const topic = parseReadingTopic(publish.topic);
      if (!topic) {
        const statusOf = parseGatewayStatusTopic(publish.topic);
        if (!statusOf) return undefined;
        const out = empty();
        applyGatewayStatus(statusOf, publish.payload, {
          registry,
          quality,
          decodeLimits: options,
          reject: (r) => out.rejected.push(rejected(publish, r, publish.payload, undefined, statusOf)),
        });
        return out;
      }
      const batchGateway = topic.type === 'batch' ? topic.gatewayId : undefined;
      const received = new Map<string, number>();
      const count = (kind: string) => received.set(kind, (received.get(kind) ?? 0) + 1);
      const out: StagedPublish = { accepted: [], fresh: [], revisions: [], rejected: [], received };
      const decoded = decodePayload(publish.payload, topic.type === 'batch', options);
      if (!decoded.ok) {
        count('unknown');
        const rejection = { ...decoded.rejection, ...(topic.type === 'station' ? { stationId: topic.stationId } : {}) };
        out.rejected.push(rejected(publish, rejection, publish.payload, undefined, batchGateway));
        return out;
      }
      for (const item of decoded.items) {
        const result = validateReading(item, {
          registry,
          nowMs: publish.receivedAt,
          maxFutureMs: options.maxFutureMs,
          maxAgeMs: options.maxAgeMs,
          topicStationId: topic.type === 'station' ? topic.stationId : undefined,
          gatewayId: batchGateway ?? publish.gatewayId,
        });
        if (!result.ok) {
          const r = rejected(publish, result.rejection, item, (item as { seq?: unknown } | null)?.seq, batchGateway);
          count(r.kind);
          out.rejected.push(r);
          continue;
        }
        count(result.reading.kind);
        const checked = quality.check(result.reading);
        if (checked.duplicate) out.accepted.push(result.reading);
        else {
          out.accepted.push(checked.reading);
          out.fresh.push(checked.reading);
          for (const rev of checked.revisions) out.revisions.push(rev);
        }
      }
      return out;
    },
    snapshot: () => quality.snapshot(),
    restore(state) {
      quality = createQualityChecker(options.quality);
      quality.restore(state);
    },
  };
}
