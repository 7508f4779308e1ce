// `npm run bench -- --cluster`: acknowledged readings/s of the local cluster (HAProxy → 2 edges →
// JetStream R3 on 3 nats-server, all on this machine) beside the embedded pipeline and the bare
// broker, with the same publishers and readings in the same run. Stored readings/s and alert
// latency in cluster mode need the writer and alerts roles, not built yet: reported as such.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { ensureSimulatorCredentials } from '../broker/ensure-credentials.ts';
import { kvCredentialUpdater, openCredentialsBucket, readKvCredentials } from '../broker/kv-credentials.ts';
import { ensureJetStreamLog } from '../ingest/log/jetstream-log.ts';
import { freePort } from '../ops/local-influxd.ts';
import { startLocalHaproxy } from '../ops/local-haproxy.ts';
import { startLocalNatsCluster } from '../ops/local-nats.ts';
import { stopChild } from '../ops/stop-child.ts';
import type { IngestBenchOptions, RateResult } from './ingest.ts';
import { prepareLoad, publishLoad } from './publishers.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Acknowledged readings/s through HAProxy and two edges into the replicated log. */
export async function benchClusterAcked(o: IngestBenchOptions, edgeCount = 2): Promise<RateResult & { edges: number }> {
  const dir = join(o.dataDir, 'cluster');
  mkdirSync(dir, { recursive: true });
  const nats = await startLocalNatsCluster({ dir: join(dir, 'nats') });
  const edges: ChildProcess[] = [];
  let haproxy: Awaited<ReturnType<typeof startLocalHaproxy>> | undefined;
  try {
    const nc = await connect({ servers: [...nats.urls] });
    await ensureJetStreamLog(nc);
    const kv = await openCredentialsBucket(nc);
    const gatewayIds = [...new Set(o.registry.stations.map((s) => s.gatewayId))];
    const { passwords } = await ensureSimulatorCredentials(join(dir, 'gateways.json'), gatewayIds, {
      store: { read: () => readKvCredentials(kv), update: kvCredentialUpdater(kv) },
    });
    await nc.close();
    const ports: number[] = [];
    for (let i = 0; i < edgeCount; i++) {
      const port = await freePort();
      ports.push(port);
      const child = fork(join(here, '../server/main.ts'), [], {
        env: { ...process.env, QUANTRAC_ROLE: 'edge', NATS_URL: nats.urls.join(','), MQTT_HOST: '127.0.0.1', MQTT_PORT: String(port), HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', MQTT_PROXY_PROTOCOL: 'true', DATA_DIR: dir, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      edges.push(child);
      await new Promise((ok, fail) => {
        child.once('message', ok);
        child.once('exit', (c) => fail(new Error(`edge exited (${c})`)));
      });
    }
    haproxy = await startLocalHaproxy({ dir, bindHost: '127.0.0.1', port: await freePort(), edges: ports.map((port, i) => ({ name: `e${i + 1}`, host: '127.0.0.1', port })) });
    const load = prepareLoad(o.registry, o.perStation, Date.now() - 60_000);
    const r = await publishLoad(`mqtt://127.0.0.1:${haproxy.port}`, load, {
      windowPerLane: o.windowPerLane,
      credentials: passwords,
      onProgress: (acked, ms) => o.log(`  ${(ms / 1000).toFixed(0)} s: ${acked} acknowledged (cluster)`),
    });
    return { readings: r.acked, seconds: r.elapsedMs / 1000, perS: r.acked / (r.elapsedMs / 1000), edges: edgeCount };
  } finally {
    await haproxy?.stop();
    await Promise.all(edges.map((e) => stopChild(e, 10_000)));
    await nats.stop();
  }
}
