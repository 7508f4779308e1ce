// The PROXY protocol header (HAProxy's spec, versions 1 and 2) that the load balancer in front of
// the cluster's edges sends first on each connection, so per-address limits see the gateway's own
// address instead of the balancer's. Read before any MQTT byte; the bytes after it go to Aedes.
// Source: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt (copied facts: the v2
// signature, the 16-byte header, families 0x11/0x21, LOCAL command 0x20, v1 at most 107 bytes).
import type { Socket } from 'node:net';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_MAX_BYTES = 107;
const V2_MAX_ADDR_BYTES = 4096;

/** `address` undefined: a LOCAL connection (the balancer's own health check) or v1 UNKNOWN. */
export type ProxyHeader = { readonly address: string | undefined; readonly port: number | undefined; readonly headerBytes: number };

export class ProxyProtocolError extends Error {
  override readonly name = 'ProxyProtocolError';
}

/**
 * Parses a header at the start of `buf`: the header, `undefined` when more bytes are needed, or
 * throws ProxyProtocolError (a connection that does not start with one is refused).
 */
export function parseProxyHeader(buf: Buffer): ProxyHeader | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  throw new ProxyProtocolError('no PROXY protocol header');
}

function parseV1(buf: Buffer): ProxyHeader | undefined {
  const prefix = 'PROXY ';
  if (!Buffer.from(prefix).subarray(0, Math.min(buf.length, 6)).equals(buf.subarray(0, Math.min(buf.length, 6)))) {
    throw new ProxyProtocolError('no PROXY protocol header');
  }
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= V1_MAX_BYTES) throw new ProxyProtocolError('PROXY v1 line too long');
    return undefined;
  }
  const parts = buf.toString('latin1', 0, end).split(' ');
  if (parts[1] === 'UNKNOWN') return { address: undefined, port: undefined, headerBytes: end + 2 };
  const [, family, src, , sport] = parts;
  const port = Number(sport);
  if ((family !== 'TCP4' && family !== 'TCP6') || parts.length !== 6 || !src || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ProxyProtocolError('malformed PROXY v1 line');
  }
  return { address: src, port, headerBytes: end + 2 };
}

function parseV2(buf: Buffer): ProxyHeader | undefined {
  const seen = Math.min(buf.length, V2_SIGNATURE.length);
  if (!buf.subarray(0, seen).equals(V2_SIGNATURE.subarray(0, seen))) throw new ProxyProtocolError('no PROXY protocol header');
  if (buf.length < 16) return undefined;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) throw new ProxyProtocolError('unsupported PROXY protocol version');
  const length = buf.readUInt16BE(14);
  if (length > V2_MAX_ADDR_BYTES) throw new ProxyProtocolError('PROXY v2 header too long');
  if (buf.length < 16 + length) return undefined;
  const headerBytes = 16 + length;
  const command = verCmd & 0x0f;
  if (command === 0x0) return { address: undefined, port: undefined, headerBytes }; // LOCAL
  if (command !== 0x1) throw new ProxyProtocolError('unknown PROXY v2 command');
  const family = buf[13]!;
  if (family === 0x11 && length >= 12) {
    return { address: `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}`, port: buf.readUInt16BE(24), headerBytes };
  }
  if (family === 0x21 && length >= 36) {
    const groups = Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(16 + 2 * i).toString(16));
    return { address: groups.join(':'), port: buf.readUInt16BE(48), headerBytes };
  }
  return { address: undefined, port: undefined, headerBytes }; // UNSPEC or a unix socket: no address to use
}

/**
 * Reads the header off `socket`, puts the bytes after it back, and resolves with the source
 * address (the socket's own when the header carries none). Rejects on a bad header or when none
 * arrives within `timeoutMs`; the caller destroys the socket.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<{ address: string }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (err?: Error, header?: ProxyHeader) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err || !header) return reject(err ?? new ProxyProtocolError('closed before the PROXY header'));
      socket.pause();
      if (buf.length > header.headerBytes) socket.unshift(buf.subarray(header.headerBytes));
      resolve({ address: header.address ?? socket.remoteAddress ?? 'unknown' });
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      try {
        const header = parseProxyHeader(buf);
        if (header) done(undefined, header);
      } catch (err) {
        done(err as Error);
      }
    };
    const onClose = () => done(new ProxyProtocolError('closed before the PROXY header'));
    const timer = setTimeout(() => done(new ProxyProtocolError('no PROXY header in time')), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
