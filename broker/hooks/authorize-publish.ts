// authorizePublish hook. Runs before Aedes sends the PUBACK, so the ingest pipeline accepts each
// reading here and the callback fires only once the reading is durable. Safe default: deny.
// $SYS/ stays reserved [MQTT-4.7.2-1] and quantrac/ topics are for quantrac alone.
import type { Client, PublishPacket } from 'aedes';
import { gatewayStatusTopic, INTERNAL_PREFIX } from '../../contracts/topics.ts';
import { identityOf } from '../client-identity.ts';

export interface PublishSink {
  handles(topic: string): boolean;
  onPublish(input: { topic: string; payload: Buffer; qos: 0 | 1 | 2; gatewayId?: string | undefined; clientId?: string | undefined }): Promise<void>;
}

export interface AuthorizePublishDeps {
  readonly sink: PublishSink;
  readonly onRefused: (reason: string, client: Client | null, topic: string) => void;
}

export function createAuthorizePublish(deps: AuthorizePublishDeps) {
  return (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void => {
    const topic = packet.topic;
    if (topic.startsWith('$SYS/')) return callback(new Error('$SYS/ topics are reserved'));
    if (client === null) return callback(null); // the broker's own publishes (alerts, dead letters)
    if (topic.startsWith(INTERNAL_PREFIX)) {
      deps.onRefused('internal_topic', client, topic);
      return callback(new Error(`${INTERNAL_PREFIX} topics are reserved`));
    }
    const identity = identityOf(client);
    if (deps.sink.handles(topic)) {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      deps.sink
        .onPublish({ topic, payload, qos: packet.qos, gatewayId: identity?.gatewayId, clientId: client.id })
        .then(() => callback(null), (err: Error) => callback(err));
      return;
    }
    if (identity?.gatewayId && topic === gatewayStatusTopic(identity.gatewayId)) return callback(null);
    if (identity?.anonymous && topic.startsWith('gateways/') && topic.endsWith('/status')) return callback(null);
    deps.onRefused('topic_not_allowed', client, topic);
    callback(new Error(`publishing to ${topic} is not allowed`));
  };
}
