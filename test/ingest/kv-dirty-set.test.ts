// The rollups' pending hours in the replicated KV bucket (cluster mode) against a real 3-node
// JetStream cluster: what one owner marked is what the next claims, cleared marks stay cleared,
// and once a new owner has claimed the key the old one can mark nothing more.
import { expect, it } from 'vitest';
import { HOUR_MS } from '../../contracts/rollups.ts';
import { LaneFencedError, openLaneStateBucket } from '../../ingest/log/kv-lane-state.ts';
import { createKvDirtySet, rollupsPendingKey } from '../../ingest/rollups/kv-dirty-set.ts';
import { useClusterWithLog } from '../support/nats-cluster.ts';

const bed = useClusterWithLog();

const H0 = Date.UTC(2026, 9, 10, 5);
const sorted = (hours: { stationId: string; hourMs: number }[]) => hours.map((h) => `${h.stationId}@${(h.hourMs - H0) / HOUR_MS}`).sort();

it('a new owner takes over the marks the old one made durable; after its claim the old owner is fenced', async () => {
  const kv = await openLaneStateBucket(bed.nc);
  const a = createKvDirtySet(kv, rollupsPendingKey(5));
  await a.claim();
  expect(a.size()).toBe(0);
  await a.mark([{ stationId: 'air-001', ts: H0 + 10 }, { stationId: 'air-001', ts: H0 + 20 }, { stationId: 'air-002', ts: H0 + HOUR_MS + 5 }]);
  const first = a.take();
  await a.mark([{ stationId: 'air-003', ts: H0 + 2 * HOUR_MS }]);
  await a.clear(first.token); // the first two hours recomputed; air-003's mark came later and stays
  expect(sorted(a.take().hours)).toEqual(['air-003@2']);
  await a.mark([{ stationId: 'air-001', ts: H0 + 3 * HOUR_MS }]);

  const b = createKvDirtySet(kv, rollupsPendingKey(5));
  await b.claim();
  expect(sorted(b.take().hours)).toEqual(['air-001@3', 'air-003@2']);
  await expect(a.mark([{ stationId: 'air-009', ts: H0 }])).rejects.toBeInstanceOf(LaneFencedError);

  const { token } = b.take();
  await b.clear(token);
  const c = createKvDirtySet(kv, rollupsPendingKey(5));
  await c.claim();
  expect(c.size()).toBe(0);
  // Only the hours named are cleared (the rollups defer a station's open hour).
  await c.mark([{ stationId: 'air-001', ts: H0 }, { stationId: 'air-002', ts: H0 }]);
  await c.clear(c.take().token, [{ stationId: 'air-001', hourMs: H0 }]);
  const d = createKvDirtySet(kv, rollupsPendingKey(5));
  await d.claim();
  expect(sorted(d.take().hours)).toEqual(['air-002@0']);
  // Another partition's key is its own.
  const other = createKvDirtySet(kv, rollupsPendingKey(6));
  await other.claim();
  expect(other.size()).toBe(0);
});

it('a mark whose write failed is written with the next mark, even when that adds no new hour', async () => {
  const kv = await openLaneStateBucket(bed.nc);
  const a = createKvDirtySet(kv, rollupsPendingKey(7));
  await a.claim();
  await a.mark([{ stationId: 'air-001', ts: H0 }]);
  const b = createKvDirtySet(kv, rollupsPendingKey(7));
  await b.claim(); // fences a
  const c = createKvDirtySet(kv, rollupsPendingKey(7));
  await c.claim(); // fences b: b's next write fails
  await expect(b.mark([{ stationId: 'air-002', ts: H0 }])).rejects.toBeInstanceOf(LaneFencedError);
  // A writer retries the batch: the same readings again must not resolve without a durable write.
  await expect(b.mark([{ stationId: 'air-002', ts: H0 }])).rejects.toBeInstanceOf(LaneFencedError);
});

it('the revision of officers\' validation changes a partition has marked is written with its marks and claimed by the next owner', async () => {
  const kv = await openLaneStateBucket(bed.nc);
  const a = createKvDirtySet(kv, rollupsPendingKey(9));
  await a.claim();
  expect(a.validationsApplied()).toBeUndefined(); // never recorded: the next owner marks every change it knows
  await a.markValidations([{ stationId: 'air-001', ts: H0 + 5 }], 7);
  await a.markValidations([], 4); // an older revision does not move it back
  const b = createKvDirtySet(kv, rollupsPendingKey(9));
  await b.claim();
  expect(b.validationsApplied()).toBe(7);
  expect(sorted(b.take().hours)).toEqual(['air-001@0']);
  await b.clear(b.take().token);
  await b.markValidations([], 9); // no hour, a newer revision: still written
  const c = createKvDirtySet(kv, rollupsPendingKey(9));
  await c.claim();
  expect(c.validationsApplied()).toBe(9);
  expect(c.size()).toBe(0);
});
