// `npm run cluster`: a complete local cluster on one machine — 3 nats-server (JetStream, R3),
// HAProxy on MQTT_PORT, 2 MQTT edges (QUANTRAC_ROLE=edge), the private influxd (or INFLUX_URL)
// and the simulator through HAProxy unless SIM=off — prints where to look, writes
// DATA_DIR/cluster.json, and stops everything on Ctrl-C/SIGTERM. `npm run cluster -- status`
// prints each member's role, pid, health and alert partitions as JSON (ops/cluster-status.ts).
//
// Not yet here (issue 12, in progress): the readings/writer, alerts and api roles, which reuse
// the embedded server's log consumers once they run off a LogReader; until then readings are
// acknowledged and stored on a quorum of the JetStream cluster but not written to InfluxDB.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { ensureSimulatorCredentials } from '../broker/ensure-credentials.ts';
import { kvCredentialUpdater, openCredentialsBucket, readKvCredentials } from '../broker/kv-credentials.ts';
import { loadRegistry } from '../contracts/stations.ts';
import { ensureJetStreamLog } from '../ingest/log/jetstream-log.ts';
import { createAuditLog } from '../server/audit-log.ts';
import { printClusterStatus, type ClusterFile, type ClusterMember } from './cluster-status.ts';
import { freePort, startLocalInfluxd, type LocalInfluxd } from './local-influxd.ts';
import { startLocalHaproxy, type LocalHaproxy } from './local-haproxy.ts';
import { startLocalNatsCluster, type LocalNatsCluster, type NatsSyncInterval } from './local-nats.ts';
import { stopChild } from './stop-child.ts';

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(process.env.DATA_DIR ?? join(root, '.data'));
const clusterDir = join(dataDir, 'cluster');
const clusterFile = join(dataDir, 'cluster.json');
const EDGES = 2;

const children: { name: string; child: ChildProcess }[] = [];
let nats: LocalNatsCluster | undefined;
let haproxy: LocalHaproxy | undefined;
let influxd: LocalInfluxd | undefined;
let stopping: Promise<number> | undefined;

const say = (line: string) => process.stdout.write(`${line}\n`);

async function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    say('\nquantrac cluster: stopping…');
    let failed = false;
    for (const { child } of [...children].reverse()) {
      if (child.exitCode === null && child.signalCode === null && !(await stopChild(child))) failed = true;
    }
    await haproxy?.stop();
    await nats?.stop();
    await influxd?.stop();
    say(failed ? 'quantrac cluster: stopped (a part did not stop cleanly, see above).' : 'quantrac cluster: stopped.');
    return failed ? 1 : code;
  })();
  process.exit(await stopping);
}

function watch(name: string, child: ChildProcess): void {
  children.push({ name, child });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    say(`quantrac cluster: ${name} exited (${signal ?? `code ${code}`}); the others go on (a cluster survives one lost member). Ctrl-C stops all.`);
  });
}

async function startEdge(name: string, port: number, env: NodeJS.ProcessEnv): Promise<{ mqtt: string; http: string; pid: number }> {
  const child = fork(join(root, 'server/main.ts'), [], {
    env: { ...env, QUANTRAC_ROLE: 'edge', MQTT_HOST: '127.0.0.1', MQTT_PORT: String(port), HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', MQTT_PROXY_PROTOCOL: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  watch(name, child);
  const ready = await new Promise<{ mqtt: string; http: string }>((ok, fail) => {
    child.once('message', (m) => ok(m as { mqtt: string; http: string }));
    child.once('exit', () => fail(new Error(`${name} stopped before it was ready`)));
  });
  return { ...ready, pid: child.pid ?? -1 };
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  mkdirSync(clusterDir, { recursive: true });
  const members: ClusterMember[] = [];

  let influxUrl = process.env.INFLUX_URL;
  if (!influxUrl) {
    influxd = await startLocalInfluxd({ dir: join(dataDir, 'influxdb'), preferredHttpPort: 8086 });
    influxUrl = influxd.url;
    members.push({ name: 'influxd', role: 'influxdb', pid: influxd.pid, health: `${influxd.url}/ping` });
  }

  say('quantrac cluster: starting 3 nats-server (JetStream)…');
  nats = await startLocalNatsCluster({ dir: join(clusterDir, 'nats'), preferredClientPort: 4222, syncInterval: (process.env.NATS_SYNC_INTERVAL ?? 'default') as NatsSyncInterval });
  for (const s of nats.servers) members.push({ name: s.name, role: 'nats', pid: s.pid(), url: s.url, health: `${s.monitorUrl}/healthz` });
  const natsUrl = nats.urls.join(',');
  const nc = await connect({ servers: [...nats.urls], name: 'quantrac-cluster-setup' });
  await ensureJetStreamLog(nc);
  const kv = await openCredentialsBucket(nc);

  const registry = loadRegistry(process.env.REGISTRY_PATH);
  const simOn = (process.env.SIM ?? 'on').toLowerCase() !== 'off';
  const simCredentialsPath = join(dataDir, 'sim-credentials.json');
  let simStations = registry.stations;
  if (simOn) {
    const gatewayIds = [...new Set(registry.stations.map((s) => s.gatewayId))];
    const sim = await ensureSimulatorCredentials(join(dataDir, 'gateways.json'), gatewayIds, {
      simCredentialsPath,
      audit: createAuditLog(join(dataDir, 'audit.jsonl')),
      store: { read: () => readKvCredentials(kv), update: kvCredentialUpdater(kv) },
    });
    simStations = registry.stations.filter((s) => Object.hasOwn(sim.passwords, s.gatewayId));
  }
  await nc.close();

  const env = { ...process.env, NATS_URL: natsUrl, INFLUX_URL: influxUrl, DATA_DIR: dataDir };
  const edges: { name: string; host: string; port: number }[] = [];
  for (let i = 1; i <= EDGES; i++) {
    const name = `edge-${i}`;
    const port = await freePort();
    const edge = await startEdge(name, port, env);
    edges.push({ name, host: '127.0.0.1', port });
    members.push({ name, role: 'edge', pid: edge.pid, url: edge.mqtt, health: `${edge.http}/healthz` });
  }
  const bindHost = process.env.MQTT_HOST ?? '0.0.0.0';
  const mqttPort = Number(process.env.MQTT_PORT ?? 1883);
  haproxy = await startLocalHaproxy({ dir: clusterDir, bindHost, port: mqttPort, edges });
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  members.push({ name: 'haproxy', role: 'balancer', pid: haproxy.pid, url: mqttUrl });

  if (simOn && simStations.length > 0) {
    const only = simStations.length < registry.stations.length ? ['--stations', simStations.map((s) => s.id).join(',')] : [];
    const sim = spawn(process.execPath, [join(root, 'sensors-sim/main.ts'), '--url', mqttUrl, '--credentials', simCredentialsPath, ...only], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    watch('simulator', sim);
    members.push({ name: 'simulator', role: 'simulator', pid: sim.pid ?? -1 });
  }

  const file: ClusterFile = { startedAt: new Date().toISOString(), natsUrl, mqtt: mqttUrl, influxUrl, members };
  writeFileSync(clusterFile, `${JSON.stringify(file, null, 2)}\n`);
  say(`
quantrac cluster is running.
  MQTT (HAProxy, sticky by client id)  ${mqttUrl}   → ${edges.map((e) => `${e.name} :${e.port}`).join(', ')}
  JetStream (3 servers, R3 log)        ${natsUrl}
  InfluxDB                             ${influxUrl}
  Simulator                            ${simOn ? `on: ${simStations.length} stations through HAProxy` : 'off (SIM=off)'}
  Members (roles, pids, ports)         ${clusterFile}
  Status                               npm run cluster -- status
  Gateways                             NATS_URL=${natsUrl} npm run gateways -- add <id>
Not yet in cluster mode: the writer, alerts and API roles (readings are stored on the JetStream
quorum, not yet written to InfluxDB). Press Ctrl-C to stop.
`);
}

if (process.argv[2] === 'status') {
  printClusterStatus(clusterFile).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
} else {
  main().catch(async (err: unknown) => {
    say(`quantrac cluster: could not start: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
  });
}
