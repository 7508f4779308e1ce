// The embedded Aedes broker on TCP and, when certificate files are configured, on TLS: hooks wired,
// per-address admission and packet-size guard in front of Aedes, in-flight bound, drainTimeout set
// (one frozen subscriber must not stall everyone), sessions ended when their credential is revoked.
import type { Socket } from 'node:net';
import type { Server } from 'node:net';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { identityOf } from './client-identity.ts';
import type { CredentialStore } from './gateway-credentials.ts';
import { createAuthenticate } from './hooks/authenticate.ts';
import { createSemaphore } from '../server/semaphore.ts';
import { createAuthorizePublish, type PublishSink } from './hooks/authorize-publish.ts';
import { createAuthorizeSubscribe } from './hooks/authorize-subscribe.ts';
import { preConnect } from './hooks/pre-connect.ts';
import type { AclMode } from './topic-acl.ts';
import { createAddressLimiter, type AddressLimits } from './limits/address-limiter.ts';
import { limitInflight } from './limits/inflight-limiter.ts';
import { GuardedConnection } from './limits/packet-size-guard.ts';
import { readProxyHeader } from './limits/proxy-protocol.ts';
import { listen, type ClientCertificates, type TlsFiles } from './listeners.ts';

export interface BrokerOptions {
  readonly host: string;
  /** Plain MQTT port; undefined: no plain listener (TLS only, MQTT_PLAIN=off). */
  readonly port: number | undefined;
  readonly allowAnonymous: boolean;
  readonly credentials: CredentialStore | undefined;
  /** Password checks (scrypt) at once, and how many more may wait before a CONNECT is refused (CONNACK 3). */
  readonly authHashing?: { readonly concurrency: number; readonly queueMax: number };
  /** A subscriber that does not read for this long is dropped, ms. */
  readonly drainTimeoutMs: number;
  /** The gateway of a station (undefined when unknown); the publish ACL needs it. */
  readonly stationGateway: (stationId: string) => string | undefined;
  readonly denyAction: 'ignore' | 'disconnect';
  /** `open`: any non-reserved topic for any client — development only (topic-acl.ts); default `strict`. */
  readonly aclMode?: AclMode;
  /** Largest remaining length of one MQTT packet, bytes. */
  readonly maxPacketBytes: number;
  readonly addressLimits: AddressLimits;
  /** Unacknowledged publishes per client before its socket stops being read. */
  readonly maxInflight: number;
  /** MQTT over TLS, when configured. */
  readonly tls?: { readonly port: number; readonly files: TlsFiles; readonly clientCerts?: ClientCertificates | undefined } | undefined;
  /** How often the credentials file is checked for revoked or rotated credentials, ms. */
  readonly credentialsCheckMs?: number;
  /**
   * The plain listener expects a PROXY protocol header (v1 or v2) first on each connection, from
   * the load balancer in front of the cluster's edges; limits then key on the address it names.
   */
  readonly proxyProtocol?: boolean;
}

/**
 * A graceful close waits at most this long for the publishes already read to be answered (a full
 * spool holds them); a gateway resends whatever was not acknowledged, so nothing is lost past it.
 */
const CLOSE_ANSWER_WAIT_MS = 3_000;
/** ...and this long for each client to close its side after the broker's FIN. */
const CLOSE_FIN_WAIT_MS = 500;

/** A balancer sends its PROXY header at once; a connection without one in this time is closed. */
const PROXY_HEADER_TIMEOUT_MS = 5_000;

export type RefusedWhat = 'connect' | 'publish' | 'subscribe' | 'packet' | 'session';

export interface BrokerEvents {
  onConnections?(count: number): void;
  onRefused?(what: RefusedWhat, reason: string): void;
  /** A client reached MQTT_MAX_INFLIGHT unacknowledged publishes: its socket stops being read. */
  onInflightHeld?(): void;
  /** A new high of one client's publishes inside the ingest pipeline at once (at most maxInflight). */
  onInflightPeak?(inflight: number): void;
}

export interface Broker {
  readonly aedes: Aedes;
  /** The bound plain TCP port (useful when configured as 0); 0 when there is no plain listener (TLS only). */
  port(): number;
  /** The bound TLS port, when TLS is configured. */
  tlsPort(): number | undefined;
  /** Publishes from the broker itself (dead letters, alerts). */
  publish(topic: string, payload: string, qos?: 0 | 1): void;
  /** True while every listener is bound and accepting and the broker is not closed (for /readyz). */
  listening(): boolean;
  /** Stops accepting connections and publishes; disconnects clients. */
  close(): Promise<void>;
  /** Password checks running and waiting now, and the most ever run at once. */
  hashingStats(): { running: number; waiting: number; peakRunning: number } | undefined;
}

export async function startBroker(opts: BrokerOptions, sink: PublishSink, log: Logger, events: BrokerEvents = {}): Promise<Broker> {
  const refused =
    (what: RefusedWhat) =>
    (reason: string, client: Client | null, topic?: string, address?: string): void => {
      events.onRefused?.(what, reason);
      // A banned address retrying is logged at debug: the ban itself was logged once at warn.
      const level = reason === 'banned' ? 'debug' : 'warn';
      log[level]({ clientId: client?.id ?? undefined, address, reason, topic }, `MQTT ${what} refused`);
    };
  let inflightPeak = 0;
  const hashing = opts.authHashing ? createSemaphore(opts.authHashing.concurrency, opts.authHashing.queueMax) : undefined;
  const unanswered = createUnansweredCount();
  const authorizePublish = createAuthorizePublish({ sink, stationGateway: opts.stationGateway, denyAction: opts.denyAction, aclMode: opts.aclMode, onRefused: refused('publish') });
  if (opts.aclMode === 'open') {
    log.warn(
      'MQTT_ACL=open: DEVELOPMENT ONLY. Every connected client may publish and subscribe to any topic outside $… and quantrac/… (readings keep their rules). Never expose this broker to real gateways or the internet in this mode.',
    );
  }
  const aedes = await Aedes.createBroker({
    drainTimeout: opts.drainTimeoutMs,
    preConnect,
    authenticate: createAuthenticate({ credentials: opts.credentials, allowAnonymous: opts.allowAnonymous, onRefused: refused('connect'), ...(hashing ? { hashing } : {}) }),
    authorizePublish: unanswered.wrap(limitInflight(opts.maxInflight, authorizePublish, {
      onHeld: (client) => {
        events.onInflightHeld?.();
        log.debug({ clientId: client.id, maxInflight: opts.maxInflight }, 'MQTT client at its in-flight bound: reading paused');
      },
      onInflight: (n) => {
        if (n > inflightPeak) events.onInflightPeak?.((inflightPeak = n));
      },
    })),
    authorizeSubscribe: createAuthorizeSubscribe(refused('subscribe'), opts.aclMode),
  });
  const connected = new Set<Client>();
  const report = () => events.onConnections?.(aedes.connectedClients);
  aedes.on('clientReady', (client) => {
    connected.add(client);
    report();
  });
  aedes.on('clientDisconnect', (client) => {
    connected.delete(client);
    report();
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'MQTT connection error before CONNECT'));

  const limiter = createAddressLimiter(opts.addressLimits);
  const sweeper = setInterval(() => limiter.sweep(), opts.addressLimits.windowMs);
  sweeper.unref();
  const refuseConnect = refused('connect');
  const refusePacket = refused('packet');
  /** Admission before any MQTT byte is parsed; `wrap` adds TLS when the listener is the TLS one. */
  let closing = false;
  const onSocket = (socket: Socket, stream: Socket = socket, address = socket.remoteAddress ?? 'unknown') => {
    if (closing) {
      socket.destroy();
      return;
    }
    const refusal = limiter.admit(address);
    if (refusal) {
      refuseConnect(refusal, null, undefined, address);
      socket.destroy();
      return;
    }
    socket.once('close', () => limiter.release(address));
    aedes.handle(new GuardedConnection(stream, opts.maxPacketBytes, (v) => refusePacket(v, null, undefined, address), address));
  };
  const onProxiedSocket = (socket: Socket) => {
    readProxyHeader(socket, PROXY_HEADER_TIMEOUT_MS).then(
      ({ address }) => onSocket(socket, socket, address),
      (err: Error) => {
        refuseConnect('proxy_header', null, undefined, socket.remoteAddress);
        log.debug({ err: err.message, address: socket.remoteAddress }, 'PROXY protocol header refused');
        socket.destroy();
      },
    );
  };

  const plain = opts.port === undefined ? undefined : await listen({ host: opts.host, port: opts.port }, opts.proxyProtocol ? onProxiedSocket : onSocket);
  const secure = opts.tls
    ? await listen({ host: opts.host, port: opts.tls.port, tls: opts.tls.files, clientCerts: opts.tls.clientCerts }, onSocket, (socket) =>
        refuseConnect('tls_handshake', null, undefined, socket.remoteAddress),
      )
    : undefined;
  const servers = [plain, secure].filter((s): s is Server => s !== undefined);
  const portOf = (server: Server | undefined) => {
    const address = server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  };

  // Revoking or rotating a credential ends the sessions that used it, not only future connects.
  let revision = opts.credentials?.revision();
  const checkSessions = () => {
    const store = opts.credentials;
    if (!store || store.revision() === revision) return;
    revision = store.revision();
    // A timer callback that throws would end the process: whatever goes wrong here is logged.
    try {
      for (const client of connected) {
        const user = identityOf(client)?.user;
        if (user && !store.isLive(user)) {
          refused('session')('credential_revoked', client);
          client.close();
        }
      }
    } catch (err) {
      log.error({ err }, 'credential check of connected sessions failed; retrying at the next change');
    }
  };
  const watcher = setInterval(checkSessions, opts.credentialsCheckMs ?? 1000);
  watcher.unref();
  opts.credentials?.onChange?.(checkSessions);

  return {
    aedes,
    hashingStats: () => hashing?.stats(),
    port: () => (plain ? (portOf(plain) ?? opts.port ?? 0) : 0),
    tlsPort: () => portOf(secure),
    listening: () => !aedes.closed && servers.every((s) => s.listening),
    publish(topic, payload, qos = 0) {
      aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, (err) => {
        if (err) log.warn({ topic, err: err.message }, 'broker publish failed');
      });
    },
    async close() {
      clearInterval(watcher);
      clearInterval(sweeper);
      // Refuse new connections, stop reading every client and answer the publishes already read,
      // then end the connections: a gateway whose PUBACK was lost would send the reading again
      // after the restart. Only then close the listeners (which destroy the sockets left) and Aedes.
      closing = true;
      const conns = [...connected].map((c) => c.conn).filter((c): c is GuardedConnection => c instanceof GuardedConnection);
      for (const conn of conns) conn.stopReading();
      await unanswered.settled(CLOSE_ANSWER_WAIT_MS);
      await Promise.all(conns.map((conn) => conn.finish(CLOSE_FIN_WAIT_MS)));
      const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await closed;
    },
  };
}

type AuthorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => void;

/** Publishes handed to the pipeline and not yet answered, across all clients. */
function createUnansweredCount() {
  let count = 0;
  return {
    wrap: (hook: AuthorizePublish): AuthorizePublish => (client, packet, callback) => {
      count++;
      hook(client, packet, (err) => {
        count--;
        callback(err);
      });
    },
    /**
     * Resolves once no publish is unanswered and none arrived in a short quiet spell (Aedes may
     * still parse packets it read before reading stopped), or after `maxMs`.
     */
    async settled(maxMs: number): Promise<void> {
      const deadline = Date.now() + maxMs;
      let quietSince = count === 0 ? Date.now() : 0;
      while (Date.now() < deadline) {
        if (count > 0) quietSince = 0;
        else if (quietSince === 0) quietSince = Date.now();
        else if (Date.now() - quietSince >= 50) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}
