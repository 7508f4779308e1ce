// authorizeSubscribe hook: a gateway may subscribe to its own dead letters only; anonymous clients
// (development) to anything but $SYS. Safe default: deny (a null subscription = SUBACK 0x80).
import type { Client, Subscription } from 'aedes';
import { gatewayDeadLetterTopic } from '../../contracts/topics.ts';
import { identityOf } from '../client-identity.ts';

export function createAuthorizeSubscribe(onRefused: (reason: string, client: Client, topic: string) => void) {
  return (client: Client, sub: Subscription, callback: (error: Error | null, subscription?: Subscription | null) => void): void => {
    const identity = identityOf(client);
    if (sub.topic.startsWith('$SYS')) {
      onRefused('sys_topic', client, sub.topic);
      return callback(null, null);
    }
    if (identity?.anonymous) return callback(null, sub);
    if (identity?.gatewayId && sub.topic === gatewayDeadLetterTopic(identity.gatewayId)) return callback(null, sub);
    onRefused('topic_not_allowed', client, sub.topic);
    callback(null, null); // [MQTT-3.9.3]: failure return code 0x80 for this filter
  };
}
