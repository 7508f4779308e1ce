// A lane's state in the replicated KV bucket (cluster mode) against a real 3-node JetStream
// cluster: what one owner saved is what the next loads, and once a new owner has claimed the lane
// the old one (a lost lease, a pause) can save nothing more; a release purges the log below the
// oldest snapshot of the named lanes only.
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { expect, it } from 'vitest';
import { createJetStreamAppender, LOG_DEFAULTS } from '../../ingest/log/jetstream-log.ts';
import { LaneFencedError, LaneStateSaveError, createKvLaneState, openLaneStateBucket, releaseSnapshotted } from '../../ingest/log/kv-lane-state.ts';
import { useClusterWithLog } from '../support/nats-cluster.ts';

const bed = useClusterWithLog();

it('a new owner resumes from what the old one saved; after its claim the old owner is fenced', async () => {
  const kv = await openLaneStateBucket(bed.nc);
  const a = createKvLaneState(kv, 'now-p3');
  await a.claim();
  expect(await a.loadCheckpoint()).toBeUndefined();
  await a.saveCheckpoint(120);
  await a.saveSnapshot({ position: 100, state: { engine: 'x' } });
  await a.saveCheckpoint(140);

  const b = createKvLaneState(kv, 'now-p3');
  await b.claim();
  expect(await b.loadCheckpoint()).toBe(140);
  expect(await b.loadSnapshot()).toEqual({ position: 100, state: { engine: 'x' } });

  await expect(a.saveCheckpoint(160)).rejects.toBeInstanceOf(LaneFencedError);
  await expect(a.saveSnapshot({ position: 150, state: {} })).rejects.toBeInstanceOf(LaneFencedError);
  await b.saveCheckpoint(170);
  expect(await createKvLaneState(kv, 'now-p3').loadCheckpoint()).toBe(170);
});

it('the release purges the log below the oldest snapshot, and not at all while a lane has none', async () => {
  const kv = await openLaneStateBucket(bed.nc);
  const appender = createJetStreamAppender(bed.nc, { ...LOG_DEFAULTS });
  for (let i = 0; i < 10; i++) await appender.appendTick(1_000 * i);
  const jsm = await jetstreamManager(bed.nc);
  const lanes = ['store-p9', 'now-p9'];
  const x = createKvLaneState(kv, lanes[0]!);
  await x.claim();
  await x.saveSnapshot({ position: 40, state: {} });
  expect(await releaseSnapshotted(bed.nc, kv, LOG_DEFAULTS.stream, lanes)).toBeUndefined();
  const y = createKvLaneState(kv, lanes[1]!);
  await y.claim();
  await y.saveSnapshot({ position: 25, state: {} });
  expect(await releaseSnapshotted(bed.nc, kv, LOG_DEFAULTS.stream, lanes)).toBe(25);
  expect((await jsm.streams.info(LOG_DEFAULTS.stream)).state.first_seq).toBe(25);
});

it('a save that fails for another reason than a newer owner (the cluster out of reach) is not taken for fencing', async () => {
  const own = await connect({ servers: [...bed.cluster.urls] });
  const kv = await openLaneStateBucket(own);
  const a = createKvLaneState(kv, 'store-p5');
  await a.claim();
  await a.saveCheckpoint(10);
  // The cluster out of reach for this owner: its connection drained and closed.
  await own.close();
  const failed = await a.saveCheckpoint(20).then(() => undefined, (err: unknown) => err);
  expect(failed).toBeInstanceOf(LaneStateSaveError);
  expect(failed).not.toBeInstanceOf(LaneFencedError);
  // Nobody else wrote: what it saved last is still there, and a new owner fences it as before.
  const b = createKvLaneState(await openLaneStateBucket(bed.nc), 'store-p5');
  await b.claim();
  expect(await b.loadCheckpoint()).toBe(10);
  await b.saveCheckpoint(30);
  expect(await createKvLaneState(await openLaneStateBucket(bed.nc), 'store-p5').loadCheckpoint()).toBe(30);
});

// The claim's settle check (nats-server#4320, CLAIM_SETTLE_MS) guards a race this test could not
// make happen at this save rate (it passes with the check disabled too): what it shows is that a
// claim made while the old owner keeps saving holds, fences the old owner, and leaves the new free.
it('a claim made while the old owner is still saving holds: the old owner is fenced, the new one is not', async () => {
  const urls = bed.cluster.urls;
  const other = await connect({ servers: urls[1]! });
  try {
    const kvA = await openLaneStateBucket(bed.nc);
    const kvB = await openLaneStateBucket(other);
    const fencedNewOwners: number[] = [];
    for (let round = 0; round < 6; round++) {
      const lane = `store-race${round}`;
      const a = createKvLaneState(kvA, lane);
      await a.claim();
      await a.saveCheckpoint(1);
      // The old owner saves every 20 ms (ten times a writer's rate) while the new one claims.
      let saving = true;
      const saves = (async () => {
        for (let at = 2; saving; at++) {
          await a.saveCheckpoint(at).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const b = createKvLaneState(kvB, lane);
      try {
        await new Promise((r) => setTimeout(r, 5));
        await b.claim();
      } finally {
        saving = false;
        await saves;
      }
      // The old owner is fenced from now on; the new one's saves go through.
      await expect(a.saveCheckpoint(10_000)).rejects.toBeInstanceOf(LaneFencedError);
      await b.saveCheckpoint(20_000).catch((err: unknown) => {
        if (err instanceof LaneFencedError) fencedNewOwners.push(round);
        else throw err;
      });
    }
    expect(fencedNewOwners).toEqual([]);
  } finally {
    await other.close();
  }
}, 60_000);
