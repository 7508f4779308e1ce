// Cluster credentials: two brokers (two edges), each watching the KV bucket through a different
// nats-server of a real 3-node cluster. `npm run gateways` with NATS_URL adds a gateway that can
// connect to both; revoking it ends the live sessions on both within a second (the brokers' own
// periodic check is set to a minute here, so only the watch can do it) and refuses reconnects.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Broker } from '../../broker/create-broker.ts';
import { createKvCredentialStore, openCredentialsBucket, type KvCredentialStore } from '../../broker/kv-credentials.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';
import { startTestBroker } from '../support/test-broker.ts';

const GATEWAYS_CLI = fileURLToPath(new URL('../../ops/gateways.ts', import.meta.url));

let cluster: TestNatsCluster;
let dataDir: string;
const edges: { nc: NatsConnection; store: KvCredentialStore; broker: Broker }[] = [];

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  dataDir = mkdtempSync(join(tmpdir(), 'quantrac-kvcred-'));
  for (const url of [cluster.urls[0]!, cluster.urls[2]!]) {
    const nc = await connect({ servers: url });
    const store = await createKvCredentialStore(await openCredentialsBucket(nc));
    const broker = await startTestBroker({ credentials: store, credentialsCheckMs: 60_000 });
    edges.push({ nc, store, broker });
  }
});

afterAll(async () => {
  for (const e of edges) {
    await e.broker.close();
    await e.store.close();
    await e.nc.close();
  }
  await cluster?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function gatewaysCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [GATEWAYS_CLI, ...args], {
    env: { ...process.env, DATA_DIR: dataDir, NATS_URL: cluster.urls.join(','), LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Connects; resolves with the CONNACK return code (0 = accepted) and the client. */
function connectTo(broker: Broker, id: string, password: string): Promise<{ code: number; client: mqtt.MqttClient }> {
  return new Promise((resolve) => {
    const client = mqtt.connect({ host: '127.0.0.1', port: broker.port(), clientId: id, username: id, password, reconnectPeriod: 0, protocolVersion: 4 });
    client.once('connect', () => resolve({ code: 0, client }));
    client.once('error', (err) => resolve({ code: (err as { code?: number }).code ?? -1, client }));
  });
}

it('a gateway added with npm run gateways connects to every edge; revoked, its sessions end everywhere within a second', async () => {
  const added = gatewaysCli('add', 'gw-kv-01');
  expect(added.status, added.stderr).toBe(0);
  const password = added.stdout.trim();
  expect(password.length).toBeGreaterThan(10);

  const sessions = await Promise.all(edges.map((e) => connectTo(e.broker, 'gw-kv-01', password)));
  expect(sessions.map((s) => s.code)).toEqual([0, 0]);
  expect((await connectTo(edges[1]!.broker, 'gw-kv-01', 'wrong')).code).toBe(4);
  const closed = sessions.map((s) => new Promise<number>((r) => s.client.once('close', () => r(Date.now()))));

  const listed = gatewaysCli('list');
  expect(listed.stdout).toMatch(/^gw-kv-01\tgateway\tcreated /m);
  expect(listed.stdout).not.toContain(password);

  const revoked = gatewaysCli('revoke', 'gw-kv-01');
  expect(revoked.status, revoked.stderr).toBe(0);
  const revokedAt = Date.now();
  const closedAt = await Promise.race([Promise.all(closed), new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
  expect(closedAt, 'both sessions closed').toBeDefined();
  expect(Math.max(...closedAt!) - revokedAt).toBeLessThan(1000);
  for (const e of edges) expect((await connectTo(e.broker, 'gw-kv-01', password)).code).toBe(4);
  for (const s of sessions) s.client.end(true);
});
