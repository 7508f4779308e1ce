// Worker-thread entry of a stored backtest (started by backtest-off-thread.ts): streams the window
// from InfluxDB and replays it here, so the broker's thread keeps acknowledging meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { createRegistry } from '../../contracts/stations.ts';
import { createInfluxHttp } from '../influx/influx-http.ts';
import { backtestStored } from './backtest-source.ts';
import type { BacktestJob } from './backtest-off-thread.ts';

const job = workerData as BacktestJob;
backtestStored({
  influx: createInfluxHttp(job.target),
  registry: createRegistry(job.registry),
  rules: job.rules,
  fromMs: job.fromMs,
  toMs: job.toMs,
  stationIds: job.stationIds,
  chunkMs: job.chunkMs,
  report: job.report,
}).then(
  (report) => parentPort?.postMessage({ ok: true, report }),
  (err: unknown) => parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) }),
);
