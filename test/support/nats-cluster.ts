// A private 3-node nats-server cluster with JetStream for one test file: free ports, data in a
// temporary folder, stopped (and the folder removed) by the returned stop(). Servers orphaned by
// an earlier run that was killed before its teardown are killed first, as for the test influxd.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import type { AlertEvent } from '../../contracts/alerts.ts';
import { ensureAlertStream, followAlertEvents } from '../../ingest/alerts/event-stream.ts';
import { ensureJetStreamLog } from '../../ingest/log/jetstream-log.ts';
import { startLocalNatsCluster, type LocalNatsCluster } from '../../ops/local-nats.ts';

const DIR_PREFIX = 'quantrac-test-nats-';

/** Test nats-servers whose parent is gone (their config lives under a quantrac-test-nats- folder). */
export function killOrphanNatsServers(): void {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (cmd.startsWith('nats-server') && cmd.includes(DIR_PREFIX) && ppid === 1) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

export interface TestNatsCluster extends LocalNatsCluster {
  readonly dir: string;
  /** Stops every server and removes the data folder. */
  close(): Promise<void>;
}

export async function startTestNatsCluster(size = 3): Promise<TestNatsCluster> {
  killOrphanNatsServers();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const cluster = await startLocalNatsCluster({ dir, size });
  return {
    ...cluster,
    dir,
    async close() {
      await cluster.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Follows the cluster's alert history (QUANTRAC_ALERTS, created if missing) into `into`; returns the stop. */
export async function followAlertHistory(nc: NatsConnection, into: AlertEvent[]): Promise<() => Promise<void>> {
  await ensureAlertStream(nc);
  const follower = await followAlertEvents(nc, (e) => void into.push(e));
  return () => follower.stop();
}

export interface ClusterWithLog {
  readonly cluster: TestNatsCluster;
  readonly nc: NatsConnection;
  close(): Promise<void>;
}

/** A test cluster, one connection to all of it, and the replicated log's stream created. */
export async function startClusterWithLog(): Promise<ClusterWithLog> {
  const cluster = await startTestNatsCluster();
  const nc = await connect({ servers: [...cluster.urls] });
  await ensureJetStreamLog(nc);
  return {
    cluster,
    nc,
    async close() {
      await nc.close();
      await cluster.close();
    },
  };
}

/**
 * One cluster with the log for a whole test file: started before its tests, closed after them.
 * Read `nc` and `cluster` inside the tests (they exist once beforeAll has run).
 */
export function useClusterWithLog(): { readonly nc: NatsConnection; readonly cluster: TestNatsCluster } {
  let bed: ClusterWithLog | undefined;
  beforeAll(async () => {
    bed = await startClusterWithLog();
  }, 60_000);
  afterAll(async () => {
    await bed?.close();
  });
  return {
    get nc() {
      return bed!.nc;
    },
    get cluster() {
      return bed!.cluster;
    },
  };
}
