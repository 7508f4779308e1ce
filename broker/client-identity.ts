// What the broker knows of a connected client after authentication: its role, its user (gateway id
// or consumer name) and the credential it used. Kept beside the Aedes client, not on it.
import type { Client } from 'aedes';
import type { VerifiedUser } from './gateway-credentials.ts';

export interface ClientIdentity {
  /** Set for the `gateway` role only: the gateway whose stations this client may publish. */
  readonly gatewayId?: string | undefined;
  /** `anonymous` only when MQTT_ALLOW_ANONYMOUS=true (development). */
  readonly role: 'gateway' | 'consumer' | 'anonymous';
  readonly user?: VerifiedUser | undefined;
  readonly anonymous: boolean;
}

const identities = new WeakMap<Client, ClientIdentity>();

export const setIdentity = (client: Client, identity: ClientIdentity): void => void identities.set(client, identity);
export const identityOf = (client: Client | null): ClientIdentity | undefined => (client ? identities.get(client) : undefined);
