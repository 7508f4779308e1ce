// The broker's listeners: plain TCP, and TLS from PEM files. TLS is layered on each socket only
// after the per-address admission, so a flood costs no handshakes; the handshake runs inside Aedes'
// connect timeout.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { parseCaBundle, verifyClientCertificate } from './client-certificate.ts';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle sent with the certificate (intermediates). */
  readonly caFile?: string | undefined;
}

/** Reads the PEM files once; a missing or unreadable file fails the start with its path. */
export function loadTls(files: TlsFiles): { cert: Buffer; key: Buffer; ca?: Buffer } {
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read TLS file ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return { cert: read(files.certFile), key: read(files.keyFile), ...(files.caFile ? { ca: read(files.caFile) } : {}) };
}

/** Client certificates on the TLS listener: asked for (`optional`) or demanded in the handshake (`required`). */
export interface ClientCertificates {
  readonly mode: 'optional' | 'required';
  /** PEM CA bundle client certificates must chain to. */
  readonly caFile: string;
}

function loadClientCas(caFile: string) {
  try {
    return parseCaBundle(readFileSync(caFile));
  } catch (err) {
    throw new Error(`cannot read the client CA file ${caFile}: ${(err as Error).message}`, { cause: err });
  }
}

export async function listen(
  where: { host: string; port: number; tls?: TlsFiles; clientCerts?: ClientCertificates | undefined },
  onSocket: (socket: Socket, stream: Socket) => void,
  onHandshakeFailed?: (socket: Socket) => void,
): Promise<Server> {
  const context = where.tls ? createSecureContext(loadTls(where.tls)) : undefined;
  const clientCas = where.clientCerts ? loadClientCas(where.clientCerts.caFile) : undefined;
  // Asks the client for its certificate; whether it is good is decided in client-certificate.ts.
  const clientCertOptions = clientCas ? { requestCert: true, rejectUnauthorized: false } : {};
  const open = new Set<Socket>();
  // TCP_NODELAY: every MQTT packet already leaves as one write (packet-size-guard.ts), so Nagle
  // could only hold a small packet (a PUBACK, a dead letter) back until the peer's delayed ACK,
  // ~40 ms, for a client that waits for it. Brokers do the same (EMQX's listener default
  // `tcp_options.nodelay = true`).
  const server = createServer({ noDelay: true }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => undefined); // reported through the stream Aedes reads
    if (!context) return onSocket(socket, socket);
    const secure = new TLSSocket(socket, { isServer: true, secureContext: context, ...clientCertOptions });
    let handshaken = false;
    secure.once('secure', () => {
      handshaken = true;
      if (clientCas && !verifyClientCertificate(secure, clientCas) && where.clientCerts?.mode === 'required') {
        onHandshakeFailed?.(socket); // no certificate from the client CA: as a failed handshake
        secure.destroy();
      }
    });
    secure.on('error', () => {
      if (!handshaken) onHandshakeFailed?.(socket);
    });
    onSocket(socket, secure);
  });
  // Sockets that never sent CONNECT are not Aedes clients yet; close() must not wait for them.
  const close = server.close.bind(server);
  server.close = (cb) => {
    close(cb);
    for (const s of open) s.destroy();
    return server;
  };
  server.listen(where.port, where.host);
  await once(server, 'listening');
  return server;
}
