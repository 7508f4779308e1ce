// Guards one connection against oversized MQTT packets before Aedes' parser buffers them: Aedes 1.x
// and mqtt-packet have no maximum packet size, and a fixed header may announce 256 MB. The guard
// reads only the fixed headers [MQTT-2.2] as bytes pass and closes the connection as soon as a
// remaining length above the limit (or a malformed length) is announced.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { verifiedFingerprint } from '../client-certificate.ts';

export type PacketViolation = 'packet_too_large' | 'malformed_length';

/** Tracks MQTT framing across chunks; `feed` returns a violation or undefined. */
export function createFrameTracker(maxPacketBytes: number) {
  let bodyLeft = 0; // bytes of the current packet body still to pass
  let headerBytes = 0; // 0: expecting a packet type byte; 1..4: inside the remaining length
  let length = 0;
  let multiplier = 1;
  return {
    feed(chunk: Buffer): PacketViolation | undefined {
      let i = 0;
      while (i < chunk.length) {
        if (bodyLeft > 0) {
          const take = Math.min(bodyLeft, chunk.length - i);
          bodyLeft -= take;
          i += take;
          continue;
        }
        const byte = chunk[i++]!;
        if (headerBytes === 0) {
          headerBytes = 1;
          length = 0;
          multiplier = 1;
          continue;
        }
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if (length > maxPacketBytes) return 'packet_too_large';
        if (byte & 0x80) {
          // [MQTT-2.2.3]: the remaining length takes at most four bytes.
          if (++headerBytes > 4) return 'malformed_length';
          continue;
        }
        headerBytes = 0;
        bodyLeft = length;
      }
      return undefined;
    },
  };
}

/**
 * The socket as Aedes sees it: bytes pass through unchanged while the framing is within limits.
 * On a violation `onViolation` is told and the socket destroyed (the peer sees the TCP/TLS close).
 */
export class GuardedConnection extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly #socket: Socket;
  #held = false;
  #stopped = false;

  /** `remoteAddress`: the client's own address when a load balancer named it (PROXY protocol). */
  constructor(socket: Socket, maxPacketBytes: number, onViolation: (v: PacketViolation) => void, remoteAddress = socket.remoteAddress) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    const frames = createFrameTracker(maxPacketBytes);
    socket.on('data', (chunk: Buffer) => {
      const violation = frames.feed(chunk);
      if (violation) {
        onViolation(violation);
        this.destroy(new Error(`MQTT ${violation.replace('_', ' ')}`));
        return;
      }
      if (this.#stopped) return; // closing: dropped unanswered, the gateway sends it again
      if (!this.push(chunk) || this.#held) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /**
   * SHA-256 fingerprint of the client certificate, when the connection is TLS and the certificate
   * chained to the configured client CA (MQTT_TLS_CLIENT_CA_FILE); else undefined.
   */
  peerCertificateSha256(): string | undefined {
    return this.#socket instanceof TLSSocket ? verifiedFingerprint(this.#socket) : undefined;
  }

  override _read(): void {
    if (!this.#held) this.#socket.resume();
  }

  /** Stops reading from the peer (TCP backpressure) until `release`; see inflight-limiter.ts. */
  hold(): void {
    this.#held = true;
    this.#socket.pause();
  }

  release(): void {
    this.#held = false;
    // If Aedes' buffer is still full, the next push returns false and pauses the socket again.
    this.#socket.resume();
  }

  /**
   * A graceful close, first step: what the peer sends from now on is read and dropped (nothing new
   * reaches Aedes, and no unread bytes turn the close into a reset that would discard the answers
   * still on their way to the peer); writes still pass.
   */
  stopReading(): void {
    this.#stopped = true;
    this.#socket.resume();
  }

  /** Second step: sends FIN after the answers written so far; resolves when the peer has closed too, or after `maxMs`. */
  finish(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) return resolve();
      const timer = setTimeout(resolve, maxMs);
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.end(); // after what Aedes has written (corked pieces included), then _final ends the socket
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.#socket.write(chunk)) done();
    else this.#socket.once('drain', () => done());
  }

  /**
   * mqtt-packet writes a packet as several pieces (type, length, body) while Aedes holds this
   * stream corked; they arrive here together and must leave as ONE write. Passed on one by one,
   * a PUBACK became three syscalls and TCP segments, and with Nagle the last piece waited for the
   * client's delayed ACK (~40 ms per acknowledgement). Corked, the socket sends them with one
   * writev (one TLS record on TLS).
   */
  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    const socket = this.#socket;
    socket.cork();
    let flowing = true;
    for (const { chunk } of chunks) flowing = socket.write(chunk);
    socket.uncork();
    if (flowing) done();
    else socket.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#socket.end(() => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#socket.destroy();
    done(err);
  }
}
