// authenticate hook: a gateway connects with username = its gateway id and its password; the MQTT
// client id must be the gateway id too. Safe default: refuse. Anonymous only when configured.
import type { AuthenticateError, Client } from 'aedes';
import type { CredentialStore } from '../gateway-credentials.ts';
import { setIdentity } from '../client-identity.ts';

export interface AuthenticateDeps {
  readonly credentials: CredentialStore | undefined;
  readonly allowAnonymous: boolean;
  readonly onRefused: (reason: string, client: Client) => void;
}

// MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3]: 4 bad user name or password, 5 not authorized.
function refusal(code: 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

export function createAuthenticate(deps: AuthenticateDeps) {
  return (
    client: Client,
    username: Readonly<string | undefined>,
    password: Readonly<Buffer | undefined>,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void => {
    if (username === undefined) {
      if (deps.allowAnonymous) {
        setIdentity(client, { anonymous: true });
        return done(null, true);
      }
      deps.onRefused('anonymous', client);
      return done(refusal(5, 'anonymous connections are refused'), false);
    }
    if (!deps.credentials || !password) {
      deps.onRefused('bad_credentials', client);
      return done(refusal(4, 'bad user name or password'), false);
    }
    deps.credentials.verify(username, password).then(
      (gatewayId) => {
        if (!gatewayId) {
          deps.onRefused('bad_credentials', client);
          return done(refusal(4, 'bad user name or password'), false);
        }
        if (client.id !== gatewayId) {
          deps.onRefused('client_id_mismatch', client);
          return done(refusal(5, `client id must be the gateway id ${gatewayId}`), false);
        }
        setIdentity(client, { gatewayId, anonymous: false });
        done(null, true);
      },
      () => {
        deps.onRefused('credential_store_error', client);
        done(refusal(5, 'credential check failed'), false);
      },
    );
  };
}
