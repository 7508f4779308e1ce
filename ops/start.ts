// `npm start`: runs the whole pipeline on this machine — a private InfluxDB (unless INFLUX_URL is
// set), the quantrac server (broker, ingest, API, portal) and the simulator (unless SIM=off) —
// prints where to look, and on Ctrl-C or SIGTERM stops everything it started.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadRegistry } from '../contracts/stations.ts';
import { ensureSimulatorCredentials, pruneSimulatorCredentials } from '../broker/ensure-credentials.ts';
import { createAuditLog } from '../server/audit-log.ts';
import { startLocalInfluxd, type LocalInfluxd } from './local-influxd.ts';
import { stopChild } from './stop-child.ts';

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(process.env.DATA_DIR ?? join(root, '.data'));
const children: ChildProcess[] = [];
let influxd: LocalInfluxd | undefined;
let stopping: Promise<number> | undefined;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Stops the children in reverse order, each with SIGTERM (SIGKILL after 15 s), then exits; a
 * second signal (a process-group SIGTERM reaches this process and its children alike) joins the
 * stop under way. Exits 1 when a child did not stop cleanly.
 */
async function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    say('\nquantrac: stopping…');
    let failed = false;
    for (const child of [...children].reverse()) {
      if (child.exitCode === null && child.signalCode === null && !(await stopChild(child))) failed = true;
    }
    await influxd?.stop();
    say(failed ? 'quantrac: stopped (a part did not stop cleanly, see above).' : 'quantrac: stopped.');
    return failed ? 1 : code;
  })();
  process.exit(await stopping);
}

function watch(child: ChildProcess, name: string): void {
  children.push(child);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    say(`quantrac: ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the rest.`);
    void stopAll(1);
  });
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  mkdirSync(dataDir, { recursive: true });

  let influxUrl = process.env.INFLUX_URL;
  if (!influxUrl) {
    say(`quantrac: starting a private InfluxDB (data in ${join(dataDir, 'influxdb')})…`);
    influxd = await startLocalInfluxd({ dir: join(dataDir, 'influxdb'), preferredHttpPort: 8086 });
    influxUrl = influxd.url;
  }

  const registry = loadRegistry(process.env.REGISTRY_PATH);
  // The simulator speaks plain MQTT: with the broker TLS only (MQTT_PLAIN=off) it stays off.
  const tlsOnly = ['false', '0', 'no', 'off'].includes((process.env.MQTT_PLAIN ?? '').toLowerCase());
  const simOn = (process.env.SIM ?? 'on').toLowerCase() !== 'off' && !tlsOnly;
  if (tlsOnly && (process.env.SIM ?? 'on').toLowerCase() !== 'off') say('quantrac: MQTT_PLAIN=off (TLS only): the simulator, which speaks plain MQTT, stays off.');
  const credentialsPath = join(dataDir, 'gateways.json');
  const simCredentialsPath = join(dataDir, 'sim-credentials.json');
  // Credentials only for the simulated gateways, only when the simulator runs; an operator's
  // credential is never touched (broker/ensure-credentials.ts).
  let simStations = registry.stations;
  if (simOn) {
    const gatewayIds = [...new Set(registry.stations.map((s) => s.gatewayId))];
    const sim = await ensureSimulatorCredentials(credentialsPath, gatewayIds, { simCredentialsPath, audit: createAuditLog(join(dataDir, 'audit.jsonl')) });
    if (sim.leftOut.length > 0) {
      say(`quantrac: the simulator leaves out ${sim.leftOut.map((l) => `${l.gatewayId} (${l.reason === 'revoked' ? 'revoked' : 'credential issued by an operator'})`).join(', ')}`);
    }
    simStations = registry.stations.filter((s) => Object.hasOwn(sim.passwords, s.gatewayId));
  } else {
    await pruneSimulatorCredentials(credentialsPath, simCredentialsPath);
  }
  const simGateways = new Set(simStations.map((s) => s.gatewayId)).size;

  const env = { ...process.env, INFLUX_URL: influxUrl, DATA_DIR: dataDir };
  const server = fork(join(root, 'server/main.ts'), [], {
    env,
    // A larger young generation: the hot path allocates many short-lived objects per reading, and
    // 64 MiB semi-spaces cut garbage-collection time by about a sixth (bench/README.md).
    execArgv: ['--max-semi-space-size=64'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  watch(server, 'the server');
  const ready = await new Promise<{ mqtt: string; http: string }>((resolveReady, reject) => {
    server.once('message', (m) => resolveReady(m as { mqtt: string; http: string }));
    server.once('exit', () => reject(new Error('the server stopped before it was ready')));
  });

  if (simOn && simStations.length > 0) {
    const only = simStations.length < registry.stations.length ? ['--stations', simStations.map((s) => s.id).join(',')] : [];
    const sim = spawn(process.execPath, [join(root, 'sensors-sim/main.ts'), '--url', ready.mqtt, '--credentials', simCredentialsPath, ...only], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    watch(sim, 'the simulator');
  }

  const { http, mqtt } = ready;
  say(`
quantrac is running.
  Portal (citizens' maps)  ${http}/
  API                      ${http}/api/stations
  Live stream (WebSocket)  ${http.replace('http', 'ws')}/ws/live
  Health / metrics         ${http}/readyz   ${http}/metrics
  MQTT broker              ${mqtt}
  InfluxDB                 ${influxUrl}  (database ${process.env.INFLUX_DATABASE ?? 'quantrac'})
  Simulator                ${simOn ? `on: ${simStations.length} stations, ${simGateways} gateways` : tlsOnly ? 'off (MQTT_PLAIN=off)' : 'off (SIM=off)'}
  Simulated gateways' passwords ${simOn ? simCredentialsPath : '— (SIM=off: none created)'}
Press Ctrl-C to stop.
`);
}

main().catch(async (err: unknown) => {
  say(`quantrac: could not start: ${err instanceof Error ? err.message : String(err)}`);
  await stopAll(1);
});
