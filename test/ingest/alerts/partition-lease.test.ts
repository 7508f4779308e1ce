// Alert partition leases against a real 3-node JetStream cluster: one owner per partition, a
// standby takes over a silent owner's partitions after the ttl (and never before), the old owner
// is told it lost them, a graceful stop hands over at once, maxOwned spreads partitions.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { openLeaseBucket, startPartitionLeases, type PartitionLeases } from '../../../ingest/alerts/partition-lease.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../../support/nats-cluster.ts';

let cluster: TestNatsCluster;
const connections: NatsConnection[] = [];
const running: PartitionLeases[] = [];

beforeAll(async () => {
  cluster = await startTestNatsCluster();
});

// A failed test must not leave its evaluators renewing leases under the next one.
afterEach(async () => {
  for (const l of running.splice(0)) await l.stop().catch(() => undefined);
});

afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => undefined);
  await cluster?.close();
});

async function evaluator(name: string, opts: { partitions: number; ttlMs: number; maxOwned?: number }, server = 0) {
  const nc = await connect({ servers: cluster.urls[server]! });
  connections.push(nc);
  const kv: KV = await openLeaseBucket(nc);
  const events: string[] = [];
  const leases: PartitionLeases = await startPartitionLeases(kv, {
    owner: name,
    ...opts,
    onAcquired: (p) => events.push(`+${p}`),
    onLost: (p) => events.push(`-${p}`),
  });
  running.push(leases);
  return { nc, leases, events };
}

const waitFor = async (cond: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

it('one owner per partition; the standby takes over a silent owner after the ttl, not before', async () => {
  const opts = { partitions: 4, ttlMs: 1000 };
  const a = await evaluator('eval-a', opts, 0);
  await waitFor(() => a.leases.owned().length === 4, 5000, 'a to own every partition');
  const b = await evaluator('eval-b', opts, 2);
  // Well past the ttl with a renewing owner: the standby gets nothing.
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    expect(b.leases.owned()).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
  }

  // The owner goes silent (its connection is gone: a crash, as far as the cluster can tell).
  await a.nc.close();
  const silentAt = Date.now();
  await waitFor(() => b.leases.owned().length === 4, 5000, 'b to take every partition');
  // the standby counts the ttl from the last renewal it saw: at most one renewal period (ttl/3) before the silence
  expect(Date.now() - silentAt).toBeGreaterThanOrEqual(opts.ttlMs - opts.ttlMs / 3);
  await waitFor(() => a.leases.owned().length === 0, 3000, 'a to learn it lost them');
  expect(a.events.filter((e) => e.startsWith('-')).sort()).toEqual(['-0', '-1', '-2', '-3']);
  expect(b.events.sort()).toEqual(['+0', '+1', '+2', '+3']);

  // A graceful stop hands over at once (well within the ttl).
  const c = await evaluator('eval-c', { partitions: 4, ttlMs: 60_000 }, 1);
  const stoppedAt = Date.now();
  await b.leases.stop();
  await waitFor(() => c.leases.owned().length === 4, 5000, 'c to take over after the stop');
  expect(Date.now() - stoppedAt).toBeLessThan(5_000); // not after its 60 s ttl
  await c.leases.stop();
  await a.leases.stop();
});

it('maxOwned spreads the partitions over evaluators', async () => {
  const opts = { partitions: 4, ttlMs: 1000, maxOwned: 2 };
  const x = await evaluator('eval-x', opts, 0);
  const y = await evaluator('eval-y', opts, 1);
  await waitFor(() => x.leases.owned().length + y.leases.owned().length === 4, 5000, 'every partition owned').catch((err: Error) => {
    throw new Error(`${err.message}: x ${x.events.join(' ')} y ${y.events.join(' ')}`);
  });
  expect(x.leases.owned().length).toBe(2);
  expect(new Set([...x.leases.owned(), ...y.leases.owned()]).size).toBe(4);
  await x.leases.stop();
  await y.leases.stop();
});

it('maxOwned does not hold back failover: a survivor takes the partitions of a silent evaluator and of one that stopped', async () => {
  const opts = { partitions: 4, ttlMs: 1000, maxOwned: 2 };
  const x = await evaluator('eval-x2', opts, 0);
  await waitFor(() => x.leases.owned().length === 2, 5000, 'x owns its share');
  const y = await evaluator('eval-y2', opts, 1);
  await waitFor(() => y.leases.owned().length === 2, 5000, 'y owns the rest');
  await y.leases.stop(); // handed over
  await waitFor(() => x.leases.owned().length === 4, 5000, 'x takes the partitions y handed over').catch((err: Error) => {
    throw new Error(`${err.message}: x ${x.events.join(' ')}`);
  });
  await x.leases.stop();
});

it('contenders starting together never both own a partition, even where the server lets two compare-and-sets on one revision through (nats-server#4320)', async () => {
  // Who owns what, in the order the evaluators said so (they share this process's clock).
  const holders = new Map<number, Set<string>>();
  const overlaps: string[] = [];
  const opts = { partitions: 16, ttlMs: 1200 };
  const first = await connect({ servers: cluster.urls[0]! });
  connections.push(first);
  await openLeaseBucket(first); // created once, before the contenders open it together
  for (let attempt = 0; attempt < 2; attempt++) {
    const names = Array.from({ length: 8 }, (_, i) => `race-${attempt}-${i}`);
    const connsAndKvs = await Promise.all(
      names.map(async (_, i) => {
        const nc = await connect({ servers: cluster.urls[i % cluster.urls.length]! });
        connections.push(nc);
        return openLeaseBucket(nc);
      }),
    );
    const started = await Promise.all(
      names.map((name, i) =>
        startPartitionLeases(connsAndKvs[i]!, {
          owner: name,
          ...opts,
          onAcquired: (p) => {
            const set = holders.get(p) ?? new Set<string>();
            if (set.size > 0) overlaps.push(`p${p}: ${name} while ${[...set].join(', ')}`);
            holders.set(p, set.add(name));
          },
          onLost: (p) => void holders.get(p)?.delete(name),
        }),
      ),
    );
    running.push(...started);
    await waitFor(() => started.reduce((n, l) => n + l.owned().length, 0) === 16, 10_000, 'every partition owned');
    await new Promise((r) => setTimeout(r, 1000)); // a few renewal rounds
    // Every partition has exactly one owner, and the owners agree with what they were told.
    const owners = new Map<number, string[]>();
    started.forEach((l, i) => l.owned().forEach((p) => owners.set(p, [...(owners.get(p) ?? []), names[i]!])));
    expect([...owners.values()].every((o) => o.length === 1)).toBe(true);
    for (const l of running.splice(0)) await l.stop();
  }
  expect(overlaps).toEqual([]);
}, 60_000);
