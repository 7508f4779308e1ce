// Runs a stored backtest in a worker thread with a bounded heap: the window is streamed in chunks
// there (backtest-source.ts), and only the report comes back. A failure is an error here, never a
// crash of the server.
import { Worker } from 'node:worker_threads';
import type { Registry, RegistryFile } from '../../contracts/stations.ts';
import type { InfluxTarget } from '../influx/influx-http.ts';
import type { BacktestWindow, StoredBacktestReport } from './backtest-source.ts';
import type { BacktestReportOptions } from './backtest.ts';
import type { RulesFile } from './rules.ts';

export interface BacktestJob extends BacktestWindow {
  readonly target: InfluxTarget;
  readonly registry: RegistryFile;
  readonly rules: RulesFile;
  readonly chunkMs?: number | undefined;
  readonly report?: BacktestReportOptions | undefined;
}

export class BacktestFailedError extends Error {
  override readonly name = 'BacktestFailedError';
}

/** Heap ceiling of a backtest worker: streaming keeps it far below; a runaway fails alone. */
export const BACKTEST_WORKER_HEAP_MB = 512;

/**
 * Heap of a backtest worker, sampled every `HEAP_SAMPLE_MS` while it runs, and once more when it ends
 * (`running` false, `usedHeapBytes` 0): `/metrics` and the bench's peak heap.
 */
export interface BacktestHeapSample {
  readonly usedHeapBytes: number;
  /** Highest `usedHeapBytes` of this worker so far. */
  readonly runPeakBytes: number;
  readonly running: boolean;
}
const HEAP_SAMPLE_MS = 100;
const heapObservers = new Set<(sample: BacktestHeapSample) => void>();

/** Calls `observer` with each heap sample of the backtest workers this thread starts; returns the unsubscribe. */
export function observeBacktestWorkers(observer: (sample: BacktestHeapSample) => void): () => void {
  heapObservers.add(observer);
  return () => void heapObservers.delete(observer);
}

/** Samples a worker's heap for the observers until it exits; returns a last sample to take before ending it. */
function watchHeap(worker: Worker): () => Promise<void> {
  if (heapObservers.size === 0) return () => Promise.resolve();
  let peak = 0;
  let exited = false;
  const tell = (sample: BacktestHeapSample) => heapObservers.forEach((o) => o(sample));
  const sample = (): Promise<void> =>
    worker.getHeapStatistics().then((h) => {
      if (exited) return;
      peak = Math.max(peak, h.used_heap_size);
      tell({ usedHeapBytes: h.used_heap_size, runPeakBytes: peak, running: true });
    }, () => undefined);
  const timer = setInterval(() => void sample(), HEAP_SAMPLE_MS);
  worker.once('exit', () => {
    exited = true;
    clearInterval(timer);
    tell({ usedHeapBytes: 0, runPeakBytes: peak, running: false });
  });
  return sample;
}

export function runBacktestOffThread(o: { target: InfluxTarget; registry: Registry; rules: RulesFile; chunkMs?: number; report?: BacktestReportOptions } & BacktestWindow): Promise<StoredBacktestReport> {
  const job: BacktestJob = {
    target: o.target,
    registry: { version: o.registry.version, updated: '1970-01-01', stations: [...o.registry.stations] },
    rules: o.rules,
    fromMs: o.fromMs,
    toMs: o.toMs,
    stationIds: o.stationIds,
    chunkMs: o.chunkMs,
    report: o.report,
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./backtest-worker.ts', import.meta.url), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: BACKTEST_WORKER_HEAP_MB },
    });
    const lastHeapSample = watchHeap(worker);
    let settled = false;
    worker.once('message', (m: { ok: true; report: StoredBacktestReport } | { ok: false; message: string }) => {
      settled = true;
      if (m.ok) resolve(m.report);
      else reject(new BacktestFailedError(m.message));
      void lastHeapSample().finally(() => worker.terminate());
    });
    worker.once('error', (err) => {
      settled = true;
      reject(new BacktestFailedError(err.message, { cause: err }));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new BacktestFailedError(`backtest worker exited with code ${code}`));
    });
  });
}
