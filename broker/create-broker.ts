// The embedded Aedes broker on TCP: hooks wired, drainTimeout set (one frozen subscriber must not
// stall everyone), connection count reported. Start/stop only; the entry process calls them.
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import type { CredentialStore } from './gateway-credentials.ts';
import { createAuthenticate } from './hooks/authenticate.ts';
import { createAuthorizePublish, type PublishSink } from './hooks/authorize-publish.ts';
import { createAuthorizeSubscribe } from './hooks/authorize-subscribe.ts';

export interface BrokerOptions {
  readonly host: string;
  readonly port: number;
  readonly allowAnonymous: boolean;
  readonly credentials: CredentialStore | undefined;
  /** A subscriber that does not read for this long is dropped, ms. */
  readonly drainTimeoutMs: number;
}

export interface BrokerEvents {
  onConnections?(count: number): void;
  onRefused?(what: 'connect' | 'publish' | 'subscribe', reason: string): void;
}

export interface Broker {
  readonly aedes: Aedes;
  /** The bound TCP port (useful when configured as 0). */
  port(): number;
  /** Publishes from the broker itself (dead letters, alerts). */
  publish(topic: string, payload: string, qos?: 0 | 1): void;
  /** Stops accepting connections and publishes; disconnects clients. */
  close(): Promise<void>;
}

export async function startBroker(opts: BrokerOptions, sink: PublishSink, log: Logger, events: BrokerEvents = {}): Promise<Broker> {
  const refused = (what: 'connect' | 'publish' | 'subscribe') => (reason: string, client: Client | null, topic?: string) => {
    events.onRefused?.(what, reason);
    log.warn({ clientId: client?.id, reason, topic }, `MQTT ${what} refused`);
  };
  const aedes = await Aedes.createBroker({
    drainTimeout: opts.drainTimeoutMs,
    authenticate: createAuthenticate({ credentials: opts.credentials, allowAnonymous: opts.allowAnonymous, onRefused: refused('connect') }),
    authorizePublish: createAuthorizePublish({ sink, onRefused: refused('publish') }),
    authorizeSubscribe: createAuthorizeSubscribe(refused('subscribe')),
  });
  const report = () => events.onConnections?.(aedes.connectedClients);
  aedes.on('clientReady', report);
  aedes.on('clientDisconnect', report);
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));
  const server: Server = createServer((socket) => aedes.handle(socket));
  server.listen(opts.port, opts.host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    aedes,
    port: () => port,
    publish(topic, payload, qos = 0) {
      aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, (err) => {
        if (err) log.warn({ topic, err: err.message }, 'broker publish failed');
      });
    },
    async close() {
      // Refuse new connections first; server.close() completes once Aedes has closed the clients.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await closed;
    },
  };
}
