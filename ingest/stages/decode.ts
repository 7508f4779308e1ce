// Decode stage: a publish payload becomes candidate readings, before any JSON.parse of hostile
// input is allowed to cost much: size and nesting depth are checked on the raw bytes first.
import type { Rejection } from '../../contracts/reading.ts';

export interface DecodeLimits {
  readonly maxPayloadBytes: number;
  readonly maxJsonDepth: number;
  readonly maxBatchReadings: number;
}

export type Decoded =
  | { readonly ok: true; readonly items: readonly unknown[] }
  | { readonly ok: false; readonly rejection: Rejection };

/** Deepest nesting of `[`/`{` outside strings; stops counting once past `limit`. */
export function jsonDepth(buf: Buffer, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** `batch`: the payload must be a JSON array of readings; otherwise one reading object. */
export function decodePayload(payload: Buffer, batch: boolean, limits: DecodeLimits): Decoded {
  if (payload.length > limits.maxPayloadBytes) {
    return reject('payload_too_large', `payload is ${payload.length} bytes; the limit is ${limits.maxPayloadBytes}`);
  }
  // A reading is nested 2 deep ({"values":{}}); a batch one more.
  if (jsonDepth(payload, limits.maxJsonDepth) > limits.maxJsonDepth) {
    return reject('too_deep', `JSON nesting deeper than ${limits.maxJsonDepth}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return reject('malformed_json', `not valid JSON: ${(err as Error).message}`);
  }
  if (batch) {
    if (!Array.isArray(value)) return reject('not_an_object', 'a batch topic carries a JSON array of readings');
    if (value.length > limits.maxBatchReadings) {
      return reject('batch_too_large', `batch of ${value.length} readings; the limit is ${limits.maxBatchReadings}`);
    }
    return { ok: true, items: value };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return reject('not_an_object', 'a reading is a JSON object');
  }
  return { ok: true, items: [value] };
}

function reject(reason: Rejection['reason'], detail: string): Decoded {
  return { ok: false, rejection: { reason, detail } };
}
