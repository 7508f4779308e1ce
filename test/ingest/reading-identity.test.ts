// The replicated log's de-duplication id and partitioning: the same reading has one id however it
// is re-encoded; anything without a reading identity collapses only when byte-identical.
import { describe, expect, it } from 'vitest';
import { partitionKey, partitionOf, publishMsgId, readingKey } from '../../ingest/log/reading-identity.ts';
import type { RawPublish } from '../../ingest/log/types.ts';

const pub = (topic: string, payload: string, gatewayId: string | null = 'gw-air-01'): RawPublish => ({
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  gatewayId: gatewayId ?? undefined,
  receivedAt: 0,
});

describe('publishMsgId', () => {
  it('gives a station reading the same id however it is encoded (key order, ISO vs epoch ms)', () => {
    const a = pub('sensors/air-001/reading', '{"ts":"2026-11-23T10:00:00+07:00","seq":42,"values":{"pm25":41.2}}');
    const b = pub('sensors/air-001/reading', '{"seq":42,"values":{"pm25":41.2},"ts":1795402800000}');
    expect(publishMsgId(a)).toBe('r:air-001:42:1795402800000');
    expect(publishMsgId(b)).toBe(publishMsgId(a));
  });

  it('tells apart readings that differ in station, seq or timestamp', () => {
    const base = '{"ts":1795402800000,"seq":42,"values":{"pm25":1}}';
    const ids = new Set([
      publishMsgId(pub('sensors/air-001/reading', base)),
      publishMsgId(pub('sensors/air-002/reading', base)),
      publishMsgId(pub('sensors/air-001/reading', base.replace('42', '43'))),
      publishMsgId(pub('sensors/air-001/reading', base.replace('1795402800000', '1795402800001'))),
    ]);
    expect(ids.size).toBe(4);
  });

  it('hashes batches, bad JSON and identity-less payloads: only byte-identical copies collapse', () => {
    const batch = '[{"station":"air-001","ts":1,"values":{}}]';
    const x = publishMsgId(pub('gateways/gw-air-01/readings', batch));
    expect(x).toMatch(/^h:/);
    expect(publishMsgId(pub('gateways/gw-air-01/readings', batch))).toBe(x);
    expect(publishMsgId(pub('gateways/gw-air-01/readings', `${batch} `))).not.toBe(x);
    expect(publishMsgId(pub('sensors/air-001/reading', '{not json'))).toMatch(/^h:/);
    expect(publishMsgId(pub('sensors/air-001/reading', '{"values":{"pm25":1}}'))).toMatch(/^h:/);
    // the same bytes from another gateway are another publish
    expect(publishMsgId(pub('gateways/gw-air-01/readings', batch, 'gw-other'))).not.toBe(x);
  });

  it('never puts wire bytes of an odd topic into the id (it becomes a header value)', () => {
    const id = publishMsgId(pub('sensors/a\r\nb/reading', '{"ts":1,"seq":1,"values":{}}'));
    expect(id).toMatch(/^h:[A-Za-z0-9_-]+$/);
  });

  it('readingKey: seq or ts alone is enough; an unparseable ts counts as absent', () => {
    expect(readingKey(Buffer.from('{"seq":7}'))).toBe('7:-');
    expect(readingKey(Buffer.from('{"ts":"2026-11-23T03:00:00Z"}'))).toBe('-:1795402800000');
    expect(readingKey(Buffer.from('{"ts":"yesterday","seq":-1}'))).toBeUndefined();
    expect(readingKey(Buffer.from('[1,2]'))).toBeUndefined();
  });
});

describe('partitions', () => {
  it('a gateway and all of its stations land in one partition; anonymous publishes by topic', () => {
    expect(partitionKey(pub('sensors/air-001/reading', '{}'))).toBe('gw-air-01');
    expect(partitionKey(pub('gateways/gw-air-01/readings', '[]'))).toBe('gw-air-01');
    expect(partitionKey(pub('sensors/air-001/reading', '{}', null))).toBe('air-001');
  });

  it('partitionOf is stable and spreads keys over every partition', () => {
    expect(partitionOf('gw-air-01', 16)).toBe(partitionOf('gw-air-01', 16));
    const used = new Set(Array.from({ length: 400 }, (_, i) => partitionOf(`gw-${i}`, 16)));
    expect(used.size).toBe(16);
  });
});
