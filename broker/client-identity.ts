// What the broker knows of a connected client after authentication: its gateway (or none when
// anonymous connections are allowed). Kept beside the Aedes client, not on it.
import type { Client } from 'aedes';

export interface ClientIdentity {
  readonly gatewayId?: string | undefined;
  readonly anonymous: boolean;
}

const identities = new WeakMap<Client, ClientIdentity>();

export const setIdentity = (client: Client, identity: ClientIdentity): void => void identities.set(client, identity);
export const identityOf = (client: Client | null): ClientIdentity | undefined => (client ? identities.get(client) : undefined);
