// preConnect hook: sees the CONNECT packet before Aedes fills in defaults. Aedes 1.x gives a
// zero-byte client id a generated one even with CleanSession 0, which MQTT 3.1.1 forbids: the
// server MUST answer CONNACK 0x02 (identifier rejected) and close [MQTT-3.1.3-8]. Aedes sends a
// CONNACK only from `authenticate`, so this hook marks the client and authenticate.ts refuses it.
import type { Client, ConnectPacket } from 'aedes';

const rejectedIds = new WeakSet<Client>();

export function preConnect(client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void {
  if ((packet.clientId ?? '') === '' && packet.clean === false) rejectedIds.add(client);
  callback(null, true);
}

/** True when the client sent a zero-byte client id with CleanSession 0 [MQTT-3.1.3-8]. */
export const identifierRejected = (client: Client): boolean => rejectedIds.has(client);
