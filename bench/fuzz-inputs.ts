// Seeded fuzz inputs (fast-check arbitraries): reading payloads for decode + validate, and raw MQTT
// byte streams for the broker (random bytes, and valid sessions cut short or corrupted).
import fc from 'fast-check';
import { connectPacket, disconnectPacket, pingreqPacket, publishPacket, remainingLength, subscribePacket } from './mqtt-bytes.ts';

const validReading = (nowMs: number) => ({ ts: new Date(nowMs - 60_000).toISOString(), seq: 1, values: { pm25: 12.5, pm10: 30, no2: 20 } });

/** JSON-ish values, including deep nesting, huge numbers and odd keys. */
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1e308, -1e-308, Number.MAX_SAFE_INTEGER + 2, '', 'NaN', '2026-02-30T25:00:00Z', '__proto__'),
    fc.double(),
    fc.string(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom('ts', 'values', 'seq', 'station', 'pm25', 'level_m', '__proto__', 'constructor'), fc.string()), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** A payload for decode: random bytes, a mutated valid reading, a reading with odd fields, a batch. */
export function readingPayload(nowMs: number): fc.Arbitrary<Buffer> {
  const valid = Buffer.from(JSON.stringify(validReading(nowMs)));
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
    mutated(valid),
    fc.record({ ts: jsonish, values: jsonish, seq: jsonish, station: jsonish }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify(o))),
    fc.record({ ts: fc.oneof(fc.integer(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())), values: fc.dictionary(fc.constantFrom('pm25', 'pm10', 'no2', 'ph', 'level_m', 'x'), fc.oneof(fc.double(), jsonish)) }).map((o) =>
      Buffer.from(JSON.stringify(o)),
    ),
    fc.array(jsonish, { maxLength: 8 }).map((a) => Buffer.from(JSON.stringify(a))),
    fc.integer({ min: 1, max: 200 }).map((d) => Buffer.from(`${'['.repeat(d)}${']'.repeat(d)}`)),
  );
}

/** Truncations, bit flips, insertions and deletions of `valid`. */
export function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
    fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((flips) => {
      const b = Buffer.from(valid);
      for (const [i, v] of flips) b[i] = v;
      return b;
    }),
    fc.tuple(fc.nat({ max: valid.length }), fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([i, ins]) => Buffer.concat([valid.subarray(0, i), Buffer.from(ins), valid.subarray(i)])),
    fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 16 })).map(([i, n]) => Buffer.concat([valid.subarray(0, i), valid.subarray(i + n)])),
  );
}

export interface FuzzIdentity {
  readonly gatewayId: string;
  readonly password: string;
  readonly stationId: string;
}

/**
 * One connection's bytes. One in eight starts with an authenticated CONNECT (so corruption reaches
 * PUBLISH/SUBSCRIBE handling, the ACL and ingest); the rest are refused at CONNECT or earlier.
 */
export function mqttSession(id: FuzzIdentity, nowMs: number): fc.Arbitrary<Buffer> {
  const topics = fc.constantFrom(
    `sensors/${id.stationId}/reading`,
    `gateways/${id.gatewayId}/readings`,
    `gateways/${id.gatewayId}/status`,
    'sensors/air-001/reading',
    'quantrac/alerts/air-001',
    '$SYS/x',
    'a/+/#',
    '',
  );
  const command = fc.oneof(
    fc.tuple(fc.oneof(topics, fc.string({ maxLength: 40 })), readingPayload(nowMs), fc.constantFrom<0 | 1>(0, 1), fc.integer({ min: 0, max: 65535 })).map(([t, p, q, m]) =>
      publishPacket(t, p, q, m),
    ),
    fc.oneof(topics, fc.string({ maxLength: 40 })).map((f) => subscribePacket(f)),
    fc.constant(pingreqPacket()),
    // a fixed header announcing more than it sends, or a length in five bytes
    fc.integer({ min: 0, max: 2 ** 28 - 1 }).map((n) => Buffer.concat([Buffer.from([0x30]), remainingLength(n), Buffer.from('x')])),
    fc.constant(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])),
  );
  const authenticated = fc.array(command, { maxLength: 6 }).map((cmds) => Buffer.concat([connectPacket(id.gatewayId, id.gatewayId, id.password), ...cmds, disconnectPacket()]));
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 1024 }).map((a) => Buffer.from(a)), weight: 3 },
    { arbitrary: authenticated.chain((b) => mutated(b)), weight: 2 },
    { arbitrary: authenticated, weight: 1 },
    { arbitrary: fc.tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 256 })).map(([c, u, g]) => Buffer.concat([connectPacket(c, u, 'x'), Buffer.from(g)])), weight: 2 },
  );
}
