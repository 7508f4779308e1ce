// `npm run cluster -- status`: each member of the local cluster (DATA_DIR/cluster.json) with its
// role, pid, whether the process lives, its health check, and the log partitions it owns — an
// alert evaluator's (quantrac_alert_leases) and a writer's (quantrac_writer_leases) — as JSON.
import { existsSync, readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { LEASE_BUCKET, WRITER_LEASE_BUCKET } from '../ingest/alerts/partition-lease.ts';

export interface ClusterMember {
  readonly name: string;
  readonly role: string;
  readonly pid: number;
  readonly url?: string;
  /** An HTTP URL that answers 2xx when the member is healthy. */
  readonly health?: string;
}

export interface ClusterFile {
  readonly startedAt: string;
  readonly natsUrl: string;
  readonly mqtt: string;
  readonly influxUrl: string;
  readonly members: readonly ClusterMember[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function healthOf(m: ClusterMember): Promise<string> {
  if (!alive(m.pid)) return 'dead';
  if (!m.health) return 'running';
  try {
    const res = await fetch(m.health, { signal: AbortSignal.timeout(1500) });
    return res.ok ? 'healthy' : `unhealthy (${res.status})`;
  } catch (err) {
    return `unhealthy (${(err as Error).message})`;
  }
}

/** owner → partitions, from a lease bucket; empty when no process of that role has run. */
async function leasedPartitions(natsUrl: string, bucket: string): Promise<Record<string, number[]>> {
  const nc = await connect({ servers: natsUrl.split(','), timeout: 2000 });
  try {
    const kv = await new Kvm(nc).open(bucket).catch(() => undefined);
    const owners: Record<string, number[]> = {};
    if (!kv) return owners;
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (!e || e.operation !== 'PUT') continue;
      const owner = (JSON.parse(Buffer.from(e.value).toString('utf8')) as { owner: string }).owner;
      (owners[owner] ??= []).push(Number(key.slice(1)));
    }
    return owners;
  } finally {
    await nc.close();
  }
}

export async function printClusterStatus(path: string): Promise<number> {
  if (!existsSync(path)) {
    process.stderr.write(`no cluster file at ${path}: is \`npm run cluster\` running (same DATA_DIR)?\n`);
    return 1;
  }
  const file = JSON.parse(readFileSync(path, 'utf8')) as ClusterFile;
  const none = () => ({}) as Record<string, number[]>;
  const alerts = await leasedPartitions(file.natsUrl, LEASE_BUCKET).catch(none);
  const writers = await leasedPartitions(file.natsUrl, WRITER_LEASE_BUCKET).catch(none);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const members = await Promise.all(
    file.members.map(async (m) => ({
      ...m,
      health: await healthOf(m),
      ...(alerts[m.name] ? { alertPartitions: sorted(alerts[m.name]!) } : {}),
      ...(writers[m.name] ? { writerPartitions: sorted(writers[m.name]!) } : {}),
    })),
  );
  process.stdout.write(`${JSON.stringify({ startedAt: file.startedAt, mqtt: file.mqtt, natsUrl: file.natsUrl, members }, null, 2)}\n`);
  return members.every((m) => m.health === 'healthy' || m.health === 'running') ? 0 : 3;
}
