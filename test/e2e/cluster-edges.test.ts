// Set test of the cluster's front half against the real engine: a gateway publishes sequenced
// QoS 1 readings through HAProxy to two edge processes (QUANTRAC_ROLE=edge) on a 3-node JetStream
// cluster, while the test SIGKILLs the edge holding its session (the gateway reconnects through
// HAProxy to the other edge and resends) and then the nats-server leading the stream. Afterwards
// every acknowledged (station, seq) is in the replicated log exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addCredential } from '../../broker/credential-admin.ts';
import { kvCredentialUpdater, openCredentialsBucket } from '../../broker/kv-credentials.ts';
import { LOG_DEFAULTS } from '../../ingest/log/jetstream-log.ts';
import { createJetStreamReader } from '../../ingest/log/jetstream-reader.ts';
import { decodeRecord } from '../../ingest/log/records.ts';
import { freePort } from '../../ops/local-influxd.ts';
import { startLocalHaproxy, type LocalHaproxy } from '../../ops/local-haproxy.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';
import { startPublisher } from '../support/publisher.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

let cluster: TestNatsCluster;
let nc: NatsConnection;
let dir: string;
let haproxy: LocalHaproxy;
let password: string;
const edges: { name: string; port: number; proc: ServerProcess }[] = [];

const edgeEnv = (port: number) => ({
  QUANTRAC_ROLE: 'edge',
  NATS_URL: cluster.urls.join(','),
  MQTT_HOST: '127.0.0.1',
  MQTT_PORT: String(port),
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  MQTT_PROXY_PROTOCOL: 'true',
  DATA_DIR: dir,
  LOG_LEVEL: 'warn',
});

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  dir = mkdtempSync(join(tmpdir(), 'quantrac-cluster-edges-'));
  nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const kv = await openCredentialsBucket(nc);
  password = await addCredential({ credentialsPath: join(dir, 'unused.json'), audit: createAuditLog(join(dir, 'audit.jsonl')), actor: 'test', update: kvCredentialUpdater(kv) }, 'gw-air-01');
  for (const name of ['e1', 'e2']) {
    const port = await freePort();
    edges.push({ name, port, proc: await startServerProcess(edgeEnv(port)) });
  }
  haproxy = await startLocalHaproxy({ dir, bindHost: '127.0.0.1', port: await freePort(), edges: edges.map((e) => ({ name: e.name, host: '127.0.0.1', port: e.port })) });
}, 60_000);

afterAll(async () => {
  await haproxy?.stop();
  for (const e of edges) {
    if (e.proc.child.exitCode === null && e.proc.child.signalCode === null) e.proc.child.kill('SIGTERM');
    await e.proc.exited;
  }
  await nc?.close();
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function appendedBy(e: (typeof edges)[number]): Promise<number> {
  try {
    const res = await fetch(`${e.proc.http}/healthz`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { appended: number }).appended;
  } catch {
    return -1;
  }
}

const waitFor = async (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

it('every acknowledged reading is in the log exactly once across SIGKILL of an edge and of the stream leader', async () => {
  const stations = ['air-001', 'air-002'];
  const countPerStation = 6000;
  const publisher = startPublisher({
    url: `mqtt://127.0.0.1:${haproxy.port}`,
    gateways: [{ gatewayId: 'gw-air-01', password, stations: stations.map((id) => ({ id, values: (seq) => ({ pm25: 10 + (seq % 50) }) })) }],
    countPerStation,
    inflight: 32,
    baseMs: Date.now() - 3_600_000,
  });
  try {
    // (b) the edge holding the gateway's session dies
    await waitFor(() => publisher.acked.size >= 2000, 30_000, '2000 acknowledged readings');
    const counts = await Promise.all(edges.map(appendedBy));
    const holder = edges[counts[0]! >= counts[1]! ? 0 : 1]!;
    holder.proc.child.kill('SIGKILL');
    await holder.proc.exited;
    const atEdgeKill = publisher.acked.size;

    // (a) the nats-server leading the stream dies, once the gateway is back through the other edge
    await waitFor(() => publisher.acked.size >= atEdgeKill + 2000, 30_000, 'acknowledgements through the surviving edge');
    const jsm = await jetstreamManager(nc);
    const leader = cluster.server((await jsm.streams.info(LOG_DEFAULTS.stream)).cluster?.leader ?? '');
    expect(leader).toBeDefined();
    await leader!.kill();
    const atLeaderKill = publisher.acked.size;
    await waitFor(() => publisher.acked.size >= atLeaderKill + 2000 || publisher.acked.size === stations.length * countPerStation, 40_000, 'acknowledgements after the leader change');
    await publisher.stop();
    await leader!.restart();
  } finally {
    await publisher.stop();
  }

  // Everything the log holds, by (station, seq)
  const reader = await createJetStreamReader(nc, { stream: LOG_DEFAULTS.stream });
  const end = (await (await jetstreamManager(nc)).streams.info(LOG_DEFAULTS.stream)).state.last_seq + 1;
  const stored = new Map<string, number>();
  let pos = 1;
  const deadline = Date.now() + 20_000;
  while (pos < end && Date.now() < deadline) {
    const { entries, next } = await reader.read(pos, 2000);
    for (const e of entries) {
      const r = decodeRecord(e.body);
      if (r.type !== 'publish') continue;
      const { seq } = JSON.parse(r.publish.payload.toString()) as { seq: number };
      const key = `${r.publish.topic.split('/')[1]}#${seq}`;
      stored.set(key, (stored.get(key) ?? 0) + 1);
    }
    pos = next;
    if (entries.length === 0) await Promise.race([reader.waitBeyond(pos), new Promise((r) => setTimeout(r, 200))]);
  }
  await reader.close();
  // A reader that did not reach the end stalled: what it did not read is not missing from the log.
  expect(pos, 'the reader of the log stalled').toBeGreaterThanOrEqual(end);

  const missing = [...publisher.acked].filter((k) => !stored.has(k));
  const twice = [...stored].filter(([, n]) => n > 1).map(([k]) => k);
  expect(publisher.acked.size).toBeGreaterThan(6000);
  expect({ missing: missing.slice(0, 10), missingCount: missing.length, twice: twice.slice(0, 10) }).toEqual({ missing: [], missingCount: 0, twice: [] });
}, 150_000);
