// Property: decode + validate never throw on any payload, and every rejection carries a reason of
// REJECT_REASONS (the dead-letter contract). Seeded and bounded so it stays a few hundred ms.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { fuzzStages } from '../../bench/fuzz.ts';
import { readingPayload } from '../../bench/fuzz-inputs.ts';
import { REJECT_REASONS } from '../../contracts/reading.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { decodePayload } from '../../ingest/stages/decode.ts';
import { validateReading } from '../../ingest/stages/validate.ts';

const registry = loadRegistry();
const limits = { maxPayloadBytes: 4096, maxJsonDepth: 8, maxBatchReadings: 100 };

it('rejects every malformed payload with a known reason, or accepts it, without throwing', () => {
  const nowMs = Date.parse('2026-11-23T10:00:00Z');
  fc.assert(
    fc.property(readingPayload(nowMs), fc.boolean(), (payload, batch) => {
      const decoded = decodePayload(payload, batch, limits);
      if (!decoded.ok) {
        expect(REJECT_REASONS).toContain(decoded.rejection.reason);
        return;
      }
      for (const item of decoded.items) {
        const v = validateReading(item, { registry, nowMs, maxFutureMs: 300_000, maxAgeMs: 86_400_000, topicStationId: batch ? undefined : 'air-001', gatewayId: 'gw-air-01' });
        if (v.ok) expect(v.reading.stationId).toBe('air-001'); // only the gateway's own station gets through
        else expect(REJECT_REASONS).toContain(v.rejection.reason);
      }
    }),
    { seed: 1123, numRuns: 2000 },
  );
});

it('the bench variant agrees on a different seed', () => {
  expect(fuzzStages(7, 1000)).toMatchObject({ crashes: 0 });
});
