// Webhook signatures: HMAC-SHA256 over `{timestamp}.{raw body}` with the shared ALERT_WEBHOOK_SECRET,
// sent as `X-Quantrac-Signature: sha256=<hex>` beside `X-Quantrac-Timestamp: <unix seconds>`. The
// timestamp is inside the signed material, so a captured request cannot be replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-quantrac-signature';
export const TIMESTAMP_HEADER = 'x-quantrac-timestamp';
export const DELIVERY_HEADER = 'x-quantrac-delivery';
export const EVENT_HEADER = 'x-quantrac-event';
/** A receiver refuses a timestamp further than this from its own clock, seconds. */
export const DEFAULT_TOLERANCE_S = 300;

/** HMAC-SHA256 (RFC 2104 with SHA-256, RFC 4231 test vectors) of the parts in order, lower-case hex. */
export function hmacSha256Hex(key: string | Buffer, ...parts: readonly (string | Buffer)[]): string {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

const mac = (secret: string, timestampS: number, rawBody: string | Buffer): string => hmacSha256Hex(secret, `${timestampS}.`, rawBody);

/** The two headers to send with `rawBody` (the exact bytes sent), signed at `nowMs`. */
export function signWebhook(secret: string, rawBody: string | Buffer, nowMs = Date.now()): Record<string, string> {
  const timestampS = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(timestampS), [SIGNATURE_HEADER]: `sha256=${mac(secret, timestampS, rawBody)}` };
}

export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly reason: 'missing_headers' | 'stale_timestamp' | 'bad_signature' };

/**
 * Checks a received webhook: both headers present, the timestamp within `toleranceS` of `nowMs`,
 * and the signature equal (constant-time) to the HMAC of `{timestamp}.{rawBody}`. `rawBody` must be
 * the bytes as received, before any JSON parsing. Header names are matched case-insensitively.
 */
export function verifyWebhook(
  secret: string,
  rawBody: string | Buffer,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  opts: { readonly nowMs?: number; readonly toleranceS?: number } = {},
): VerifyResult {
  const get = (name: string): string | undefined => {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    const v = key === undefined ? undefined : headers[key];
    return Array.isArray(v) ? v[0] : v;
  };
  const ts = get(TIMESTAMP_HEADER);
  const sig = get(SIGNATURE_HEADER);
  if (!ts || !sig || !/^\d{1,12}$/.test(ts) || !sig.startsWith('sha256=')) return { ok: false, reason: 'missing_headers' };
  const timestampS = Number(ts);
  const nowS = (opts.nowMs ?? Date.now()) / 1000;
  if (Math.abs(nowS - timestampS) > (opts.toleranceS ?? DEFAULT_TOLERANCE_S)) return { ok: false, reason: 'stale_timestamp' };
  const expected = Buffer.from(mac(secret, timestampS, rawBody), 'utf8');
  const given = Buffer.from(sig.slice('sha256='.length), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  return { ok: true };
}
