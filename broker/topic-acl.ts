// The topic ACL as pure decisions, one table for publish and one for subscribe (broker/README.md
// shows it). The hooks apply them; keeping them pure lets the table be tested line by line.
import { gatewayBatchTopic, gatewayDeadLetterTopic, gatewayStatusTopic, INTERNAL_PREFIX, parseReadingTopic } from '../contracts/topics.ts';
import type { ClientIdentity } from './client-identity.ts';

export type PublishDecision =
  | { readonly allow: true; /** a reading or gateway status topic: the ingest pipeline takes it */ readonly ingest: boolean }
  | { readonly allow: false; readonly reason: PublishRefusal };

/**
 * `strict`: the tables below. `open` (MQTT_ACL=open, development only): any topic outside the
 * reserved ones (`$…`, `quantrac/…`) may be published and subscribed by any connected client, so
 * standard MQTT interoperability suites can run; the reading topics keep their strict rules.
 */
export type AclMode = 'strict' | 'open';

export type PublishRefusal = 'sys_topic' | 'internal_topic' | 'read_only' | 'not_your_station' | 'not_your_gateway' | 'topic_not_allowed';

/** Filters a consumer may subscribe to (and anything below them). */
const CONSUMER_PREFIXES = [`${INTERNAL_PREFIX}alerts/`, `${INTERNAL_PREFIX}live/`];

/**
 * `stationGateway` maps a station id to its gateway (undefined when unknown: the reading goes on to
 * ingest, which dead-letters it as `unknown_station`).
 */
export function decidePublish(
  identity: ClientIdentity | undefined,
  topic: string,
  stationGateway: (stationId: string) => string | undefined,
  mode: AclMode = 'strict',
): PublishDecision {
  // [MQTT-4.7.2-1]: `$` topics are the server's; clients must not publish to them.
  if (topic.startsWith('$')) return { allow: false, reason: 'sys_topic' };
  if (topic.startsWith(INTERNAL_PREFIX)) return { allow: false, reason: 'internal_topic' };
  if (mode === 'open' && identity && !parseReadingTopic(topic)) return { allow: true, ingest: false };
  if (!identity) return { allow: false, reason: 'topic_not_allowed' };
  if (identity.role === 'consumer') return { allow: false, reason: 'read_only' };
  const reading = parseReadingTopic(topic);
  if (identity.role === 'anonymous') {
    if (reading) return { allow: true, ingest: true };
    return isStatusTopic(topic) ? { allow: true, ingest: true } : { allow: false, reason: 'topic_not_allowed' };
  }
  const gatewayId = identity.gatewayId;
  if (!gatewayId) return { allow: false, reason: 'topic_not_allowed' };
  if (reading?.type === 'station') {
    const owner = stationGateway(reading.stationId);
    return owner === undefined || owner === gatewayId ? { allow: true, ingest: true } : { allow: false, reason: 'not_your_station' };
  }
  if (reading?.type === 'batch') {
    return topic === gatewayBatchTopic(gatewayId) ? { allow: true, ingest: true } : { allow: false, reason: 'not_your_gateway' };
  }
  // Ingest takes the station statuses a gateway reports there (contracts/quality.ts).
  if (topic === gatewayStatusTopic(gatewayId)) return { allow: true, ingest: true };
  return isStatusTopic(topic) ? { allow: false, reason: 'not_your_gateway' } : { allow: false, reason: 'topic_not_allowed' };
}

export type SubscribeRefusal = 'sys_topic' | 'topic_not_allowed';

/** undefined when the filter is allowed, else the reason. */
export function decideSubscribe(identity: ClientIdentity | undefined, filter: string, mode: AclMode = 'strict'): SubscribeRefusal | undefined {
  if (filter.startsWith('$')) return 'sys_topic';
  if (mode === 'open' && identity) return undefined;
  if (identity?.role === 'anonymous') return undefined;
  if (identity?.role === 'gateway' && identity.gatewayId && filter === gatewayDeadLetterTopic(identity.gatewayId)) return undefined;
  if (identity?.role === 'consumer') {
    if (CONSUMER_PREFIXES.some((p) => filter.startsWith(p) || `${filter}/` === p)) return undefined;
    if (isStatusFilter(filter)) return undefined;
  }
  return 'topic_not_allowed';
}

function isStatusTopic(topic: string): boolean {
  const parts = topic.split('/');
  return parts.length === 3 && parts[0] === 'gateways' && parts[2] === 'status' && /^[A-Za-z0-9_-]+$/.test(parts[1]!);
}

/** `gateways/+/status` or one gateway's status topic; `#` would reach dead letters too. */
function isStatusFilter(filter: string): boolean {
  const parts = filter.split('/');
  return parts.length === 3 && parts[0] === 'gateways' && parts[2] === 'status' && (parts[1] === '+' || /^[A-Za-z0-9_-]+$/.test(parts[1]!));
}
