// authenticate hook: a gateway connects with username = client id = its gateway id and its password;
// a consumer with its name as username and client id `name` or `name:suffix` (several dashboards).
// Safe default: refuse. Anonymous only when configured.
import type { AuthenticateError, Client } from 'aedes';
import { BusyError, type Semaphore } from '../../server/semaphore.ts';
import type { CredentialStore, VerifiedUser } from '../gateway-credentials.ts';
import { setIdentity } from '../client-identity.ts';
import { identifierRejected } from './pre-connect.ts';

export interface AuthenticateDeps {
  readonly credentials: CredentialStore | undefined;
  readonly allowAnonymous: boolean;
  readonly onRefused: (reason: string, client: Client) => void;
  /**
   * Bounds the password checks running at once: scrypt runs on libuv's thread pool, where the log's
   * fdatasync waits behind it, so a fleet reconnecting at once would hold every acknowledgement.
   * A check that finds the queue full is refused as server unavailable (the gateway retries).
   */
  readonly hashing?: Semaphore;
}

// MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3]: 2 identifier rejected, 3 server unavailable,
// 4 bad user name or password, 5 not authorized.
function refusal(code: 2 | 3 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

/**
 * A consumer's client ids carry a `:` that gateway ids cannot contain, so a consumer can never take
 * over a gateway's session by reusing its client id [MQTT-3.1.4-2].
 */
function clientIdFits(user: VerifiedUser, clientId: string): boolean {
  if (user.role === 'gateway') return clientId === user.id;
  return clientId === user.id || clientId.startsWith(`${user.id}:`);
}

/** The CA-verified client certificate's fingerprint, when the connection has one (limits/packet-size-guard.ts). */
function certificateOf(client: Client): string | undefined {
  const conn = (client as unknown as { conn?: { peerCertificateSha256?: () => string | undefined } }).conn;
  return conn?.peerCertificateSha256?.();
}

export function createAuthenticate(deps: AuthenticateDeps) {
  return (
    client: Client,
    username: Readonly<string | undefined>,
    password: Readonly<Buffer | undefined>,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void => {
    // Before any credential check: the identifier itself is refused [MQTT-3.1.3-8].
    if (identifierRejected(client)) {
      deps.onRefused('empty_client_id_persistent_session', client);
      return done(refusal(2, 'a zero-byte client id needs CleanSession 1'), false);
    }
    // A client certificate bound to the gateway its client id names authenticates it (mTLS); a user
    // name, when sent, must be that gateway too. A certificate bound to no one falls through to the
    // password check, which refuses gateways that have a bound certificate.
    const certSha256 = certificateOf(client);
    const byCert = certSha256 ? deps.credentials?.verifyCertificate?.(client.id, certSha256) : undefined;
    if (byCert && (username === undefined || username === byCert.id)) {
      setIdentity(client, { role: byCert.role, gatewayId: byCert.role === 'gateway' ? byCert.id : undefined, user: byCert, anonymous: false });
      return done(null, true);
    }
    if (username === undefined) {
      if (certSha256) {
        deps.onRefused('certificate_not_bound', client);
        return done(refusal(4, 'client certificate not bound to this client id'), false);
      }
      if (deps.allowAnonymous) {
        setIdentity(client, { role: 'anonymous', anonymous: true });
        return done(null, true);
      }
      deps.onRefused('anonymous', client);
      return done(refusal(5, 'anonymous connections are refused'), false);
    }
    if (!deps.credentials || !password) {
      deps.onRefused('bad_credentials', client);
      return done(refusal(4, 'bad user name or password'), false);
    }
    const credentials = deps.credentials;
    const check = () => credentials.verify(username, password);
    (deps.hashing ? deps.hashing.run(check) : check()).then(
      (user) => {
        if (!user) {
          deps.onRefused('bad_credentials', client);
          return done(refusal(4, 'bad user name or password'), false);
        }
        if (!clientIdFits(user, client.id)) {
          deps.onRefused('client_id_mismatch', client);
          return done(refusal(5, `client id does not match user ${user.id}`), false);
        }
        setIdentity(client, { role: user.role, gatewayId: user.role === 'gateway' ? user.id : undefined, user, anonymous: false });
        done(null, true);
      },
      (err: unknown) => {
        if (err instanceof BusyError) {
          deps.onRefused('busy', client);
          return done(refusal(3, 'too many connections being authenticated; retry shortly'), false);
        }
        deps.onRefused('credential_store_error', client);
        done(refusal(5, 'credential check failed'), false);
      },
    );
  };
}
