// What a cluster role test file starts with: a 3-node test cluster and a connection to it, a data
// folder and an InfluxDB database of its own, gateway gw-air-01's password in the credentials
// bucket, and the settings its role processes share (short lease ttl and snapshots, quick writer
// flushes, free HTTP ports). close() removes all of it; the role processes are the file's to stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { addCredential } from '../../broker/credential-admin.ts';
import { kvCredentialUpdater, openCredentialsBucket } from '../../broker/kv-credentials.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { influxUrl, uniqueDatabase } from './influx.ts';
import { startTestNatsCluster, type TestNatsCluster } from './nats-cluster.ts';
import type { ServerProcess } from './server-process.ts';

export interface ClusterBed {
  readonly cluster: TestNatsCluster;
  readonly nc: NatsConnection;
  readonly dir: string;
  readonly db: string;
  /** gw-air-01's password (its credential is in the cluster's bucket). */
  readonly password: string;
  /** Settings every role process of the file shares. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export async function startClusterBed(name: string): Promise<ClusterBed> {
  const cluster = await startTestNatsCluster();
  const dir = mkdtempSync(join(tmpdir(), `quantrac-cluster-${name}-`));
  const db = uniqueDatabase(name);
  const nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const credentials = { credentialsPath: join(dir, 'unused.json'), audit: createAuditLog(join(dir, 'audit.jsonl')), actor: 'test', update: kvCredentialUpdater(await openCredentialsBucket(nc)) };
  const password = await addCredential(credentials, 'gw-air-01');
  const env = {
    NATS_URL: cluster.urls.join(','),
    INFLUX_URL: influxUrl(),
    INFLUX_DATABASE: db,
    CLUSTER_LEASE_TTL_MS: '1500',
    LOG_SNAPSHOT_EVERY_MS: '1000',
    WRITE_FLUSH_INTERVAL_MS: '50',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
  };
  return {
    cluster,
    nc,
    dir,
    db,
    password,
    env,
    async close() {
      await nc.close();
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A role process's /healthz body, or undefined when it does not answer. */
export async function healthOf(p: ServerProcess): Promise<Record<string, unknown> | undefined> {
  try {
    return (await (await fetch(`${p.http}/healthz`, { signal: AbortSignal.timeout(1000) })).json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
