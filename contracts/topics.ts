// MQTT topic names of the gateway contract and of quantrac's own outputs, built and parsed here only.

/** One reading of one station: `sensors/{stationId}/reading`. */
export const stationReadingTopic = (stationId: string): string => `sensors/${stationId}/reading`;
/** A JSON array of readings, each naming its station: `gateways/{gatewayId}/readings`. */
export const gatewayBatchTopic = (gatewayId: string): string => `gateways/${gatewayId}/readings`;
/** Where a gateway's rejected readings are reported back to it, with the reason. */
export const gatewayDeadLetterTopic = (gatewayId: string): string => `gateways/${gatewayId}/deadletter`;
/**
 * A gateway's status topic: its own online/offline word (last will) and, optionally, the status of
 * its stations (contracts/quality.ts GatewayStationStatusSchema), which ingest takes.
 */
export const gatewayStatusTopic = (gatewayId: string): string => `gateways/${gatewayId}/status`;
/** Alerts republished for other city systems: `quantrac/alerts/{stationId}`. */
export const alertTopic = (stationId: string): string => `quantrac/alerts/${stationId}`;
/** Prefix of topics only quantrac itself publishes to. */
export const INTERNAL_PREFIX = 'quantrac/';

export type ReadingTopic =
  | { readonly type: 'station'; readonly stationId: string }
  | { readonly type: 'batch'; readonly gatewayId: string };

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** The gateway id of `gateways/{gatewayId}/status`, else undefined. */
export function parseGatewayStatusTopic(topic: string): string | undefined {
  const parts = topic.split('/');
  return parts.length === 3 && parts[0] === 'gateways' && parts[2] === 'status' && SEGMENT.test(parts[1]!) ? parts[1] : undefined;
}

/** Recognises the two reading topics; anything else is not a reading topic (undefined). */
export function parseReadingTopic(topic: string): ReadingTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 3) return undefined;
  const [root, id, leaf] = parts as [string, string, string];
  if (!SEGMENT.test(id)) return undefined;
  if (root === 'sensors' && leaf === 'reading') return { type: 'station', stationId: id };
  if (root === 'gateways' && leaf === 'readings') return { type: 'batch', gatewayId: id };
  return undefined;
}
