// authorizePublish hook. Runs before Aedes sends the PUBACK, so the ingest pipeline accepts each
// reading here and the callback fires only once the reading is durable. Safe default: deny.
// The topic ACL is broker/topic-acl.ts; this file applies its decision.
//
// A denied publish is by default acknowledged and dropped, as mosquitto does: MQTT 3.1.1 has no
// negative PUBACK, and an error here makes Aedes close the connection, so a gateway with one
// misrouted station would reconnect-loop and its good readings would stall behind the bad one.
// MQTT_DENY_ACTION=disconnect closes the connection instead (EMQX's `deny_action = disconnect`).
import type { Client, PublishPacket } from 'aedes';
import { identityOf } from '../client-identity.ts';
import { decidePublish, type AclMode } from '../topic-acl.ts';

export interface PublishSink {
  onPublish(input: { topic: string; payload: Buffer; qos: 0 | 1 | 2; gatewayId?: string | undefined; clientId?: string | undefined }): Promise<void>;
}

export interface AuthorizePublishDeps {
  readonly sink: PublishSink;
  readonly stationGateway: (stationId: string) => string | undefined;
  readonly denyAction: 'ignore' | 'disconnect';
  /** `open` only for development (topic-acl.ts). */
  readonly aclMode?: AclMode;
  readonly onRefused: (reason: string, client: Client | null, topic: string) => void;
}

/**
 * Aedes has no "acknowledge but do not deliver" answer, so a dropped publish is re-addressed to a
 * `$` topic no client may subscribe to (`#` never matches `$` topics [MQTT-4.7.2-1]) and loses
 * its retain flag: the PUBACK still goes out, nothing is delivered or retained.
 */
export const DROPPED_TOPIC = '$quantrac/dropped';

export function createAuthorizePublish(deps: AuthorizePublishDeps) {
  return (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void => {
    const topic = packet.topic;
    if (client === null) {
      // The broker's own publishes (alerts, dead letters); `$SYS/` stays Aedes' own.
      return callback(topic.startsWith('$SYS/') ? new Error('$SYS/ topics are reserved') : null);
    }
    const identity = identityOf(client);
    const decision = decidePublish(identity, topic, deps.stationGateway, deps.aclMode);
    const ingest = (gatewayId: string | undefined) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      deps.sink
        .onPublish({ topic, payload, qos: packet.qos, gatewayId, clientId: client.id })
        .then(() => callback(null), (err: Error) => callback(err));
    };
    if (decision.allow) {
      // decidePublish sets `ingest` only for the two reading topics (it parsed the topic already).
      if (decision.ingest) return ingest(identity?.gatewayId);
      return callback(null);
    }
    deps.onRefused(decision.reason, client, topic);
    if (deps.denyAction === 'disconnect') return callback(new Error(`publishing to ${topic} is not allowed (${decision.reason})`));
    // Another gateway's station: ingest acknowledges it and dead-letters it to this gateway as
    // `not_authorized`, so its operator learns which station is misrouted.
    if (decision.reason === 'not_your_station') return ingest(identity?.gatewayId);
    packet.topic = DROPPED_TOPIC;
    packet.retain = false;
    callback(null);
  };
}
