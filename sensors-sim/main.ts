// Entry of the simulator CLI: the only file touching process, signals and the terminal.
// `node sensors-sim/main.ts --help` lists the options; with only --url it runs the normal city.
import { pino } from 'pino';
import { loadRegistry } from '../contracts/stations.ts';
import { loadConfig, USAGE, type SimConfig } from './config.ts';
import { SimConfigError } from './errors.ts';
import { runLoad, type LoadProgress } from './load.ts';
import { createMatcher, selectStations } from './select.ts';
import { createSimulator } from './simulator.ts';

const log = pino({ name: 'sensors-sim' }, pino.destination(2));

function stationsOf(config: SimConfig) {
  const stations = selectStations(loadRegistry(config.registryPath).stations, config.stations);
  if (stations.length === 0) throw new SimConfigError(`--stations ${config.stations}: no station matches`);
  return stations;
}

async function mainLoad(config: SimConfig): Promise<void> {
  const tty = process.stderr.isTTY === true;
  const line = (p: LoadProgress): string =>
    `published ${p.published}  acked ${p.acked}  failed ${p.failed}  in flight ${p.inflight}  ${p.ackedPerS.toFixed(0)} acked/s  ${(p.elapsedMs / 1000).toFixed(1)} s`;
  const result = await runLoad({
    url: config.url,
    stations: stationsOf(config),
    ratePerS: config.rate,
    durationS: config.durationS ?? 30,
    inflight: config.inflight,
    ...(config.connections ? { connections: config.connections } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    seed: config.seed,
    ...(tty ? { onProgress: (p: LoadProgress) => process.stderr.write(`\r${line(p)}\x1b[K`) } : {}),
  });
  if (tty) process.stderr.write('\n');
  const ratePerS = (result.acked * 1000) / result.elapsedMs;
  process.stdout.write(`${JSON.stringify({ ...result, targetPerS: config.rate, ackedPerS: Math.round(ratePerS) })}\n`);
}

async function mainSim(config: SimConfig): Promise<void> {
  const stations = stationsOf(config);
  const isBatch = config.batchGateways === 'none' ? () => false : createMatcher(config.batchGateways);
  const sim = createSimulator({
    url: config.url,
    stations,
    scenario: config.scenario,
    seed: config.seed,
    speed: config.speed,
    startMs: config.startMs,
    rateMultiplier: config.rate,
    faults: config.faults,
    connectionFaultEveryS: config.faultEveryS,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    isBatchGateway: isBatch,
    tsFormat: config.tsFormat,
    onEvent: (e) => {
      if (e.type === 'error') log.warn({ gatewayId: e.gatewayId, err: e.error.message }, 'gateway error');
      else log.info(e, e.type);
    },
  });
  const aheadMs = config.startMs + (config.durationS ?? 3600) * 1000 * config.speed - Date.now();
  if (config.speed > 1 && aheadMs > 60_000) {
    log.warn({ speed: config.speed }, 'simulated time will run ahead of the wall clock: a pipeline refuses future timestamps; give --start in the past');
  }
  log.info({ url: config.url, stations: stations.length, gateways: sim.gateways.size, scenario: config.scenario, speed: config.speed, faults: config.faults?.kinds }, 'simulator starting');
  sim.start();
  const report = setInterval(() => log.info(sim.stats(), 'stats'), 60_000);
  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(report);
    await sim.stop();
    log.info({ why, ...sim.stats() }, 'simulator stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  if (config.durationS !== undefined) setTimeout(() => void stop('duration reached'), config.durationS * 1000);
}

try {
  const config = loadConfig(process.argv.slice(2), process.env);
  if (config.help) {
    process.stdout.write(USAGE);
  } else if (config.load) {
    await mainLoad(config);
  } else {
    await mainSim(config);
  }
} catch (err) {
  if (err instanceof SimConfigError) {
    process.stderr.write(`${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  throw err;
}
