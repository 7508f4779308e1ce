// Station status from a gateway's status topic (`gateways/{gatewayId}/status`): the optional
// `stations` object sets each named station's status (00 measuring, 01 calibrating, 02 device
// fault) for its following readings. The topic also carries the gateway's own online/offline word
// (its last will), which is not a station status: such messages pass without a word.
import { z } from 'zod';
import { GatewayStationStatusSchema, parseStationStatus, type StationStatus } from '../../contracts/quality.ts';
import type { Rejection } from '../../contracts/reading.ts';
import type { Registry } from '../../contracts/stations.ts';
import { decodePayload, type DecodeLimits } from '../stages/decode.ts';

export interface StatusDeps {
  readonly registry: Registry;
  readonly quality: { setStatus(stationId: string, status: StationStatus): void };
  readonly decodeLimits: DecodeLimits;
  /** Dead-letters one bad station entry (counted like a rejected reading). */
  readonly reject: (rejection: Rejection) => void;
}

/** Applies the station statuses of one status-topic payload; bad entries are dead-lettered, the rest applied. */
export function applyGatewayStatus(gatewayId: string, payload: Buffer, deps: StatusDeps): void {
  const decoded = decodePayload(payload, false, deps.decodeLimits);
  // Not JSON, or no `stations`: the gateway's own online/offline status, none of ingest's business.
  if (!decoded.ok) return;
  const body = decoded.items[0];
  if (body === null || typeof body !== 'object' || !('stations' in body)) return;
  const parsed = GatewayStationStatusSchema.safeParse(body);
  if (!parsed.success) return deps.reject({ reason: 'schema', detail: z.prettifyError(parsed.error).replace(/\n/g, '; ') });
  for (const [stationId, word] of Object.entries(parsed.data.stations)) {
    const station = deps.registry.get(stationId);
    if (!station) {
      deps.reject({ reason: 'unknown_station', detail: `station ${stationId} is not in the registry`, stationId });
      continue;
    }
    if (station.gatewayId !== gatewayId) {
      deps.reject({ reason: 'not_authorized', detail: `station ${stationId} does not belong to gateway ${gatewayId}`, stationId });
      continue;
    }
    const status = parseStationStatus(word);
    if (!status) {
      deps.reject({ reason: 'bad_status', detail: `status of ${stationId} must be "00", "01", "02" or measuring, calibrating, fault`, stationId });
      continue;
    }
    deps.quality.setStatus(stationId, status);
  }
}
