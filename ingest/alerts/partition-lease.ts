// Exactly one active alert evaluator per partition of stations, through leases in a replicated
// JetStream KV bucket. A lease is a key `p{n}` holding {owner, renewedAt}; every write is a
// compare-and-set on the key's revision, so two evaluators can never both take the same lease.
// Expiry is judged on the standby's own clock: it takes over a lease whose revision has not moved
// for `ttlMs` since it last saw it change — no clock comparison between machines.
//
// nats-server before 2.9.21 (Debian 12 ships 2.9.10) checks the expected revision outside its Raft
// log (nats-server#4320): two compare-and-sets on one revision arriving together can both succeed.
// So a write is trusted only once it is still the key's latest revision `settleMs` later (the race
// window is milliseconds, a cross-machine round trip at most): a taker whose write was overtaken
// does not start, and an owner whose renewal was overtaken stops. Anything two owners could still
// do in that moment is idempotent downstream (alert events carry a Nats-Msg-Id; InfluxDB keeps a
// re-written point once).
//
//   owner: renew every ttl/3 (CAS on its last revision) ── fails ──▶ lost: stop evaluating at once
//   standby: watch revisions ── unchanged for ttl ──▶ CAS take over ──▶ rebuild from the log
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';

export const LEASE_BUCKET = 'quantrac_alert_leases';
/** The same leases for the writer role's log partitions (server/roles/writer.ts). */
export const WRITER_LEASE_BUCKET = 'quantrac_writer_leases';

export interface LeaseOptions {
  /** This evaluator's name (unique in the cluster; shown in `npm run cluster -- status`). */
  readonly owner: string;
  readonly partitions: number;
  /** How long an owner may be silent before a standby takes its partitions, ms. */
  readonly ttlMs: number;
  /**
   * At most this many free partitions taken (spreads work over several evaluators); default all.
   * A partition handed over or left by a holder this evaluator saw is taken regardless: failover
   * has no cap.
   */
  readonly maxOwned?: number;
  readonly onAcquired: (partition: number) => void;
  /** The lease is gone (a renewal lost the race, or stop()): stop acting for the partition now. */
  readonly onLost: (partition: number) => void;
  readonly now?: () => number;
  /** How long after a write its revision must still be the latest before it is trusted, ms (default 250, at most ttl/4). */
  readonly settleMs?: number;
}

export interface PartitionLeases {
  owned(): number[];
  stop(): Promise<void>;
}

export async function openLeaseBucket(nc: NatsConnection, replicas = 3): Promise<KV> {
  return new Kvm(nc).create(LEASE_BUCKET, { replicas, history: 1 });
}

interface Seen {
  revision: number;
  /** Local time at which this revision was first seen. */
  sinceMs: number;
  owner: string | undefined;
}

export async function startPartitionLeases(kv: KV, o: LeaseOptions): Promise<PartitionLeases> {
  const now = o.now ?? Date.now;
  const seen = new Map<number, Seen>();
  const owned = new Map<number, number>(); // partition → our revision
  const key = (p: number) => `p${p}`;
  const value = () => JSON.stringify({ owner: o.owner, renewedAt: new Date(now()).toISOString() });
  let stopped = false;
  const settleMs = Math.min(o.settleMs ?? 250, Math.floor(o.ttlMs / 4));
  const settle = () => new Promise((r) => setTimeout(r, settleMs));
  /** True when `revision` is still the key's latest (see the header: nats-server#4320). */
  const stillLatest = async (p: number, revision: number): Promise<boolean> => {
    const e = await kv.get(key(p));
    return e?.revision === revision && e.operation === 'PUT';
  };

  const lose = (p: number) => {
    if (owned.delete(p)) o.onLost(p);
  };
  /** A lease written by this evaluator: owned, and started, once the write has settled. */
  const take = async (p: number, revision: number): Promise<void> => {
    await settle();
    if (!(await stillLatest(p, revision).catch(() => false))) return; // overtaken by a concurrent taker (or not known yet: next round)
    owned.set(p, revision);
    o.onAcquired(p);
  };

  const round = async () => {
    // Renewals first and all at once: on a loaded machine, sixteen renewals one after the other
    // can outlast the ttl and hand the partitions to the standby for nothing.
    await Promise.all(
      [...owned].map(async ([p, mine]) => {
        try {
          const revision = await kv.update(key(p), value(), mine);
          owned.set(p, revision);
          await settle();
          // A concurrent taker's write won; a check that cannot be made (an election) keeps the lease.
          if (owned.get(p) === revision && !(await stillLatest(p, revision).catch(() => true))) lose(p);
        } catch {
          lose(p); // another evaluator won the compare-and-set, or the cluster is electing
        }
      }),
    );
    const takes: Promise<void>[] = []; // settled together: a failover of many partitions waits once
    for (let p = 0; p < o.partitions && !stopped; p++) {
      const mine = owned.get(p);
      if (mine !== undefined) continue;
      try {
        const e = await kv.get(key(p));
        if (!e || e.operation !== 'PUT') {
          // Free since before we looked: spread. Handed over by a holder we saw: take it (failover).
          if (owned.size + takes.length >= (o.maxOwned ?? o.partitions) && seen.get(p)?.owner === undefined) continue;
          takes.push(take(p, e ? await kv.update(key(p), value(), e.revision) : await kv.create(key(p), value())));
          continue;
        }
        const last = seen.get(p);
        if (!last || last.revision !== e.revision) {
          const holder = (JSON.parse(Buffer.from(e.value).toString('utf8')) as { owner?: string }).owner;
          seen.set(p, { revision: e.revision, sinceMs: now(), owner: holder });
          continue;
        }
        if (now() - last.sinceMs < o.ttlMs) continue;
        takes.push(take(p, await kv.update(key(p), value(), e.revision))); // the holder went silent
      } catch {
        // Another evaluator won the compare-and-set, or the cluster is electing: try again next round.
      }
    }
    await Promise.all(takes);
  };

  let running = round();
  let queued = false;
  // At most one round waits behind the running one (a round takes at least settleMs).
  const soon = () => {
    if (stopped || queued) return;
    queued = true;
    running = running.then(() => {
      queued = false;
      return round();
    });
  };
  const timer = setInterval(soon, Math.max(50, Math.floor(o.ttlMs / 3)));
  // A lease given up on purpose (an owner's stop) is taken at once, not at the next round.
  const watch = await kv.watch();
  void (async () => {
    for await (const e of watch) {
      if (e.operation !== 'PUT') {
        soon();
        continue;
      }
      // Every holder seen, even one that held a partition for less than a round (maxOwned).
      const p = Number(e.key.slice(1));
      const holder = (JSON.parse(Buffer.from(e.value).toString('utf8')) as { owner?: string }).owner;
      if (holder !== o.owner && seen.get(p)?.revision !== e.revision) seen.set(p, { revision: e.revision, sinceMs: now(), owner: holder });
    }
  })();

  return {
    owned: () => [...owned.keys()].sort((a, b) => a - b),
    async stop() {
      stopped = true;
      clearInterval(timer);
      watch.stop();
      await running;
      // Hand the partitions over at once instead of after the ttl: delete our leases (CAS).
      for (const [p, revision] of owned) {
        await kv.delete(key(p), { previousSeq: revision }).catch(() => undefined);
        lose(p);
      }
    },
  };
}
