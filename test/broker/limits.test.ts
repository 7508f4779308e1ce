// The pure pieces of the broker's defences: per-address admission on an injected clock, the
// fixed-header frame tracker across chunk boundaries, and the topic ACL table.
import { describe, expect, it } from 'vitest';
import { publishPacket } from '../../bench/mqtt-bytes.ts';
import { createAddressLimiter } from '../../broker/limits/address-limiter.ts';
import { createFrameTracker } from '../../broker/limits/packet-size-guard.ts';
import { decidePublish, decideSubscribe } from '../../broker/topic-acl.ts';

describe('address limiter', () => {
  it('bans an address past its burst until the ban ends, and forgets idle addresses', () => {
    let now = 0;
    const l = createAddressLimiter({ maxConnections: 100, burst: 3, windowMs: 1000, banMs: 5000 }, () => now);
    expect([l.admit('a'), l.admit('a'), l.admit('a'), l.admit('a'), l.admit('a')]).toEqual([undefined, undefined, undefined, 'connect_rate', 'banned']);
    expect(l.admit('b')).toBeUndefined();
    now = 5001;
    expect(l.admit('a')).toBeUndefined();
    for (const addr of ['a', 'a', 'a', 'a', 'b']) l.release(addr);
    now = 7000;
    l.sweep();
    expect(l.size()).toBe(0);
  });

  it('bounds open connections per address and frees a slot on release', () => {
    const l = createAddressLimiter({ maxConnections: 2, burst: 100, windowMs: 1000, banMs: 1000 }, () => 0);
    expect([l.admit('a'), l.admit('a'), l.admit('a')]).toEqual([undefined, undefined, 'too_many_connections']);
    l.release('a');
    expect(l.admit('a')).toBeUndefined();
  });
});

describe('frame tracker', () => {
  it('passes packets up to the limit in any chunking and stops one announced above it', () => {
    const ok = Buffer.concat([publishPacket('t', Buffer.alloc(200)), publishPacket('t', Buffer.alloc(10))]);
    for (const size of [1, 2, 3, 7, ok.length]) {
      const tracker = createFrameTracker(300);
      for (let i = 0; i < ok.length; i += size) expect(tracker.feed(ok.subarray(i, i + size))).toBeUndefined();
    }
    const big = publishPacket('t', Buffer.alloc(400));
    expect(createFrameTracker(300).feed(big.subarray(0, 3))).toBe('packet_too_large'); // seen in the header
    expect(createFrameTracker(1 << 28).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe('malformed_length');
  });
});

describe('topic ACL', () => {
  const gw = { role: 'gateway' as const, gatewayId: 'gw-a', anonymous: false };
  const consumer = { role: 'consumer' as const, anonymous: false };
  const owner = (s: string) => ({ 's-a': 'gw-a', 's-b': 'gw-b' })[s];
  it.each([
    ['sensors/s-a/reading', { allow: true, ingest: true }],
    ['sensors/s-unknown/reading', { allow: true, ingest: true }],
    ['sensors/s-b/reading', { allow: false, reason: 'not_your_station' }],
    ['gateways/gw-a/readings', { allow: true, ingest: true }],
    ['gateways/gw-b/readings', { allow: false, reason: 'not_your_gateway' }],
    ['gateways/gw-a/status', { allow: true, ingest: true }],
    ['gateways/gw-b/status', { allow: false, reason: 'not_your_gateway' }],
    ['gateways/gw-a/deadletter', { allow: false, reason: 'topic_not_allowed' }],
    ['quantrac/alerts/s-a', { allow: false, reason: 'internal_topic' }],
    ['$SYS/broker', { allow: false, reason: 'sys_topic' }],
    ['anything/else', { allow: false, reason: 'topic_not_allowed' }],
  ])('gateway publish %s', (topic, expected) => expect(decidePublish(gw, topic, owner)).toEqual(expected));

  it('consumers publish nothing; subscriptions follow the table', () => {
    expect(decidePublish(consumer, 'gateways/gw-a/status', owner)).toEqual({ allow: false, reason: 'read_only' });
    expect(decideSubscribe(gw, 'gateways/gw-a/deadletter')).toBeUndefined();
    expect(decideSubscribe(gw, 'gateways/+/deadletter')).toBe('topic_not_allowed');
    expect(decideSubscribe(consumer, 'quantrac/alerts/#')).toBeUndefined();
    expect(decideSubscribe(consumer, 'quantrac/#')).toBe('topic_not_allowed');
    expect(decideSubscribe(consumer, 'quantrac/+/s-a')).toBe('topic_not_allowed');
    expect(decideSubscribe(consumer, 'gateways/+/status')).toBeUndefined();
    expect(decideSubscribe(consumer, 'gateways/#')).toBe('topic_not_allowed');
    expect(decideSubscribe({ role: 'anonymous', anonymous: true }, '$SYS/#')).toBe('sys_topic');
  });
});
