// The identity of a raw publish in the replicated log: JetStream stores a message once per
// `Nats-Msg-Id` within the stream's duplicate window, so an edge that retries an append and a
// gateway that retransmits a reading (MQTT DUP, or a resend after reconnecting to another edge)
// store nothing twice. Pure functions; the edge calls them once per publish.
import { createHash } from 'node:crypto';
import type { RawPublish } from './types.ts';

/** Payloads above this are hashed, never parsed, on the edge. */
const PARSE_MAX_BYTES = 64 * 1024;
// Station ids as the registry writes them; anything else (it cannot be a known station) is hashed,
// so no wire byte ever reaches a header value.
const STATION_TOPIC = /^sensors\/([A-Za-z0-9._-]{1,64})\/reading$/;

/**
 * For a station's reading topic with a parseable payload: `r:{station}:{seq}:{ts}` (seq and the
 * timestamp in epoch ms, each `-` when absent) — the same reading, however re-encoded, has the
 * same id, as it has the same point in InfluxDB. Anything else (batches, status, unparseable or
 * identity-less payloads): `h:` and a SHA-256 of (gateway, topic, payload), so only byte-identical
 * retransmissions collapse.
 */
export function publishMsgId(publish: RawPublish): string {
  const station = STATION_TOPIC.exec(publish.topic)?.[1];
  if (station !== undefined && publish.payload.length <= PARSE_MAX_BYTES) {
    const key = readingKey(publish.payload);
    if (key !== undefined) return `r:${station}:${key}`;
  }
  return `h:${contentHash(publish)}`;
}

/** `{seq}:{tsMs}` from a reading payload, or undefined when it names neither. */
export function readingKey(payload: Buffer): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { seq, ts } = parsed as { seq?: unknown; ts?: unknown };
  const seqPart = Number.isSafeInteger(seq) && (seq as number) >= 0 ? String(seq) : '-';
  const tsPart = timestampMs(ts);
  if (seqPart === '-' && tsPart === '-') return undefined;
  return `${seqPart}:${tsPart}`;
}

function timestampMs(ts: unknown): string {
  if (typeof ts === 'number' && Number.isFinite(ts)) return String(Math.trunc(ts));
  if (typeof ts !== 'string') return '-';
  const ms = Date.parse(ts);
  return Number.isFinite(ms) ? String(ms) : '-';
}

function contentHash(publish: RawPublish): string {
  return createHash('sha256')
    .update(publish.gatewayId ?? '')
    .update('\0')
    .update(publish.topic)
    .update('\0')
    .update(publish.payload)
    .digest('base64url');
}

/**
 * The key a publish is partitioned by (alert ownership is per partition): the authenticated
 * gateway, whose stations the ACL confines it to; for an anonymous client (development) the
 * station or gateway named in the topic.
 */
export function partitionKey(publish: RawPublish): string {
  if (publish.gatewayId) return publish.gatewayId;
  const parts = publish.topic.split('/');
  return parts[1] ?? publish.topic;
}

/** FNV-1a of the key, modulo `partitions`: stable across processes and restarts. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
