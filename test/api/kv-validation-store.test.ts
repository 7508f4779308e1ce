// Officers' validation marks in the cluster's KV bucket (api/kv-validation-store.ts) against a real
// 3-node nats-server cluster: a mark made by one API process is listed and applied by another within
// a second; an undo that read the mark before another process undid it is refused by the bucket's
// compare-and-set (the one seam: that process's update waits until the other's undo is stored).
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isExcluded } from '../../contracts/validations.ts';
import { createKvValidationStore, openValidationsBucket, type KvValidationStore } from '../../api/kv-validation-store.ts';
import { eventually } from '../support/influx.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';

const T = Date.parse('2026-12-01T00:00:00Z');
const H = 3_600_000;

let cluster: TestNatsCluster;
const ncs: NatsConnection[] = [];
const stores: KvValidationStore[] = [];
const bad: string[] = [];
let gate: Promise<void> | undefined;
/** Called when the second process is about to write (it has read the mark). */
let writing: (() => void) | undefined;

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  for (const url of [cluster.urls[0]!, cluster.urls[2]!]) ncs.push(await connect({ servers: url }));
  stores.push(await createKvValidationStore(await openValidationsBucket(ncs[0]!), { onBadEntry: (key) => bad.push(key) }));
  // The second process's bucket: its writes of existing keys wait for `gate` when one is set.
  const kv = await openValidationsBucket(ncs[1]!);
  const gated = new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'update') return async (...args: Parameters<KV['update']>) => (writing?.(), await gate, target.update(...args));
      if (prop === 'put') return async (...args: Parameters<KV['put']>) => (writing?.(), await gate, target.put(...args));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  stores.push(await createKvValidationStore(gated));
});

afterAll(async () => {
  for (const s of stores) await s.close();
  for (const nc of ncs) await nc.close();
  await cluster?.close();
});

it('a mark made through one process is listed and excludes its range in the other within a second', async () => {
  const [a, b] = stores as [KvValidationStore, KvValidationStore];
  const mark = await a.add({ station: 'air-001', parameter: 'pm25', fromMs: T, toMs: T + 2 * H, status: 'invalid', reason: 'inlet blocked', by: 'lan' });
  expect(a.marks().map((m) => m.id)).toEqual([mark.id]); // its own change at once
  const madeAt = Date.now();
  await eventually(async () => (b.marks().some((m) => m.id === mark.id) ? true : undefined), 5000, 'the other lists it');
  expect(Date.now() - madeAt).toBeLessThan(1000);
  expect(isExcluded(b.index(), 'air-001', 'pm25', T + H)).toBe(true);
  expect(isExcluded(b.index(), 'air-001', 'pm25', T + 3 * H)).toBe(false);
});

it('two undos of one mark: the one that read it before the other stored its undo is refused, nothing is overwritten', async () => {
  const [a, b] = stores as [KvValidationStore, KvValidationStore];
  const mark = await a.add({ station: 'air-002', parameter: 'pm10', fromMs: T, toMs: T + H, status: 'invalid', reason: 'calibration gas', by: 'lan' });
  await eventually(async () => (b.marks().some((m) => m.id === mark.id) ? true : undefined), 5000, 'the other lists it');
  let open!: () => void;
  gate = new Promise((r) => (open = r));
  const readIt = new Promise<void>((r) => (writing = r));
  const late = b.revoke(mark.id, 'minh', 'second undo'); // reads the mark, then waits to write
  await readIt;
  const first = await a.revoke(mark.id, 'lan', 'first undo');
  expect(first?.revokedBy).toBe('lan');
  open();
  expect(await late).toBeUndefined();
  gate = undefined;
  writing = undefined;
  await eventually(async () => (b.marks().find((m) => m.id === mark.id)?.revokedAt ? true : undefined), 2000, 'the undo seen');
  for (const s of stores) expect(s.marks().find((m) => m.id === mark.id)).toMatchObject({ revokedBy: 'lan', revokeReason: 'first undo' });
  expect(await a.revoke(mark.id, 'lan', undefined)).toBeUndefined(); // already undone
  expect(await a.revoke('no such mark!', 'lan', undefined)).toBeUndefined();
});

it('an entry that is not a mark is left out and reported', async () => {
  const kv = await openValidationsBucket(ncs[0]!);
  await kv.put('hand-written', JSON.stringify({ station: 'air-001', parameter: 'pm25' }));
  await eventually(async () => (bad.includes('hand-written') ? true : undefined), 2000, 'reported');
  expect(stores[0]!.marks().some((m) => m.id === 'hand-written')).toBe(false);
});

it('a watcher is told of the marks made, undone and deleted after it started (not of those already there), after its index has them', async () => {
  const [a] = stores as [KvValidationStore];
  const before = await a.add({ station: 'air-003', parameter: 'pm25', fromMs: T, toMs: T + H, status: 'invalid', reason: 'made before the watcher', by: 'lan' });
  const changes: { station: string; fromMs: number; toMs: number; revision: number; excludedThen: boolean }[] = [];
  const nc = await connect({ servers: cluster.urls[1]! });
  try {
    // The writers' and evaluators' use: read-only, told of changes (server/roles/validation-marks.ts).
    const watcher: KvValidationStore = await createKvValidationStore(await openValidationsBucket(nc), {
      onChange: (c) => changes.push({ ...c, excludedThen: isExcluded(watcher.index(), c.station, 'pm10', c.fromMs) }),
    });
    expect(watcher.marks().some((m) => m.id === before.id)).toBe(true);
    const made = await a.add({ station: 'air-004', parameter: 'pm10', fromMs: T + 2 * H, toMs: T + 5 * H, status: 'invalid', reason: 'inlet blocked', by: 'lan' });
    await eventually(async () => (changes.length >= 1 ? true : undefined), 5000, 'the new mark reported');
    expect(changes).toEqual([{ station: 'air-004', fromMs: T + 2 * H, toMs: T + 5 * H, revision: expect.any(Number), excludedThen: true }]);
    await a.revoke(made.id, 'lan', 'inlet fine');
    await eventually(async () => (changes.length >= 2 ? true : undefined), 5000, 'the undo reported');
    expect(changes[1]).toEqual({ station: 'air-004', fromMs: T + 2 * H, toMs: T + 5 * H, revision: expect.any(Number), excludedThen: false });
    expect(changes[1]!.revision).toBeGreaterThan(changes[0]!.revision);
    // What changed after a revision, for a writer taking a partition over (server/roles/writer.ts).
    expect(watcher.watchedRevision()).toBeGreaterThanOrEqual(changes[1]!.revision);
    expect(watcher.changedSince(changes[0]!.revision - 1).map((c) => c.station)).toEqual(['air-004']); // the mark made before is older
    expect(watcher.changedSince(0).map((c) => c.station)).toEqual(expect.arrayContaining(['air-003', 'air-004'])); // and the earlier tests' marks
    expect(watcher.changedSince(changes[1]!.revision)).toEqual([]);
    await (await openValidationsBucket(ncs[0]!)).delete(before.id);
    await eventually(async () => (changes.length >= 3 ? true : undefined), 5000, 'the deletion reported');
    expect(changes[2]).toMatchObject({ station: 'air-003', fromMs: T, toMs: T + H });
    await new Promise((r) => setTimeout(r, 300)); // nothing else comes (a change reported twice would be here by now)
    expect(changes).toHaveLength(3);
    await watcher.close();
  } finally {
    await nc.close();
  }
});
