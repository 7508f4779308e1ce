// limitInflight answers Aedes in the order a client's publishes arrived, whatever order the pipeline
// finishes them in, so PUBACKs go out in order [MQTT-4.6.0-2]. A unit test: the hook and client are
// stand-ins (the real broker path is covered by deny-and-inflight.test.ts).
import type { Client, PublishPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import { limitInflight } from '../../broker/limits/inflight-limiter.ts';

const clientWithConn = (id: string) => ({ id, conn: { hold() {}, release() {} } }) as unknown as Client;
const packet = (n: number) => ({ cmd: 'publish', topic: `sensors/s-${n}/reading`, payload: Buffer.from('{}'), qos: 1, dup: false, retain: false, messageId: n }) as PublishPacket;

describe('inflight limiter', () => {
  it('answers the publishes of a client in arrival order, each as soon as those before it are answered', () => {
    const finish = new Map<number, (err?: Error | null) => void>();
    const limited = limitInflight(100, (_c, p, cb) => void finish.set(p.messageId!, cb), { onHeld: () => undefined });
    const a = clientWithConn('a');
    const b = clientWithConn('b');
    const answered: string[] = [];
    for (const n of [1, 2, 3]) limited(a, packet(n), () => answered.push(`a${n}`));
    limited(b, packet(9), () => answered.push('b9'));

    finish.get(3)!(null); // durable first, but 1 and 2 are not answered yet
    finish.get(9)!(null); // another client: not held up by a's publishes
    expect(answered).toEqual(['b9']);
    finish.get(1)!(null);
    expect(answered).toEqual(['b9', 'a1']);
    finish.get(2)!(null); // releases 2 and the waiting 3
    expect(answered).toEqual(['b9', 'a1', 'a2', 'a3']);
  });

  it('passes the error of each publish along, in order', () => {
    const finish = new Map<number, (err?: Error | null) => void>();
    const limited = limitInflight(100, (_c, p, cb) => void finish.set(p.messageId!, cb), { onHeld: () => undefined });
    const a = clientWithConn('a');
    const got: [number, string | undefined][] = [];
    for (const n of [1, 2]) limited(a, packet(n), (err) => got.push([n, err?.message]));
    finish.get(2)!(new Error('not allowed'));
    finish.get(1)!(null);
    expect(got).toEqual([[1, undefined], [2, 'not allowed']]);
  });
});
