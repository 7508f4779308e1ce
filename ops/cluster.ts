// `npm run cluster`: a complete local cluster on one machine — 3 nats-server (JetStream, R3),
// HAProxy on MQTT_PORT, 2 MQTT edges, 2 writers, 2 alert evaluators (one active, one standby),
// 1 API on HTTP_PORT (each a QUANTRAC_ROLE of server/main.ts), the private influxd (or
// INFLUX_URL) and the simulator through HAProxy unless SIM=off — prints where to look, writes
// DATA_DIR/cluster.json, and stops everything on Ctrl-C/SIGTERM. `npm run cluster -- status`
// prints each member's role, pid, health and alert partitions as JSON (ops/cluster-status.ts).
// Gateway credentials and officer accounts live in the cluster's KV buckets; it prints how to add them.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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
const WRITERS = 2;
const EVALUATORS = 2;

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

/** One quantrac process in a role: health on a free local port unless `own` says otherwise. */
async function startMember(name: string, role: string, env: NodeJS.ProcessEnv, own: NodeJS.ProcessEnv = {}): Promise<{ mqtt: string; http: string; pid: number }> {
  const child = fork(join(root, 'server/main.ts'), [], {
    env: { ...env, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', ...own, QUANTRAC_ROLE: role, QUANTRAC_NAME: name },
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
    const edge = await startMember(name, 'edge', env, { MQTT_HOST: '127.0.0.1', MQTT_PORT: String(port), MQTT_PROXY_PROTOCOL: 'true' });
    edges.push({ name, host: '127.0.0.1', port });
    members.push({ name, role: 'edge', pid: edge.pid, url: edge.mqtt, health: `${edge.http}/healthz` });
  }
  // Writers share the partitions (a silent writer's are taken by the other); the first alert
  // evaluator takes every partition, the second stands by.
  for (let i = 1; i <= WRITERS; i++) {
    const w = await startMember(`writer-${i}`, 'writer', env, { WRITER_MAX_PARTITIONS: process.env.WRITER_MAX_PARTITIONS ?? String(Math.ceil(16 / WRITERS)) });
    members.push({ name: `writer-${i}`, role: 'writer', pid: w.pid, health: `${w.http}/healthz` });
  }
  for (let i = 1; i <= EVALUATORS; i++) {
    const a = await startMember(`alerts-${i}`, 'alerts', env);
    members.push({ name: `alerts-${i}`, role: 'alerts', pid: a.pid, health: `${a.http}/healthz` });
  }
  const httpPort = Number(process.env.HTTP_PORT ?? 8080);
  const api = await startMember('api-1', 'api', env, { HTTP_HOST: process.env.HTTP_HOST ?? '0.0.0.0', HTTP_PORT: String(httpPort) });
  members.push({ name: 'api-1', role: 'api', pid: api.pid, url: api.http, health: `${api.http}/healthz` });

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

  // Accounts live in the quantrac_users bucket: a users.json left from `npm start` is not read.
  const usersFileLeft = existsSync(join(dataDir, 'users.json'))
    ? `\n  ${join(dataDir, 'users.json')} is not read in cluster mode; copy its accounts: NATS_URL=${natsUrl} npm run users -- import`
    : '';
  const file: ClusterFile = { startedAt: new Date().toISOString(), natsUrl, mqtt: mqttUrl, influxUrl, members };
  writeFileSync(clusterFile, `${JSON.stringify(file, null, 2)}\n`);
  say(`
quantrac cluster is running.
  MQTT (HAProxy, sticky by client id)  ${mqttUrl}   → ${edges.map((e) => `${e.name} :${e.port}`).join(', ')}
  JetStream (3 servers, R3 log)        ${natsUrl}
  API and portal                       ${api.http}
  InfluxDB                             ${influxUrl}
  Simulator                            ${simOn ? `on: ${simStations.length} stations through HAProxy` : 'off (SIM=off)'}
  Members (roles, pids, ports)         ${clusterFile}
  Status                               npm run cluster -- status
  Gateways                             NATS_URL=${natsUrl} npm run gateways -- add <id>
  Officers (KV quantrac_users)         NATS_URL=${natsUrl} npm run users -- add <user> officer${usersFileLeft}
Press Ctrl-C to stop.
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
