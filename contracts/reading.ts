// The reading contract: the wire envelope a gateway publishes (zod), the normalised reading that
// flows through quantrac, and the stable rejection reasons that validation reports.
import { z } from 'zod';
import type { StationKind } from './parameters.ts';
import { ParameterQualitySchema, STATION_STATUSES, type ParameterQuality, type StationStatus } from './quality.ts';

/** ISO 8601 with an explicit offset (or Z), or epoch milliseconds. */
export const WireTimestampSchema = z.union([
  // Numbers first: most gateways send epoch ms, and a union that tries the string branch first
  // builds (and throws away) an issue for every such reading.
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }),
]);

/**
 * One reading as published. `values` is checked parameter by parameter afterwards, so that a
 * wrong value is reported with its parameter and reason rather than as a generic shape error.
 */
export const WireReadingSchema = z.object({
  ts: z.unknown(),
  // An object of parameter values, each checked afterwards; z.custom, not z.record, because a
  // record parse copies every entry (through a key and a value schema) on the hot path.
  values: z.custom<Record<string, unknown>>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), {
    message: '"values" must be an object of parameter values',
  }),
  seq: z.unknown().optional(),
  station: z.unknown().optional(),
  /** Station status: "00" measuring, "01" calibrating, "02" device fault, or those names. */
  status: z.unknown().optional(),
});
export type WireReading = z.infer<typeof WireReadingSchema>;

export const SeqSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A validated reading: what ingest stores, streams and evaluates. */
export interface Reading {
  readonly stationId: string;
  readonly kind: StationKind;
  /** Measurement time, epoch milliseconds (UTC). */
  readonly ts: number;
  readonly seq?: number;
  readonly values: Readonly<Record<string, number>>;
  /** Parameter → QARTOD quality, present only for parameters whose aggregate flag is not 1 (pass). */
  readonly quality?: Readonly<Record<string, ParameterQuality>>;
  /** Station status when not measuring (absent = measuring): such readings are stored, not used. */
  readonly status?: StationStatus;
}

/** Stable, machine-readable rejection reasons (also the `reason` label of the metrics). */
export const REJECT_REASONS = [
  'payload_too_large',
  'malformed_json',
  'too_deep',
  'not_an_object',
  'batch_too_large',
  'schema',
  'unknown_station',
  'station_mismatch',
  'not_authorized',
  'wrong_kind_parameter',
  'missing_parameter',
  'empty_values',
  'not_a_number',
  'out_of_range',
  'bad_timestamp',
  'timestamp_in_future',
  'timestamp_too_old',
  'bad_seq',
  'bad_status',
  'database_rejected',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  readonly reason: RejectReason;
  /** One human-readable sentence naming what is wrong. */
  readonly detail: string;
  readonly stationId?: string;
  readonly parameter?: string;
}

/** What a gateway receives on its dead-letter topic for each rejected reading. */
export const DeadLetterSchema = z.object({
  reason: z.enum(REJECT_REASONS),
  detail: z.string(),
  topic: z.string(),
  station: z.string().optional(),
  parameter: z.string().optional(),
  seq: z.number().optional(),
  /** The offending payload (or batch element), truncated to 1 KiB. */
  payload: z.string(),
  rejectedAt: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** A reading as streamed on /ws/live and returned as `latest`. */
export const LiveReadingSchema = z.object({
  type: z.literal('reading'),
  station: z.string(),
  kind: z.enum(['air', 'water', 'rain', 'flood']),
  ts: z.string(),
  seq: z.number().optional(),
  values: z.record(z.string(), z.number()),
  quality: z.record(z.string(), ParameterQualitySchema).optional(),
  status: z.enum(STATION_STATUSES).optional(),
  /** Parameters an officer marked invalid at this time (API reads only; contracts/validations.ts). */
  excluded: z.array(z.string()).optional(),
});
export type LiveReading = z.infer<typeof LiveReadingSchema>;

export function toLiveReading(r: Reading): LiveReading {
  return {
    type: 'reading',
    station: r.stationId,
    kind: r.kind,
    ts: new Date(r.ts).toISOString(),
    ...(r.seq === undefined ? {} : { seq: r.seq }),
    values: { ...r.values },
    ...(r.quality ? { quality: { ...r.quality } } : {}),
    ...(r.status ? { status: r.status } : {}),
  };
}
