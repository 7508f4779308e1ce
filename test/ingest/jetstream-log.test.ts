// The JetStream log against a real 3-node nats-server cluster (R3 file stream): appends come back
// in order with their metadata, checkpoints persist, retransmissions are stored once, the bound
// holds acknowledgements until release, and SIGKILL of the stream leader mid-append loses no
// acknowledged record.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJetStreamAppender,
  createKvCheckpointStore,
  ensureJetStreamLog,
  releaseConsumed,
  type JetStreamLogOptions,
} from '../../ingest/log/jetstream-log.ts';
import { createJetStreamReader } from '../../ingest/log/jetstream-reader.ts';
import { decodeRecord } from '../../ingest/log/records.ts';
import type { LogEntry, RawPublish } from '../../ingest/log/types.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';

let cluster: TestNatsCluster;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});

afterAll(async () => {
  await nc?.close();
  await cluster?.close();
});

const reading = (station: string, seq: number, gatewayId = 'gw-air-01'): RawPublish => ({
  topic: `sensors/${station}/reading`,
  payload: Buffer.from(JSON.stringify({ ts: 1_795_402_800_000 + seq * 1000, seq, values: { pm25: seq % 100 } })),
  qos: 1,
  gatewayId,
  clientId: gatewayId,
  receivedAt: 1_795_402_800_000 + seq,
});

function publishOf(e: LogEntry): RawPublish {
  const record = decodeRecord(e.body);
  if (record.type !== 'publish') throw new Error(`record ${e.position} is a ${record.type}`);
  return record.publish;
}

/**
 * Every record of the stream in [from, until), read through the LogReader as a consumer would.
 * A reader that stalls past `timeoutMs` fails the test as a stall: records it did not reach are
 * not reported as missing from the stream.
 */
async function readAll(stream: string, from: number, until: number, timeoutMs = 20_000): Promise<LogEntry[]> {
  const reader = await createJetStreamReader(nc, { stream });
  const out: LogEntry[] = [];
  let pos = from;
  const deadline = Date.now() + timeoutMs;
  try {
    while (pos < until && Date.now() < deadline) {
      const { entries, next } = await reader.read(pos, 1000);
      out.push(...entries);
      pos = next;
      if (entries.length === 0) await Promise.race([reader.waitBeyond(pos), new Promise((r) => setTimeout(r, 200))]);
    }
  } finally {
    await reader.close();
  }
  if (pos < until) throw new Error(`reader of ${stream} stalled at ${pos} of ${until} for ${timeoutMs} ms`);
  return out;
}

async function setup(stream: string, extra: JetStreamLogOptions = {}) {
  const options = await ensureJetStreamLog(nc, { stream, subjectPrefix: `t.${stream.toLowerCase()}`, maxBytes: 64 * 1024 * 1024, ...extra });
  return { options, appender: createJetStreamAppender(nc, options) };
}

describe('JetStream log (3-node cluster, R3)', () => {
  it('appends in order and reads every record back with its metadata; checkpoints persist', async () => {
    const { appender } = await setup('LOG_BASIC');
    const publishes = Array.from({ length: 300 }, (_, i) => reading(`air-00${i % 3}`, i));
    const ends = await Promise.all(publishes.map((p) => appender.append(p)));
    expect(ends).toEqual(Array.from({ length: 300 }, (_, i) => i + 2)); // pipelined, yet stored in call order

    const entries = await readAll('LOG_BASIC', 1, 301);
    expect(entries.map((e) => e.next)).toEqual(ends);
    expect(entries[7]!.position).toBe(8);
    const got = publishOf(entries[7]!);
    expect({ ...got, payload: got.payload.toString() }).toEqual({ ...publishes[7]!, payload: publishes[7]!.payload.toString() });

    // a reader started mid-log sees only what follows
    const tail = await readAll('LOG_BASIC', 251, 301);
    expect(tail.map((e) => e.next)).toEqual(ends.slice(250));

    const checkpoints = await createKvCheckpointStore(nc);
    expect(await checkpoints.load('writer-basic')).toBeUndefined();
    await checkpoints.save('writer-basic', 151);
    const other = await connect({ servers: [cluster.urls[2]!] }); // another process, another server
    expect(await (await createKvCheckpointStore(other)).load('writer-basic')).toBe(151);
    await other.close();
  });

  it('stores a retransmitted reading once (edge retry, gateway DUP, resend through another edge)', async () => {
    const { appender } = await setup('LOG_DEDUPE');
    const first = await appender.append(reading('air-001', 1));
    const second = await appender.append(reading('air-001', 2));
    // the same reading re-encoded by the gateway after a reconnect: other key order, ISO timestamp
    const again = await appender.append({
      ...reading('air-001', 1),
      payload: Buffer.from(`{"values":{"pm25":1},"seq":1,"ts":"${new Date(1_795_402_801_000).toISOString()}"}`),
      receivedAt: Date.now(),
    });
    const batch: RawPublish = { topic: 'gateways/gw-air-01/readings', payload: Buffer.from('[{"station":"air-001","seq":9}]'), qos: 1, gatewayId: 'gw-air-01', receivedAt: 1 };
    const b1 = await appender.append(batch);
    const b2 = await appender.append({ ...batch, receivedAt: 2 });
    expect([first, second, again, b1, b2]).toEqual([2, 3, 2, 4, 4]);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('LOG_DEDUPE')).state.messages).toBe(3);

    // the clock tick goes to every partition; two edges appending the same tick store it once
    const { appender: otherEdge, options } = await setup('LOG_DEDUPE');
    await Promise.all([appender.appendTick(1_795_402_805_000), otherEdge.appendTick(1_795_402_805_000)]);
    expect((await jsm.streams.info('LOG_DEDUPE')).state.messages).toBe(3 + options.partitions);
    const ticks = (await readAll('LOG_DEDUPE', 4, 4 + options.partitions)).map((e) => decodeRecord(e.body));
    expect(ticks).toEqual(Array.from({ length: options.partitions }, () => ({ type: 'tick', at: 1_795_402_805_000 })));
  });

  it('holds appends at the bound and lets them through once every consumer has passed (release)', async () => {
    const { appender, options } = await setup('LOG_BOUND', { maxBytes: 16 * 1024, replicas: 1 });
    const checkpoints = await createKvCheckpointStore(nc);
    let n = 0;
    while (!appender.isFull() && n < 1000) {
      const pending = appender.append(reading('air-001', n++));
      const settled = await Promise.race([pending.then(() => true), new Promise((r) => setTimeout(() => r(false), 1500))]);
      if (!settled) {
        expect(appender.isFull()).toBe(true); // held: not acknowledged, not failed
        await checkpoints.save('bound-a', n - 1);
        expect(await releaseConsumed(nc, options.stream, checkpoints, ['bound-a', 'bound-b'])).toBeUndefined(); // b holds all
        await checkpoints.save('bound-b', n - 1);
        expect(await releaseConsumed(nc, options.stream, checkpoints, ['bound-a', 'bound-b'])).toBe(n - 1);
        await expect(pending).resolves.toBe(n + 1); // the held append went through after the release
        break;
      }
    }
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(1000);
    const info = await (await jetstreamManager(nc)).streams.info('LOG_BOUND');
    expect(info.state.first_seq).toBe(n - 1);
  });

  it('loses no acknowledged append when the stream leader is SIGKILLed mid-append', async () => {
    const { appender } = await setup('LOG_FAILOVER');
    const jsm = await jetstreamManager(nc);
    const leaderName = (await jsm.streams.info('LOG_FAILOVER')).cluster?.leader;
    const leader = cluster.server(leaderName ?? '');
    expect(leader, `leader ${leaderName}`).toBeDefined();

    const acked = new Map<number, number>(); // seq of the reading → the end its append resolved with
    let failed = 0;
    let next = 0;
    let killedAt = Number.POSITIVE_INFINITY;
    let ackedAfterKill = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const seq = next++;
        try {
          acked.set(seq, await appender.append(reading('flood-001', seq, 'gw-flood-01')));
          if (seq >= killedAt) ackedAfterKill++;
        } catch {
          failed++;
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    // A consumer reading along through the kill (its own connection): it must see the same records.
    const liveReader = await createJetStreamReader(nc, { stream: 'LOG_FAILOVER' });
    const live: number[] = [];
    let liveUntil = Number.POSITIVE_INFINITY;
    // It has until 30 s after the end is known to reach it (the end is known only after the
    // election, the appends and the read-back, whose lengths vary with the machine's load).
    let giveUp = Number.POSITIVE_INFINITY;
    let livePos = 1;
    const following = (async () => {
      while (livePos < liveUntil && Date.now() < giveUp) {
        const { entries, next } = await liveReader.read(livePos, 500);
        for (const e of entries) live.push(e.position);
        livePos = next;
        if (entries.length === 0) await Promise.race([liveReader.waitBeyond(livePos), new Promise((r) => setTimeout(r, 200))]);
      }
    })();
    await new Promise((r) => setTimeout(r, 1_000));
    killedAt = next;
    await leader!.kill();
    // until the cluster has elected a new leader and taken 200 more appends (bounded)
    const deadline = Date.now() + 30_000;
    while (ackedAfterKill < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await Promise.all(workers);
    expect(killedAt).toBeGreaterThan(100);
    expect(ackedAfterKill).toBeGreaterThanOrEqual(200);

    const newLeader = (await jsm.streams.info('LOG_FAILOVER')).cluster?.leader;
    expect(newLeader).not.toBe(leaderName);
    const end = Math.max(...acked.values());
    const entries = await readAll('LOG_FAILOVER', 1, end);
    const bySeq = new Map<number, number[]>();
    for (const e of entries) {
      const seq = (JSON.parse(publishOf(e).payload.toString()) as { seq: number }).seq;
      bySeq.set(seq, [...(bySeq.get(seq) ?? []), e.next]);
    }
    const missing = [...acked.keys()].filter((s) => !bySeq.has(s));
    const twice = [...bySeq].filter(([, p]) => p.length > 1);
    expect({ missing, twice, failed }).toEqual({ missing: [], twice: [], failed: 0 });
    for (const [seq, pos] of acked) expect(bySeq.get(seq)).toEqual([pos]);
    liveUntil = end;
    giveUp = Date.now() + 30_000;
    await following;
    await liveReader.close();
    expect(livePos, 'the live reader stalled').toBeGreaterThanOrEqual(end);
    expect(live).toEqual(entries.map((e) => e.position)); // in order, nothing skipped or repeated
    await leader!.restart();
    // Its own bounded waits (election and appends 30 s, read-back 20 s, live reader 30 s, restart
    // 30 s) add up to more than the default 60 s: the timeout is theirs plus a margin.
  }, 150_000);
});
