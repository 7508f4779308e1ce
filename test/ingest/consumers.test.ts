// The consumer mechanics of the durable log (ingest/consumers/), on the real file log in a
// temporary directory: the release rule, a slow consumer holding segments but not
// acknowledgements until the log's bound, a consumer that throws on one record, and checkpoints
// and snapshots that resume a lane where it stood. The InfluxDB writer's part is played by the test
// pulling the store lane (read → release), as the writer does after each 2xx.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../contracts/reading.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { loadRules } from '../../ingest/alerts/rules.ts';
import { createAlertService } from '../../ingest/alerts/service.ts';
import { createMemoryAlertStore } from '../../ingest/alerts/store.ts';
import { createLaneStateStore } from '../../ingest/consumers/lane-state.ts';
import { createNowLane, type NowLane } from '../../ingest/consumers/now-lane.ts';
import { createReadingStage, type ReadingStage } from '../../ingest/consumers/reading-stage.ts';
import { createStoreLane, type StoreLane } from '../../ingest/consumers/store-lane.ts';
import { createStagedHandOff, type StagedHandOff } from '../../ingest/consumers/staged-hand-off.ts';
import type { UrgentWork } from '../../ingest/consumers/time-slice.ts';
import { stationReadingTopic } from '../../contracts/topics.ts';
import { createFileLogReader, openFileLog, type FileLogAppender, type FileLogReader } from '../../ingest/log/file-log.ts';
import type { LogPosition } from '../../ingest/log/types.ts';
import { createIngest } from '../../ingest/pipeline.ts';
import { createMetrics } from '../../ingest/metrics.ts';
import { loadQcConfig } from '../../ingest/quality/config.ts';
import { createLineEncoder } from '../../ingest/sink/line-protocol.ts';

const registry = loadRegistry();
const qc = loadQcConfig(undefined, registry.stations);
const silent = pino({ level: 'silent' });
const stageOptions = {
  maxPayloadBytes: 65_536,
  maxJsonDepth: 8,
  maxBatchReadings: 500,
  maxFutureMs: 300_000,
  maxAgeMs: 7 * 86_400_000,
  quality: { config: qc, registry },
};
const T0 = Date.now() - 3_600_000;
const AIR = registry.stations.filter((s) => s.kind === 'air').slice(0, 4);

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Harness {
  readonly dir: string;
  readonly log: FileLogAppender;
  readonly readers: FileLogReader[];
}

async function openLog(opts: { segmentBytes: number; maxBytes: number }, dir = mkdtempSync(join(tmpdir(), 'quantrac-consumers-'))): Promise<Harness> {
  if (!dirs.includes(dir)) dirs.push(dir);
  const log = await openFileLog({ dir: join(dir, 'spool'), segmentBytes: opts.segmentBytes, maxBytes: opts.maxBytes, fsync: true });
  const readers: FileLogReader[] = [];
  log.onCommitted((end) => readers.forEach((r) => r.setEnd(end)));
  closers.push(async () => {
    for (const r of readers) await r.close();
    await log.close();
  });
  return { dir, log, readers };
}

function reader(h: Harness): FileLogReader {
  const r = createFileLogReader({ dir: join(h.dir, 'spool'), end: h.log.end() });
  h.readers.push(r);
  return r;
}

const publishOf = (i: number, pm25 = 20 + (i % 5)) => {
  const station = AIR[i % AIR.length]!;
  return {
    topic: stationReadingTopic(station.id),
    payload: Buffer.from(JSON.stringify({ stationId: station.id, ts: T0 + Math.floor(i / AIR.length) * 60_000, seq: i, values: { pm25, pm10: 40 } })),
    qos: 1 as const,
    gatewayId: station.gatewayId,
    receivedAt: T0 + Math.floor(i / AIR.length) * 60_000 + 500,
  };
};

function nowLane(h: Harness, opts: { stage?: ReadingStage; onRecordError?: (err: unknown, p: LogPosition) => void; urgentLagS?: number; handOff?: StagedHandOff } = {}) {
  const seen: Reading[] = [];
  const service = createAlertService({ registry, rules: loadRules(), store: createMemoryAlertStore(), log: silent, tickMs: 60_000, queueMax: 10_000, logDriven: true });
  const lane: NowLane = createNowLane({
    reader: reader(h),
    stage: opts.stage ?? createReadingStage(registry, stageOptions),
    alerts: service,
    state: createLaneStateStore(join(h.dir, 'checkpoints'), 'now'),
    setClock: () => undefined,
    snapshotEveryMs: 60_000,
    checkpointEveryMs: 0,
    onStaged: () => undefined,
    onLive: (readings) => seen.push(...readings),
    ...(opts.onRecordError ? { onRecordError: opts.onRecordError } : {}),
    ...(opts.urgentLagS !== undefined ? { urgentLagS: opts.urgentLagS } : {}),
    ...(opts.handOff ? { handOff: opts.handOff } : {}),
  });
  closers.push(() => lane.stop());
  return { lane, seen, service };
}

function storeLane(h: Harness, onRecordError?: (err: unknown, p: LogPosition) => void, opts: { stage?: ReadingStage; yieldTo?: UrgentWork; handOff?: StagedHandOff; name?: string; onResync?: (replayed: number) => void } = {}): StoreLane {
  const encode = createLineEncoder(registry);
  const lane = createStoreLane({
    reader: reader(h),
    stage: opts.stage ?? createReadingStage(registry, stageOptions),
    ...(opts.yieldTo ? { yieldTo: opts.yieldTo } : {}),
    encode,
    encodeRevision: (rev) => encode.revision(rev),
    state: createLaneStateStore(join(h.dir, 'checkpoints'), opts.name ?? 'store'),
    snapshotEveryMs: 60_000,
    checkpointEveryMs: 0,
    ...(onRecordError ? { onRecordError } : {}),
    ...(opts.handOff ? { handOff: opts.handOff } : {}),
    ...(opts.onResync ? { onResync: opts.onResync } : {}),
  });
  h.log.onCommitted(() => lane.notify());
  closers.push(() => lane.close());
  return lane;
}

/** Plays the writer: pulls everything committed from the store lane and confirms it. */
async function drainStore(lane: StoreLane): Promise<string[]> {
  const written: string[] = [];
  let from = lane.startPosition();
  for (let round = 0; ; round++) {
    expect(round).toBeLessThan(1000);
    const { records, next } = await lane.read(from, 500, 1 << 20);
    if (records.length === 0 && next === from) break;
    written.push(...records);
    await lane.release(next);
    from = next;
    if (lane.isDrained()) break;
  }
  return written;
}

/** Asks a lane for a snapshot and appends a clock tick for it to be taken at; resolves once it is durable. */
async function snapshotStore(h: Harness, lane: StoreLane): Promise<void> {
  const before = lane.holds();
  lane.snapshotSoon();
  await h.log.appendTick(T0 + 10_000_000);
  await drainStore(lane);
  await until(() => lane.holds() > before);
}
async function snapshotNow(h: Harness, lane: NowLane): Promise<void> {
  const before = lane.holds();
  lane.snapshotSoon();
  await h.log.appendTick(T0 + 10_000_000);
  await lane.caughtUp();
  await until(() => lane.holds() > before);
}
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
}

/** A real reading stage that counts the records it processes. */
function countingStage(): ReadingStage & { calls: number } {
  const inner = createReadingStage(registry, stageOptions);
  const stage = {
    calls: 0,
    process: (p: Parameters<ReadingStage['process']>[0]) => {
      stage.calls++;
      return inner.process(p);
    },
    snapshot: () => inner.snapshot(),
    restore: (state: unknown) => inner.restore(state),
  };
  return stage;
}

const segments = (h: Harness) => readdirSync(join(h.dir, 'spool')).filter((f) => f.endsWith('.seg')).length;

describe('durable log consumers', () => {
  it('a slow consumer holds segments, not acknowledgements, until the log’s bound; then acknowledgements wait, and the release rule frees them', async () => {
    const h = await openLog({ segmentBytes: 4096, maxBytes: 32 * 1024 });
    const now = nowLane(h);
    await now.lane.start();
    const store = storeLane(h);
    await store.open();
    const ingest = createIngest({ log: h.log, metrics: createMetrics({ processMetrics: false }), logger: silent });
    const releaseNow = async () => {
      // The rule of server/create-services.ts: the oldest position any lane may still need.
      const upTo = Math.min(now.lane.holds(), store.holds());
      if (upTo > 0) await h.log.release(upTo);
    };

    // The store lane is stalled (InfluxDB down: nobody pulls it). Publishes are acknowledged anyway,
    // and the now lane follows them, while the log grows segment by segment.
    let acked = 0;
    let i = 0;
    while (!h.log.isFull()) {
      await ingest.onPublish({ topic: publishOf(i).topic, payload: publishOf(i).payload, qos: 1, gatewayId: publishOf(i).gatewayId });
      acked++;
      i++;
      expect(i).toBeLessThan(10_000);
    }
    expect(acked).toBeGreaterThan(100);
    await now.lane.caughtUp();
    await snapshotNow(h, now.lane);
    const before = segments(h);
    expect(before).toBeGreaterThan(3);
    await releaseNow();
    // The now lane passed them all, but the store lane has not: nothing may go.
    expect(segments(h)).toBe(before);
    expect(store.holds()).toBe(0);

    // At the bound the next acknowledgement waits.
    let heldAcked = false;
    const held = ingest.onPublish({ topic: publishOf(i + 1).topic, payload: publishOf(i + 1).payload, qos: 1, gatewayId: publishOf(i + 1).gatewayId }).then(() => (heldAcked = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(heldAcked).toBe(false);

    // InfluxDB is back: the store lane drains, snapshots at a record boundary, and the release rule
    // lets the passed segments go; the held acknowledgement follows.
    const written = await drainStore(store);
    expect(written.length).toBeGreaterThanOrEqual(acked);
    await snapshotStore(h, store);
    await releaseNow();
    await held;
    expect(heldAcked).toBe(true);
    expect(segments(h)).toBeLessThan(before);
  });

  it('the release rule: a segment stays until every lane’s durable snapshot has passed it', async () => {
    const h = await openLog({ segmentBytes: 2048, maxBytes: 1 << 20 });
    const store = storeLane(h);
    await store.open();
    for (let i = 0; i < 200; i++) await h.log.append(publishOf(i));
    await drainStore(store);
    await snapshotStore(h, store);
    expect(store.holds()).toBeGreaterThan(0);
    // The now lane has not started (a consumer that is behind): its hold is the log's start.
    const now = nowLane(h);
    const before = segments(h);
    expect(before).toBeGreaterThan(3);
    await h.log.release(Math.min(now.lane.holds(), store.holds()));
    expect(segments(h)).toBe(before);
    // Once it has caught up and its snapshot is durable, the segments both passed go.
    await now.lane.start();
    await now.lane.caughtUp();
    await snapshotNow(h, now.lane);
    expect(now.lane.holds()).toBeGreaterThan(0);
    await h.log.release(Math.min(now.lane.holds(), store.holds()));
    expect(segments(h)).toBeLessThan(before);
  });

  it('a consumer that throws on one record reports it and goes on; the other consumer is not affected', async () => {
    const h = await openLog({ segmentBytes: 1 << 20, maxBytes: 8 << 20 });
    const real = createReadingStage(registry, stageOptions);
    const poison = 7;
    // A program error on one record, in one lane only.
    const failing: ReadingStage = {
      ...real,
      process: (p) => {
        if (p.payload.includes(`"seq":${poison},`)) throw new Error('bug on this record');
        return real.process(p);
      },
    };
    const errors: LogPosition[] = [];
    const now = nowLane(h, { stage: failing, onRecordError: (_err, p) => errors.push(p) });
    await now.lane.start();
    const store = storeLane(h);
    await store.open();
    for (let i = 0; i < 20; i++) await h.log.append(publishOf(i));
    await now.lane.caughtUp();
    expect(errors).toHaveLength(1);
    // Every other record reached the live stream, in order, after the failing one too.
    expect(now.seen.map((r) => r.seq)).toEqual([...Array(20).keys()].filter((i) => i !== poison));
    // The store lane wrote all of them, the poison record's reading included.
    const written = await drainStore(store);
    expect(written.filter((l) => l.startsWith('air,'))).toHaveLength(20);
    expect(written.some((l) => l.includes(`seq=${poison}i`))).toBe(true);
  });

  it('a lane that is behind reports its lag and gives the event loop a turn every few ms (timers, the API and the other lane are not held up)', async () => {
    const h = await openLog({ segmentBytes: 1 << 20, maxBytes: 8 << 20 });
    const real = createReadingStage(registry, stageOptions);
    // 1 ms of work per record: 200 records are 200 ms of catching up, one read batch (512 records).
    const slow: ReadingStage = {
      ...real,
      process: (p) => {
        const until = performance.now() + 1;
        while (performance.now() < until);
        return real.process(p);
      },
    };
    for (let i = 0; i < 200; i++) await h.log.append(publishOf(i));
    const now = nowLane(h, { stage: slow });
    const lags: number[] = [];
    let urgentFarBehind = 0; // past URGENT_LAG_S the lane gives its priority up (the lanes take turns)
    const sampler = setInterval(() => {
      const lag = now.lane.lagSeconds();
      lags.push(lag);
      if (lag > 600 && now.lane.urgent() !== undefined) urgentFarBehind++;
    }, 2);
    try {
      await now.lane.start();
      await now.lane.caughtUp();
    } finally {
      clearInterval(sampler);
    }
    expect(now.seen).toHaveLength(200);
    // The records were received 10–60 minutes ago: while behind, the lag says so.
    const behind = lags.filter((l) => l > 0);
    expect(behind.length).toBeGreaterThanOrEqual(10); // the timer ran while the lane worked through the batch
    expect(Math.max(...behind)).toBeGreaterThan(600);
    expect(urgentFarBehind).toBe(0);
    expect(now.lane.lagSeconds()).toBe(0);
  });

  it('the store lane yields to the now lane on their shared thread: alerts first, storage slowed but not stopped', async () => {
    const h = await openLog({ segmentBytes: 1 << 20, maxBytes: 8 << 20 });
    // 1 ms of work per record in each lane's own stage, counted.
    const counted = () => {
      const real = createReadingStage(registry, stageOptions);
      const stage: ReadingStage & { calls: number } = {
        ...real,
        calls: 0,
        process(p) {
          stage.calls++;
          const until = performance.now() + 1;
          while (performance.now() < until);
          return real.process(p);
        },
      };
      return stage;
    };
    const nowStage = counted();
    const storeStage = counted();
    for (let i = 0; i < 200; i++) await h.log.append(publishOf(i));
    // The records were received an hour ago: priority for any lag here (the default gives it up past 2 s).
    const now = nowLane(h, { stage: nowStage, urgentLagS: Number.POSITIVE_INFINITY });
    const store = storeLane(h, undefined, { stage: storeStage, yieldTo: () => now.lane.urgent() });
    await store.open();
    await now.lane.start();
    const draining = drainStore(store);
    await now.lane.caughtUp();
    const storeAtNowDone = storeStage.calls;
    expect(nowStage.calls).toBe(200);
    // Taking turns slice for slice, the store lane would be about as far (≈ 200); yielding, it gets a
    // slice (5 ms) per wait of at most 20 ms while the now lane has records waiting.
    expect(storeAtNowDone).toBeLessThan(100);
    // Not starved: it stores everything once the now lane has nothing waiting.
    expect((await draining).filter((l) => l.startsWith('air,'))).toHaveLength(200);
    expect(now.lane.urgent()).toBeUndefined();
  });

  it.each([
    ['each lane with its own reading stage', false],
    ['the store lane taking the now lane’s outcomes and snapshots', true],
  ])('checkpoints and snapshots resume each lane where it stood: nothing written again, no effect repeated, the same quality state (%s)', async (_name, withHandOff) => {
    const h = await openLog({ segmentBytes: 1 << 20, maxBytes: 8 << 20 });
    const handOff = withHandOff ? createStagedHandOff() : undefined;
    const storeStage = countingStage();
    const store = storeLane(h, undefined, { stage: storeStage, ...(handOff ? { handOff } : {}) });
    await store.open();
    const now = nowLane(h, handOff ? { handOff } : {});
    await now.lane.start();
    // A spike at i = 41 (station AIR[1]) is judged one reading of that station later.
    const pm = (i: number) => (i === 41 ? 900 : 20 + (i % 3));
    for (let i = 0; i < 40; i++) await h.log.append(publishOf(i, pm(i)));
    await now.lane.caughtUp();
    const first = await drainStore(store);
    expect(first.filter((l) => l.startsWith('air,'))).toHaveLength(40);
    if (handOff) {
      // Its own stage never ran: the now lane's snapshot, offered through the hand-off, is saved
      // as the store lane's once its checkpoint passes it.
      await snapshotNow(h, now.lane);
      await snapshotStore(h, store);
      expect(storeStage.calls).toBe(0);
    } else {
      await snapshotStore(h, store);
      await snapshotNow(h, now.lane);
    }
    // More records after the snapshots: replayed for state only on restart.
    for (let i = 40; i < 43; i++) await h.log.append(publishOf(i, pm(i)));
    await now.lane.caughtUp();
    await drainStore(store);
    // A hard stop: the lanes are dropped without stop()/close(), and the log closed under them (no
    // more commits reach their readers): only what they saved on disk remains.
    closers.length = 0;
    await h.log.close();

    const h2 = await openLog({ segmentBytes: 1 << 20, maxBytes: 8 << 20 }, h.dir);
    const handOff2 = withHandOff ? createStagedHandOff() : undefined;
    const store2 = storeLane(h2, undefined, handOff2 ? { handOff: handOff2 } : {});
    await store2.open();
    const now2 = nowLane(h2, handOff2 ? { handOff: handOff2 } : {});
    await now2.lane.start();
    await now2.lane.caughtUp();
    expect(now2.seen).toEqual([]); // nothing delivered again
    expect(await drainStore(store2)).toEqual([]); // nothing written again
    // The next reading of AIR[1] settles the spike at 41 only if the quality state came back.
    for (let i = 43; i < 46; i++) await h2.log.append(publishOf(i, pm(i)));
    await now2.lane.caughtUp();
    const after = await drainStore(store2);
    expect(now2.seen.map((r) => r.seq)).toEqual([43, 44, 45]);
    const revision = after.find((l) => l.includes(`station=${AIR[1]!.id}`) && l.includes(`${T0 + 10 * 60_000}`) && !l.includes('seq='));
    expect(revision, after.join('\n')).toBeDefined();
    });

  it('the store lane takes the now lane’s reading-stage outcomes: the stage runs once per record, and the points are those of a lane with its own stage', async () => {
    // Small segments: the lanes step from one segment's end to the next one's records many times.
    const h = await openLog({ segmentBytes: 2048, maxBytes: 8 << 20 });
    const handOff = createStagedHandOff();
    const following = countingStage();
    const store = storeLane(h, undefined, { stage: following, handOff });
    const reference = storeLane(h, undefined, { name: 'reference' });
    await store.open();
    await reference.open();
    const now = nowLane(h, { handOff });
    await now.lane.start();
    // Spikes at 9 and 21 (station AIR[1]), settled one reading of that station later (revisions).
    const pm = (i: number) => (i === 9 || i === 21 ? 900 : 20 + (i % 3));
    for (let i = 0; i < 40; i++) await h.log.append(publishOf(i, pm(i)));
    await h.log.append({ topic: 'sensors/nope/reading', payload: Buffer.from('{'), qos: 1, gatewayId: AIR[0]!.gatewayId, receivedAt: T0 });
    await now.lane.caughtUp();
    const lines = await drainStore(store);
    expect(lines).toEqual(await drainStore(reference));
    for (const i of [9, 21]) {
      const revision = lines.find((l) => l.includes(`station=${AIR[1]!.id}`) && l.includes(`${T0 + Math.floor(i / AIR.length) * 60_000}`) && !l.includes('seq='));
      expect(revision, `the revision settling the spike at ${i}`).toBeDefined();
    }
    expect(following.calls).toBe(0);
    expect(handOff.size()).toBe(0);
    expect(segments(h)).toBeGreaterThanOrEqual(3);
  });

  it('past the hand-off’s bound the store lane runs its own stage again, its quality state rebuilt at its position: the same points', async () => {
    const h = await openLog({ segmentBytes: 1 << 20, maxBytes: 8 << 20 });
    const handOff = createStagedHandOff(5);
    const following = countingStage();
    const resyncs: number[] = [];
    const store = storeLane(h, undefined, { stage: following, handOff, onResync: (n) => resyncs.push(n) });
    const reference = storeLane(h, undefined, { name: 'reference' });
    await store.open();
    await reference.open();
    const now = nowLane(h, { handOff });
    await now.lane.start();
    // A spike at 17 (AIR[1]) read through the hand-off, settled by reading 21, which the store lane
    // judges with its own stage: only a stage brought to its position knows the neighbours.
    const pm = (i: number) => (i === 17 ? 900 : 20 + (i % 3));
    const reference1: string[] = [];
    const written: string[] = [];
    for (let i = 0; i < 20; i++) {
      await h.log.append(publishOf(i, pm(i)));
      await now.lane.caughtUp();
      written.push(...(await drainStore(store)));
      reference1.push(...(await drainStore(reference)));
    }
    expect(following.calls).toBe(0);
    for (let i = 20; i < 60; i++) await h.log.append(publishOf(i, pm(i)));
    await now.lane.caughtUp(); // the store lane is now 40 records behind, the hand-off holds 5
    written.push(...(await drainStore(store)));
    reference1.push(...(await drainStore(reference)));
    expect(following.calls).toBeGreaterThan(40); // the replay to its position, then its own pass
    expect(resyncs).toEqual([20]); // no snapshot yet: from the log's start to its position
    expect(written).toEqual(reference1);
    const revision = written.find((l) => l.includes(`station=${AIR[1]!.id}`) && l.includes(`${T0 + 4 * 60_000}`) && !l.includes('seq='));
    expect(revision, written.join('\n')).toBeDefined();
});
});
