// Client certificates on the MQTT TLS listener (mTLS). A TLSSocket made around an accepted socket
// (listeners.ts, so admission runs before any handshake) has no tls.Server behind it, and Node
// then neither sets `authorized` nor enforces `rejectUnauthorized`; so the certificate is checked
// here once the handshake is done: issued and signed by a CA of MQTT_TLS_CLIENT_CA_FILE (directly:
// no intermediates) and within its validity period. Its SHA-256 fingerprint then identifies it.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

const verified = new WeakMap<TLSSocket, string>();

/** The CAs of a PEM bundle. */
export function parseCaBundle(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate in the client CA file');
  return blocks.map((b) => new X509Certificate(b));
}

/** True when the peer's certificate chains to one of `cas`; remembers its fingerprint for `verifiedFingerprint`. */
export function verifyClientCertificate(socket: TLSSocket, cas: readonly X509Certificate[], nowMs = Date.now()): boolean {
  const peer = socket.getPeerX509Certificate();
  if (!peer) return false;
  const inDate = Date.parse(peer.validFrom) <= nowMs && nowMs <= Date.parse(peer.validTo);
  const issued = cas.some((ca) => peer.checkIssued(ca) && peer.verify(ca.publicKey));
  if (!inDate || !issued) return false;
  verified.set(socket, peer.fingerprint256);
  return true;
}

/** The fingerprint of a verified client certificate on this socket, else undefined. */
export const verifiedFingerprint = (socket: TLSSocket): string | undefined => verified.get(socket);
