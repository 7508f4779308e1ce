// The durable log's record bodies (inside the spool's framing `u32 length | u32 crc32 | body`,
// spool-records.ts). Version 1, little endian:
//
//   publish  0x01 | f64 receivedAt | u8 qos | u16 n + topic | u16 n + gateway | u16 n + client id | payload (rest)
//   tick     0x02 | f64 at                       the clock, appended every ALERT_TICK_MS (silence rules)
//   command  0x03 | f64 at | JSON (rest)         an officer's action that changes derived state (acknowledge)
//
// Everything downstream is derived from these records alone (no wall clock), so a consumer that
// replays them from its checkpoint reaches the same state. A body whose first byte is printable
// ASCII is a record of quantrac 0.1, whose spool held InfluxDB line protocol: it is written to the
// database as it is (an upgrade drains the old spool) and skipped by every other consumer.
import type { RawPublish } from './types.ts';

export const RECORD_PUBLISH = 0x01;
export const RECORD_TICK = 0x02;
export const RECORD_COMMAND = 0x03;

/** An officer's action, ordered with the readings by the log. */
export interface LogCommand {
  readonly type: 'acknowledge';
  readonly alertId: string;
  readonly by: string;
  readonly note?: string | undefined;
}

export type LogRecord =
  | { readonly type: 'publish'; readonly publish: RawPublish }
  | { readonly type: 'tick'; readonly at: number }
  | { readonly type: 'command'; readonly at: number; readonly command: LogCommand }
  /** A quantrac 0.1 spool record: one InfluxDB line. */
  | { readonly type: 'legacy-line'; readonly line: string }
  | { readonly type: 'unknown'; readonly tag: number };

const EMPTY = Buffer.alloc(0);

export function encodePublish(p: RawPublish): Buffer {
  const topic = Buffer.from(p.topic, 'utf8');
  const gateway = p.gatewayId ? Buffer.from(p.gatewayId, 'utf8') : EMPTY;
  const client = p.clientId ? Buffer.from(p.clientId, 'utf8') : EMPTY;
  const head = 1 + 8 + 1 + 2 + topic.length + 2 + gateway.length + 2 + client.length;
  const buf = Buffer.allocUnsafe(head + p.payload.length);
  let at = buf.writeUInt8(RECORD_PUBLISH, 0);
  at = buf.writeDoubleLE(p.receivedAt, at);
  at = buf.writeUInt8(p.qos, at);
  for (const part of [topic, gateway, client]) {
    at = buf.writeUInt16LE(part.length, at);
    at += part.copy(buf, at);
  }
  p.payload.copy(buf, at);
  return buf;
}

export function encodeTick(at: number): Buffer {
  const buf = Buffer.allocUnsafe(9);
  buf.writeUInt8(RECORD_TICK, 0);
  buf.writeDoubleLE(at, 1);
  return buf;
}

export function encodeCommand(at: number, command: LogCommand): Buffer {
  const json = Buffer.from(JSON.stringify(command), 'utf8');
  const buf = Buffer.allocUnsafe(9 + json.length);
  buf.writeUInt8(RECORD_COMMAND, 0);
  buf.writeDoubleLE(at, 1);
  json.copy(buf, 9);
  return buf;
}

function readString(body: Buffer, at: number): [string | undefined, number] {
  const n = body.readUInt16LE(at);
  return [n === 0 ? undefined : body.toString('utf8', at + 2, at + 2 + n), at + 2 + n];
}

/**
 * Decodes one body. The payload of a publish is a view into `body` (no copy): callers that keep it
 * past the next read must copy it. Throws RangeError on a truncated body (the CRC makes that a
 * program error, not damage).
 */
/** True for a type byte this version reads: its own records, or a 0.1 line (printable first byte). */
export function isKnownRecordTag(tag: number): boolean {
  return tag === RECORD_PUBLISH || tag === RECORD_TICK || tag === RECORD_COMMAND || (tag >= 0x21 && tag < 0x7f);
}

export function decodeRecord(body: Buffer): LogRecord {
  const tag = body[0] ?? 0;
  if (tag === RECORD_PUBLISH) {
    const receivedAt = body.readDoubleLE(1);
    const qos = body.readUInt8(9) === 1 ? 1 : 0;
    let at = 10;
    let topic: string | undefined;
    let gatewayId: string | undefined;
    let clientId: string | undefined;
    [topic, at] = readString(body, at);
    [gatewayId, at] = readString(body, at);
    [clientId, at] = readString(body, at);
    return { type: 'publish', publish: { topic: topic ?? '', payload: body.subarray(at), qos, gatewayId, clientId, receivedAt } };
  }
  if (tag === RECORD_TICK) return { type: 'tick', at: body.readDoubleLE(1) };
  if (tag === RECORD_COMMAND) return { type: 'command', at: body.readDoubleLE(1), command: JSON.parse(body.toString('utf8', 9)) as LogCommand };
  if (tag >= 0x21 && tag < 0x7f) return { type: 'legacy-line', line: body.toString('utf8') };
  return { type: 'unknown', tag };
}
