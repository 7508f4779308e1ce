// Decode and validate stages: every rejection reason (the quality stage: quality.test.ts).
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../contracts/reading.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { decodePayload, jsonDepth } from '../../ingest/stages/decode.ts';
import { validateReading, type ValidateContext } from '../../ingest/stages/validate.ts';

const registry = loadRegistry();
const NOW = Date.parse('2026-11-23T10:00:00Z');
const limits = { maxPayloadBytes: 2048, maxJsonDepth: 4, maxBatchReadings: 3 };
const ctx = (extra: Partial<ValidateContext> = {}): ValidateContext => ({
  registry,
  nowMs: NOW,
  maxFutureMs: 5 * 60_000,
  maxAgeMs: 7 * 86_400_000,
  topicStationId: 'air-001',
  gatewayId: 'gw-air-01',
  ...extra,
});
const ok = { ts: '2026-11-23T16:59:00+07:00', seq: 1, values: { pm25: 12.5, pm10: 30 } };

describe('decode', () => {
  it.each([
    [Buffer.alloc(3000, 0x20), false, 'payload_too_large'],
    [Buffer.from('{"ts": 1, "values": {'), false, 'malformed_json'],
    [Buffer.from('{"a":{"b":{"c":{"d":{"e":1}}}}}'), false, 'too_deep'],
    [Buffer.from('[1,2]'), false, 'not_an_object'],
    [Buffer.from('42'), false, 'not_an_object'],
    [Buffer.from('{"station":"air-001"}'), true, 'not_an_object'],
    [Buffer.from('[{},{},{},{}]'), true, 'batch_too_large'],
  ])('rejects %s as %s', (payload, batch, reason) => {
    const d = decodePayload(payload, batch, limits);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.rejection.reason).toBe(reason);
  });

  it('measures depth outside strings only', () => {
    expect(jsonDepth(Buffer.from('{"a":"[[[[{{{{","b":[1]}'), 10)).toBe(2);
    expect(jsonDepth(Buffer.from('{"a":"\\"[[["}'), 10)).toBe(1);
  });

  it('accepts a reading and a batch', () => {
    expect(decodePayload(Buffer.from(JSON.stringify(ok)), false, limits)).toEqual({ ok: true, items: [ok] });
    const d = decodePayload(Buffer.from(JSON.stringify([ok, ok])), true, limits);
    expect(d.ok && d.items.length).toBe(2);
  });
});

describe('validate', () => {
  it('accepts a valid reading, normalising the timestamp to epoch ms', () => {
    const v = validateReading(ok, ctx());
    expect(v).toEqual({ ok: true, reading: { stationId: 'air-001', kind: 'air', ts: Date.parse('2026-11-23T09:59:00Z'), seq: 1, values: { pm25: 12.5, pm10: 30 } } });
    expect(validateReading({ ...ok, ts: NOW - 1000 }, ctx()).ok).toBe(true);
  });

  it.each<[string, unknown, Partial<ValidateContext>]>([
    ['schema', { ts: 1 }, {}],
    ['schema', { values: { pm25: 12.5, pm10: 30 } }, {}],
    ['schema', { ...ok, values: [12.5] }, {}],
    ['schema', [ok], {}],
    ['schema', { ...ok, station: 7 }, {}],
    ['schema', ok, { topicStationId: undefined }],
    ['unknown_station', { ...ok, station: 'air-999' }, { topicStationId: undefined }],
    ['station_mismatch', { ...ok, station: 'air-002' }, {}],
    ['not_authorized', ok, { gatewayId: 'gw-air-02' }],
    ['wrong_kind_parameter', { ...ok, values: { level_m: 3 } }, {}],
    ['wrong_kind_parameter', { ...ok, values: { depth_cm: 3 } }, { topicStationId: 'flood-longbien', gatewayId: 'gw-river' }],
    ['missing_parameter', { ...ok, values: { rain_mm: 3 } }, { topicStationId: 'rain-001', gatewayId: 'gw-rain-01' }],
    ['empty_values', { ...ok, values: {} }, {}],
    ['not_a_number', { ...ok, values: { pm25: '12' } }, {}],
    ['not_a_number', { ...ok, values: { pm25: null } }, {}],
    ['out_of_range', { ...ok, values: { pm25: -1 } }, {}],
    ['out_of_range', { ...ok, values: { pm25: 1e9 } }, {}],
    ['bad_timestamp', { ...ok, ts: '2026-11-23 10:00' }, {}],
    ['bad_timestamp', { ...ok, ts: '2026-11-23T10:00:00' }, {}],
    ['bad_timestamp', { ...ok, ts: -5 }, {}],
    ['bad_timestamp', { ...ok, ts: 2 ** 60 }, {}],
    ['bad_timestamp', { ...ok, ts: 1.5 }, {}],
    ['timestamp_in_future', { ...ok, ts: NOW + 10 * 60_000 }, {}],
    ['timestamp_too_old', { ...ok, ts: NOW - 8 * 86_400_000 }, {}],
    ['bad_seq', { ...ok, seq: -1 }, {}],
    ['bad_seq', { ...ok, seq: 1.5 }, {}],
    ['bad_seq', { ...ok, seq: 2 ** 60 }, {}],
    ['bad_seq', { ...ok, seq: '1' }, {}],
  ])('rejects as %s: %j', (reason, candidate, extra) => {
    const v = validateReading(candidate, ctx(extra));
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.rejection.reason).toBe(reason);
      expect(v.rejection.detail.length).toBeGreaterThan(5);
    }
  });
});
