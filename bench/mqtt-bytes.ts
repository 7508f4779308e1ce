// Hand-built MQTT 3.1.1 packets for fuzzing and protocol tests: exact bytes, so a test can also cut
// or corrupt them. Encodings follow the spec sections cited; no validation on purpose.

/** Remaining length, 1-4 bytes of 7 bits [MQTT-2.2.3]. */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (s: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};
const packet = (firstByte: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);

/** CONNECT [MQTT-3.1], clean session, with user name and password when given. */
export function connectPacket(clientId: string, username?: string, password?: string, keepaliveS = 30): Buffer {
  const flags = 0x02 | (username !== undefined ? 0x80 : 0) | (password !== undefined ? 0x40 : 0);
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(keepaliveS);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags]),
    keepalive,
    str(clientId),
    ...(username !== undefined ? [str(username)] : []),
    ...(password !== undefined ? [str(password)] : []),
  ]);
  return packet(0x10, body);
}

/** PUBLISH [MQTT-3.3]; messageId is required for QoS 1. */
export function publishPacket(topic: string, payload: Buffer | string, qos: 0 | 1 = 0, messageId = 1): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(messageId);
  const body = Buffer.concat([str(topic), ...(qos > 0 ? [id] : []), Buffer.isBuffer(payload) ? payload : Buffer.from(payload)]);
  return packet(0x30 | (qos << 1), body);
}

/** SUBSCRIBE [MQTT-3.8]: flags must be 0b0010. */
export function subscribePacket(filter: string, messageId = 1, qos = 1): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(messageId);
  return packet(0x82, Buffer.concat([id, str(filter), Buffer.from([qos])]));
}

export const pingreqPacket = (): Buffer => Buffer.from([0xc0, 0x00]);
export const disconnectPacket = (): Buffer => Buffer.from([0xe0, 0x00]);
