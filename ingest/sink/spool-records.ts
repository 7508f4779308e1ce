// The spool's record format, written and read only here:
//   u32 LE body length | u32 LE crc32(body) | body
// The body is a durable-log record (ingest/log/records.ts); quantrac 0.1 wrote UTF-8 line protocol.
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 8;

/** Appends one record to `buf` at `end`, growing the buffer by doubling; returns both anew. */
export function appendRecord(buf: Buffer, end: number, payload: string | Buffer): { buf: Buffer; end: number } {
  const len = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const next = end + RECORD_HEADER_BYTES + len;
  if (next > buf.length) {
    const grown = Buffer.allocUnsafe(Math.max(next, buf.length * 2));
    buf.copy(grown, 0, 0, end);
    buf = grown;
  }
  if (typeof payload === 'string') buf.write(payload, end + RECORD_HEADER_BYTES, len, 'utf8');
  else payload.copy(buf, end + RECORD_HEADER_BYTES);
  buf.writeUInt32LE(len, end);
  buf.writeUInt32LE(crc32(buf.subarray(end + RECORD_HEADER_BYTES, next)), end + 4);
  return { buf, end: next };
}

/** Bytes of the record that starts at `at` (header included), from its length field. */
export const recordLength = (buf: Buffer, at = 0): number => RECORD_HEADER_BYTES + buf.readUInt32LE(at);

/**
 * Walks the whole records at the start of `buf[0, length)`, handing each good body to `onRecord`
 * until it returns false. Stops before a partial record (`consumed` < `length`) or at a record
 * whose checksum does not match (`corrupt`; `consumed` is where it starts).
 */
export function walkRecords(buf: Buffer, length: number, onRecord: (body: Buffer) => boolean): { consumed: number; corrupt: boolean } {
  let at = 0;
  while (at + RECORD_HEADER_BYTES <= length) {
    const end = at + recordLength(buf, at);
    if (end > length) break;
    const body = buf.subarray(at + RECORD_HEADER_BYTES, end);
    if (crc32(body) !== buf.readUInt32LE(at + 4)) return { consumed: at, corrupt: true };
    at = end;
    if (!onRecord(body)) break;
  }
  return { consumed: at, corrupt: false };
}
