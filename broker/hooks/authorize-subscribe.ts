// authorizeSubscribe hook: applies the subscribe table of broker/topic-acl.ts. Safe default: deny
// (a null subscription = SUBACK failure 0x80 for that filter [MQTT-3.9.3]; the client stays up).
import type { Client, Subscription } from 'aedes';
import { identityOf } from '../client-identity.ts';
import { decideSubscribe, type AclMode } from '../topic-acl.ts';

export function createAuthorizeSubscribe(onRefused: (reason: string, client: Client, topic: string) => void, mode: AclMode = 'strict') {
  return (client: Client, sub: Subscription, callback: (error: Error | null, subscription?: Subscription | null) => void): void => {
    const refusal = decideSubscribe(identityOf(client), sub.topic, mode);
    if (refusal === undefined) return callback(null, sub);
    onRefused(refusal, client, sub.topic);
    callback(null, null);
  };
}
