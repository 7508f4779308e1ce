// Validate stage: one decoded candidate becomes a Reading, or a Rejection with a stable reason
// (STYLE.md 9: invalid input is a value, never an exception on the hot path).
import { z } from 'zod';
import { parameterSpec, REQUIRED_TOGETHER } from '../../contracts/parameters.ts';
import { parseStationStatus } from '../../contracts/quality.ts';
import { SeqSchema, WireReadingSchema, WireTimestampSchema, type Reading, type Rejection, type WireReading } from '../../contracts/reading.ts';
import type { Registry, Station } from '../../contracts/stations.ts';

export interface ValidateContext {
  readonly registry: Registry;
  readonly nowMs: number;
  /** Readings stamped further ahead than this are refused (gateway clock wrong). */
  readonly maxFutureMs: number;
  /** Readings older than this are refused (a replay from a forgotten buffer). */
  readonly maxAgeMs: number;
  /** Station named by the topic (`sensors/{id}/reading`), if any. */
  readonly topicStationId?: string | undefined;
  /** The authenticated gateway; when set, the station must belong to it. */
  readonly gatewayId?: string | undefined;
}

export type Validated = { readonly ok: true; readonly reading: Reading } | { readonly ok: false; readonly rejection: Rejection };

const fail = (reason: Rejection['reason'], detail: string, stationId?: string, parameter?: string): Validated => ({
  ok: false,
  rejection: { reason, detail, ...(stationId ? { stationId } : {}), ...(parameter ? { parameter } : {}) },
});

/** Which parameters a station of this kind may report. */
function allowed(station: Station, name: string): boolean {
  if (station.kind === 'flood') return station.floodType === 'river' ? name === 'level_m' : name === 'depth_cm';
  return parameterSpec(station.kind, name) !== undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The envelope as WireReadingSchema reads it. Hot path: an object whose `values` is an object is
 * what the schema accepts, and only its known fields are read below, so it is taken as it is;
 * anything else goes through the schema, for its exact message.
 */
function envelopeOf(candidate: unknown): { ok: true; wire: WireReading } | { ok: false; detail: string } {
  if (isObject(candidate) && candidate.ts !== undefined && isObject(candidate.values)) return { ok: true, wire: candidate as WireReading };
  const envelope = WireReadingSchema.safeParse(candidate);
  return envelope.success ? { ok: true, wire: envelope.data } : { ok: false, detail: z.prettifyError(envelope.error).replace(/\n/g, '; ') };
}

/** Epoch ms from `ts` as WireTimestampSchema reads it (NaN when it refuses it); a whole number skips the schema. */
function timestampOf(ts: unknown): number {
  if (typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0) return ts;
  const parsed = WireTimestampSchema.safeParse(ts);
  return parsed.success ? (typeof parsed.data === 'number' ? parsed.data : Date.parse(parsed.data)) : NaN;
}

export function validateReading(candidate: unknown, ctx: ValidateContext): Validated {
  const envelope = envelopeOf(candidate);
  if (!envelope.ok) return fail('schema', envelope.detail);
  const wire = envelope.wire;

  const bodyStation = wire.station;
  if (bodyStation !== undefined && typeof bodyStation !== 'string') return fail('schema', '"station" must be a string');
  const stationId = ctx.topicStationId ?? bodyStation;
  if (!stationId) return fail('schema', 'a batch reading must name its "station"');
  if (ctx.topicStationId && bodyStation !== undefined && bodyStation !== ctx.topicStationId) {
    return fail('station_mismatch', `topic names ${ctx.topicStationId} but the reading names ${bodyStation}`, stationId);
  }
  const station = ctx.registry.get(stationId);
  if (!station) return fail('unknown_station', `station ${stationId} is not in the registry`, stationId);
  if (ctx.gatewayId !== undefined && station.gatewayId !== ctx.gatewayId) {
    return fail('not_authorized', `station ${stationId} does not belong to gateway ${ctx.gatewayId}`, stationId);
  }

  const ts = timestampOf(wire.ts);
  if (!Number.isFinite(ts)) {
    return fail('bad_timestamp', '"ts" must be ISO 8601 with an offset or epoch milliseconds', stationId);
  }
  if (ts > ctx.nowMs + ctx.maxFutureMs) {
    return fail('timestamp_in_future', `ts ${new Date(ts).toISOString()} is ahead of the server clock`, stationId);
  }
  if (ts < ctx.nowMs - ctx.maxAgeMs) {
    return fail('timestamp_too_old', `ts ${new Date(ts).toISOString()} is older than the accepted window`, stationId);
  }

  let seq: number | undefined;
  if (typeof wire.seq === 'number' && Number.isSafeInteger(wire.seq) && wire.seq >= 0) seq = wire.seq;
  else if (wire.seq !== undefined) {
    const parsed = SeqSchema.safeParse(wire.seq);
    if (!parsed.success) return fail('bad_seq', '"seq" must be a non-negative integer', stationId);
    seq = parsed.data;
  }

  const status = wire.status === undefined ? undefined : parseStationStatus(wire.status);
  if (wire.status !== undefined && status === undefined) {
    return fail('bad_status', '"status" must be "00" (measuring), "01" (calibrating), "02" (device fault) or one of those names', stationId);
  }

  const entries = Object.entries(wire.values);
  if (entries.length === 0) return fail('empty_values', '"values" has no parameters', stationId);
  const values: Record<string, number> = {};
  for (const [name, value] of entries) {
    if (!allowed(station, name)) {
      return fail('wrong_kind_parameter', `${name} is not a parameter of a ${station.kind} station`, stationId, name);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return fail('not_a_number', `${name} must be a finite number`, stationId, name);
    }
    const spec = parameterSpec(station.kind, name)!;
    if (value < spec.min || value > spec.max) {
      return fail('out_of_range', `${name} = ${value} is outside ${spec.min}..${spec.max} ${spec.unit}`.trim(), stationId, name);
    }
    values[name] = value;
  }
  for (const name of REQUIRED_TOGETHER[station.kind]) {
    if (!(name in values)) return fail('missing_parameter', `${station.kind} readings must carry ${name}`, stationId, name);
  }
  // A measuring station's status is left out: absent means measuring everywhere downstream.
  const marked = status === undefined || status === 'measuring' ? {} : { status };
  return { ok: true, reading: { stationId, kind: station.kind, ts, ...(seq === undefined ? {} : { seq }), values, ...marked } };
}
