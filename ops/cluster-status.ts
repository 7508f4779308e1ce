// `npm run cluster -- status`: each member of the local cluster (DATA_DIR/cluster.json) with its
// role, pid, whether the process lives, its health check, and the alert partitions it owns (the
// leases in the quantrac_alert_leases KV bucket), as JSON on stdout.
import { existsSync, readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { LEASE_BUCKET } from '../ingest/alerts/partition-lease.ts';

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

/** owner → partitions, from the lease bucket; empty when no alert evaluator has run. */
async function alertPartitions(natsUrl: string): Promise<Record<string, number[]>> {
  const nc = await connect({ servers: natsUrl.split(','), timeout: 2000 });
  try {
    const kv = await new Kvm(nc).open(LEASE_BUCKET).catch(() => undefined);
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
  const partitions = await alertPartitions(file.natsUrl).catch(() => ({}) as Record<string, number[]>);
  const members = await Promise.all(
    file.members.map(async (m) => ({ ...m, health: await healthOf(m), ...(partitions[m.name] ? { alertPartitions: partitions[m.name]!.sort((a, b) => a - b) } : {}) })),
  );
  process.stdout.write(`${JSON.stringify({ startedAt: file.startedAt, mqtt: file.mqtt, natsUrl: file.natsUrl, members }, null, 2)}\n`);
  return members.every((m) => m.health === 'healthy' || m.health === 'running') ? 0 : 3;
}
