// Runs one consumer per log partition this process holds the lease of (writer and alerts roles):
// a lease acquired starts the partition's consumer, a lease lost stops it at once. Starts and
// stops of one partition are serialised, so a quick lose-and-retake never runs two consumers.
// A start that fails (the cluster electing a leader after a server died) is tried again while the
// lease is held: the lease stays renewed, so no other process would take the partition over.
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import type { Logger } from 'pino';
import { startPartitionLeases, type PartitionLeases } from '../../ingest/alerts/partition-lease.ts';

export interface PartitionConsumer {
  /** `handedOver`: the lease is gone (another owner may already run): stop without saving. */
  stop(handedOver: boolean): Promise<void>;
}

export interface PartitionRunnerOptions {
  readonly bucket: string;
  readonly owner: string;
  readonly partitions: number;
  readonly ttlMs: number;
  readonly maxOwned?: number | undefined;
  readonly replicas?: number;
  readonly start: (partition: number) => Promise<PartitionConsumer>;
}

export interface PartitionRunner {
  owned(): number[];
  /** Partitions whose consumer is running. */
  running(): number[];
  stop(): Promise<void>;
}

export async function startPartitionRunner(nc: NatsConnection, o: PartitionRunnerOptions, log: Logger): Promise<PartitionRunner> {
  const kv = await new Kvm(nc).create(o.bucket, { replicas: o.replicas ?? 3, history: 1 });
  const consumers = new Map<number, PartitionConsumer>();
  const chains = new Map<number, Promise<void>>();
  const wanted = new Set<number>();
  const retries = new Map<number, NodeJS.Timeout>();
  const startFailures = new Map<number, number>();
  let stopping = false;

  const settle = (p: number) => {
    const next = (chains.get(p) ?? Promise.resolve()).then(async () => {
      const running = consumers.get(p);
      if (wanted.has(p) && !running) {
        try {
          consumers.set(p, await o.start(p));
          startFailures.delete(p);
          log.info({ partition: p, owner: o.owner }, 'partition consumer started');
        } catch (err) {
          const failures = (startFailures.get(p) ?? 0) + 1;
          startFailures.set(p, failures);
          const delayMs = Math.min(250 * 2 ** (failures - 1), 5000);
          log.error({ err, partition: p, failures, retryInMs: delayMs }, 'partition consumer failed to start; trying again while the lease is held');
          if (!stopping && !retries.has(p)) {
            retries.set(p, setTimeout(() => {
              retries.delete(p);
              if (!stopping) settle(p);
            }, delayMs));
          }
        }
      } else if (!wanted.has(p) && running) {
        consumers.delete(p);
        await running.stop(true).catch((err: unknown) => log.warn({ err, partition: p }, 'partition consumer did not stop cleanly'));
        log.info({ partition: p, owner: o.owner }, 'partition consumer stopped (lease lost)');
      }
    });
    chains.set(p, next);
  };

  const leases: PartitionLeases = await startPartitionLeases(kv, {
    owner: o.owner,
    partitions: o.partitions,
    ttlMs: o.ttlMs,
    ...(o.maxOwned ? { maxOwned: o.maxOwned } : {}),
    onAcquired: (p) => {
      wanted.add(p);
      settle(p);
    },
    onLost: (p) => {
      wanted.delete(p);
      settle(p);
    },
  });

  return {
    owned: () => leases.owned(),
    running: () => [...consumers.keys()].sort((a, b) => a - b),
    async stop() {
      // Graceful: each consumer saves its state, then the leases are handed over.
      stopping = true;
      for (const t of retries.values()) clearTimeout(t);
      retries.clear();
      await Promise.all(chains.values());
      for (const [p, c] of consumers) {
        wanted.delete(p);
        await c.stop(false).catch((err: unknown) => log.warn({ err, partition: p }, 'partition consumer did not stop cleanly'));
      }
      consumers.clear();
      await leases.stop();
    },
  };
}
